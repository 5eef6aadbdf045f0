"""Presentation rules of the web pages: zones, grouping by day, weeks, templates."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from calisera.web import views
from calisera.web.clients import FreeSlot, PublicProvider, PublicService

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


def test_weeks_never_start_in_the_past_and_events_look_ahead() -> None:
    today = date(2026, 11, 25)
    week = views.week_from(None, today, "simple")
    assert (week.first, week.last, week.previous) == (today, date(2026, 12, 1), None)
    assert week.following == date(2026, 12, 2)
    back = views.week_from(date(2026, 11, 1), today, "simple")
    assert back.first == today
    later = views.week_from(date(2026, 11, 28), today, "class")
    assert later.previous == today and later.following == date(2026, 12, 5)
    event = views.week_from(None, today, "event")
    assert event.last == today + timedelta(days=views.EVENT_HORIZON_DAYS)
    assert event.previous is None and event.following is None


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
        provider=provider,
        services=provider.bookable_services,
        zone="Europe/Berlin",
        zone_label="Berlin",
        provider_zone_label="Berlin",
        q=views.query,
        tz=None,
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
