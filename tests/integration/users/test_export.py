"""A provider exports their data as JSON and as CSV tables: what they own, with their
customers, and nothing of another provider's."""

from __future__ import annotations

import csv
import io
import zipfile

from tests.integration.test_tenant_isolation import _open_business


async def test_export_holds_own_data_only_as_json_and_csv(app, client, admin_headers):
    a = await _open_business(client, app, "alpha")
    b = await _open_business(client, app, "bravo")
    # a customer whose name a spreadsheet would run as a formula
    pid, sid = a.ids["provider_id"], a.ids["service_id"]
    r = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": sid,
            "start": a.spare_start,
            "customer": {"name": '=HYPERLINK("http://x.test")', "email": "formula@example.com"},
        },
    )
    assert r.status_code == 201, r.text

    r = await client.get("/api/v1/users/me/export", headers=a.headers)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    document = r.json()
    assert document["account"]["email"] == a.email
    [entry] = document["providers"]
    assert entry["provider"]["id"] == pid
    listed = await client.get(f"/api/v1/providers/{pid}/services", headers=a.headers)
    own_services = {s["id"] for s in listed.json()["items"]}
    assert sid in own_services
    assert {s["id"] for s in entry["services"]} == own_services
    assert len(entry["availability"]["weekly"]) == 7
    emails = {bk["customer"]["email"] for bk in entry["bookings"]}
    # the walk's business: its client (one-to-one and a class series), the event's first
    # guest, and the formula above
    assert emails == {a.customer_email, "first@alpha-clients.example", "formula@example.com"}
    assert b.customer_email not in r.text and b.ids["provider_id"] not in r.text

    r = await client.get("/api/v1/users/me/export", params={"format": "csv"}, headers=a.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    assert sorted(archive.namelist()) == [
        "account.csv",
        "availability.csv",
        "bookings.csv",
        "providers.csv",
        "services.csv",
    ]
    bookings = list(csv.DictReader(io.StringIO(archive.read("bookings.csv").decode())))
    assert {row["customer.email"] for row in bookings} == emails
    names = {row["customer.name"] for row in bookings}
    assert '\'=HYPERLINK("http://x.test")' in names  # defused, not a formula
    availability = list(csv.DictReader(io.StringIO(archive.read("availability.csv").decode())))
    assert {row["kind"] for row in availability} == {"weekly"} and len(availability) == 7
    assert b.customer_email.encode() not in b"".join(archive.read(n) for n in archive.namelist())

    assert (await client.get("/api/v1/users/me/export")).status_code == 401
    assert (await client.get("/api/v1/users/me/export", headers=admin_headers)).status_code == 404
    r = await client.get("/api/v1/users/me/export", params={"format": "xml"}, headers=a.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "format"
