"""Problems the integrations service answers (matched by class by clients)."""

from __future__ import annotations

from calisera.core.errors import Conflict, NotFound, Problem


class WebhookEndpointNotFound(NotFound):
    slug, title = "webhook-endpoint-not-found", "No such webhook endpoint"


class WebhookDeliveryNotFound(NotFound):
    slug, title = "webhook-delivery-not-found", "No such webhook delivery"


class TooManyWebhookEndpoints(Conflict):
    slug, title = "webhook-endpoint-limit", "This provider has as many endpoints as allowed"


class FeedNotFound(NotFound):
    slug, title = "feed-not-found", "No such calendar feed"


class CalendarNotConnected(NotFound):
    slug, title = "calendar-not-connected", "No CalDAV calendar is connected"


class SecretsUnavailable(Problem):
    """Secrets are sealed with a key derived from the platform admin token."""

    status, slug, title = 503, "integration-secrets-unavailable", "Secrets cannot be stored here"
