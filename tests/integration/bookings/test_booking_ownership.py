"""Who may act on a provider's bookings: the admin and the provider's owner
(``calisera.core.ownership``, the rule of every service), and the customer with the
manage token. Another owner is told nothing exists: 404, the same answer as for a
booking or provider that does not exist."""

from __future__ import annotations

import uuid

from .conftest import OWNER_EMAIL, tomorrow_at

OTHER_OWNER = "someone-else@example.com"


async def test_another_owner_gets_404_on_every_bookings_route(
    client, schedules, book, auth_headers
):
    config = await schedules.add_service(kind="simple", duration_minutes=30)
    await schedules.add_service(owner_email=OTHER_OWNER)  # the other owner has a provider too
    r = await book(config, tomorrow_at(9), notes="private")
    assert r.status_code == 201, r.text
    booking_id = r.json()["id"]
    other = auth_headers(OTHER_OWNER)
    owner = auth_headers(OWNER_EMAIL)
    unknown = uuid.uuid4()

    routes = [
        ("GET", f"/api/v1/bookings/{booking_id}", None),
        ("GET", f"/api/v1/bookings/{booking_id}/history", None),
        ("GET", f"/api/v1/bookings/{booking_id}/ics", None),
        ("POST", f"/api/v1/bookings/{booking_id}/cancel", {}),
        (
            "POST",
            f"/api/v1/bookings/{booking_id}/reschedule",
            {"start": tomorrow_at(10).isoformat()},
        ),
        ("POST", f"/api/v1/bookings/{booking_id}/complete", {}),
        ("POST", f"/api/v1/bookings/{booking_id}/no-show", {}),
    ]
    for method, path, body in routes:
        r = await client.request(method, path, json=body, headers=other)
        assert r.status_code == 404, (method, path, r.text)
        missing = await client.request(
            method, path.replace(booking_id, str(unknown)), json=body, headers=other
        )
        assert missing.status_code == 404
        assert r.json()["type"] == missing.json()["type"], path  # existence not revealed

    listing = f"/api/v1/providers/{config.provider_id}/bookings"
    r = await client.get(listing, headers=other)
    assert r.status_code == 404, r.text
    assert (
        r.json()["type"]
        == (await client.get(f"/api/v1/providers/{unknown}/bookings", headers=other)).json()["type"]
    )

    # nothing changed, and the owner still sees and may act on it all
    r = await client.get(f"/api/v1/bookings/{booking_id}", headers=owner)
    assert r.status_code == 200 and r.json()["status"] == "confirmed"
    assert r.json()["start"] == tomorrow_at(9).isoformat().replace("+00:00", "Z")
    r = await client.get(listing, headers=owner)
    assert [b["id"] for b in r.json()["items"]] == [booking_id]
    r = await client.get(f"/api/v1/bookings/{booking_id}/history", headers=owner)
    assert r.status_code == 200 and len(r.json()["items"]) == 1
    r = await client.post(f"/api/v1/bookings/{booking_id}/cancel", json={}, headers=owner)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"


async def test_anonymous_callers_are_asked_to_sign_in_for_staff_routes(client, schedules, book):
    config = await schedules.add_service()
    r = await book(config, tomorrow_at(11))
    booking_id = r.json()["id"]
    for path in (
        f"/api/v1/bookings/{booking_id}/history",
        f"/api/v1/providers/{config.provider_id}/bookings",
    ):
        assert (await client.get(path)).status_code == 401
