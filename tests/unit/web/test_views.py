"""Presentation rules of the web pages: zones, grouping by day, weeks, templates."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from calisera.web import views
from calisera.web.clients import FreeSlot, PublicProvider, PublicService
from calisera.web.pages import page_context

NY = "America/New_York"


def test_unknown_or_missing_zone_falls_back_to_the_providers() -> None:
    assert views.customer_zone(NY, "Europe/Berlin") == NY
    assert views.customer_zone("Not/AZone", "Europe/Berlin") == "Europe/Berlin"
    assert views.customer_zone(None, "Europe/Berlin") == "Europe/Berlin"
    assert views.customer_zone("../../etc/passwd", "Europe/Berlin") == "Europe/Berlin"


def test_slots_are_grouped_by_the_customers_local_day() -> None:
    # 03:30 UTC on 2 Dec is still 1 Dec in New York
    late = FreeSlot(
        start=datetime(2026, 12, 2, 3, 30, tzinfo=UTC),
        end=datetime(2026, 12, 2, 4, 30, tzinfo=UTC),
        seats_left=3,
    )
    morning = FreeSlot(
        start=datetime(2026, 12, 2, 14, 0, tzinfo=UTC),
        end=datetime(2026, 12, 2, 15, 0, tzinfo=UTC),
    )
    days = views.group_by_day([morning, late], NY)
    assert [d.day for d in days] == [date(2026, 12, 1), date(2026, 12, 2)]
    assert days[0].title == "Tuesday, 1 December 2026"
    assert [s.time for s in days[0].slots] == ["22:30"]
    assert [s.time for s in days[1].slots] == ["09:00"]


def test_times_follow_daylight_saving_of_the_customers_zone() -> None:
    summer = datetime(2026, 7, 1, 13, 0, tzinfo=UTC)
    winter = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    assert views.time_text(summer, NY) == "09:00"
    assert views.time_text(winter, NY) == "08:00"


def test_accent_colour_is_only_ever_a_hex_colour() -> None:
    assert views.accent_color("#7C3AED") == "#7C3AED"
    assert views.accent_color("red;} body{display:none") == views.DEFAULT_ACCENT
    assert views.accent_color(None) == views.DEFAULT_ACCENT


def _provider(**extra: object) -> PublicProvider:
    sid = uuid.uuid4()
    return PublicProvider.model_validate(
        {
            "id": str(uuid.uuid4()),
            "slug": "studio-x",
            "name": "<Studio X>",
            "timezone": "Europe/Berlin",
            "services": [
                {"id": str(sid), "name": "Cut", "kind": "simple", "duration_minutes": 90},
                {"id": str(uuid.uuid4()), "name": "Old", "active": False},
            ],
            "unknown_field": "ignored",
            **extra,
        }
    )


def test_templates_escape_provider_text() -> None:
    provider = _provider(bio="<script>alert(1)</script>")
    response = views.render(
        "provider.html",
        **page_context(provider, "Europe/Berlin", services=provider.bookable_services, tz=None),
    )
    html = bytes(response.body).decode()
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "&lt;Studio X&gt;" in html
    assert "1 h 30 min" in html and "Old" not in html


def test_locations_read_as_one_line() -> None:
    def service(location: object) -> PublicService:
        return PublicService.model_validate(
            {"id": str(uuid.uuid4()), "name": "s", "location": location}
        )

    assert service({"kind": "in_person", "address": "Main St 1"}).location_text == "Main St 1"
    assert service({"type": "in_person", "address": "Main St 1"}).location_text == "Main St 1"
    assert service({"kind": "online", "url": "https://meet.example"}).location_text == "Online"
    assert service({"kind": "phone"}).location_text == "By phone"
    assert service(None).location_text is None
