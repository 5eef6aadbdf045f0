"""Kopf operator reconciling ProviderTenant resources (``kopf run -m calisera_operator``)."""

from calisera_operator import handlers as handlers
