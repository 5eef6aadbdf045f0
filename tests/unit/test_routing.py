"""The routes ``up`` hands its relay on the command line decide exactly as the consumers."""

from __future__ import annotations

import pytest

from calisera.core.settings import Settings
from calisera.processes.routing import (
    load_consumers,
    matchers,
    parse_routes,
    route_arguments,
    routes_of,
)

EVENT_TYPES = [
    "booking.created",
    "booking.cancelled",
    "booking.no_show",
    "hold.placed",
    "waitlist.offered",
    "provider.created",
    "provider.deleted",
    "service.archived",
    "availability.updated",
    "account.deleted",
    "integration.webhook_disabled",
    "unknown.thing",
]


@pytest.mark.parametrize("cache_url", [None, "redis://127.0.0.1:6379/0"])
def test_routes_through_the_command_line_want_what_the_consumers_want(cache_url):
    consumers = load_consumers(Settings(cache_url=cache_url))
    args = route_arguments(routes_of(consumers))
    values = args[1::2]
    assert args[::2] == ["--route"] * len(consumers)
    wants = matchers(parse_routes(values))
    assert set(wants) == set(consumers)
    for name, consumer in consumers.items():
        for event_type in EVENT_TYPES:
            assert wants[name](event_type) == consumer.wants(event_type), (name, event_type)


def test_a_consumer_that_takes_nothing_keeps_its_route():
    assert parse_routes(["listing=", "analytics=booking.*, provider.*"]) == {
        "listing": (),
        "analytics": ("booking.*", "provider.*"),
    }


@pytest.mark.parametrize("value", ["analytics", "=booking.*", ""])
def test_a_malformed_route_is_refused_with_its_text(value):
    with pytest.raises(ValueError, match="expected consumer=pattern"):
        parse_routes([value])
