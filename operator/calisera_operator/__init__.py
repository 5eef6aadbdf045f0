"""Kopf operator reconciling ProviderTenant resources (``kopf run -m calisera_operator``).

Importing the package registers the handlers in Kopf's default registry, which is what
``kopf run -m calisera_operator`` and ``calisera-operator`` use.
"""

import kopf

from calisera_operator.config import OperatorConfig
from calisera_operator.handlers import register

register(kopf.get_default_registry(), drift_interval=OperatorConfig().drift_interval)
