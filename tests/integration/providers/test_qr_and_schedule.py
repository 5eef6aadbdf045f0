"""QR codes of the booking URL, and the internal schedule read model with its client."""

from __future__ import annotations

import struct
import uuid
import zlib

import pytest

from calisera.core.errors import NotFound
from calisera.providers.client import ProvidersClient
from calisera.providers.qr_codes import BORDER, SCALES, make_qr, render_qr

from .conftest import class_service_body, event_service_body, simple_service_body


def unfilter(kind: int, line: bytearray, previous: bytes) -> bytearray:
    """Undo a PNG row filter (bit depth 1: the "previous pixel" is the previous byte)."""
    for i in range(len(line)):
        left = line[i - 1] if i else 0
        up = previous[i]
        up_left = previous[i - 1] if i else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            p = left + up - up_left
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
            pred = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
            line[i] = (line[i] + pred) & 0xFF
    return line


def png_modules(png: bytes) -> list[list[bool]]:
    """Decode segno's 1-bit greyscale PNG into modules (True = dark), border stripped."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        data = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", data[:10])
            assert (depth, colour) == (1, 0)
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = (width + 7) // 8
    rows, previous = [], bytes(stride)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        current = unfilter(line[0], bytearray(line[1:]), previous)
        bits = [(current[x // 8] >> (7 - x % 8)) & 1 for x in range(width)]
        rows.append([b == 0 for b in bits])  # black pixel = dark module
        previous = bytes(current)
    scale = SCALES["png"]
    size = height // scale - 2 * BORDER
    return [
        [rows[(BORDER + r) * scale][(BORDER + c) * scale] for c in range(size)] for r in range(size)
    ]


async def test_qr_png_encodes_the_booking_url(client, create_provider):
    p = await create_provider(slug="qr-studio")
    r = await client.get(f"/api/v1/providers/{p['id']}/qr-code", params={"format": "png"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    expected = [[bool(v) for v in row] for row in make_qr(p["booking_url"]).matrix]
    assert png_modules(r.content) == expected
    other = [[bool(v) for v in row] for row in make_qr(p["booking_url"] + "x").matrix]
    assert png_modules(r.content) != other


async def test_qr_svg_with_etag_and_304(client, admin_headers, create_provider):
    p = await create_provider(slug="svg-studio")
    url = f"/api/v1/providers/{p['id']}/qr-code"
    r = await client.get(url)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in r.content
    assert r.content == render_qr(p["booking_url"], "svg").content  # encodes the booking URL
    assert "max-age" in r.headers["cache-control"]
    etag = r.headers["etag"]
    again = await client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    await client.patch(
        f"/api/v1/providers/{p['id']}", json={"slug": "svg-studio-2"}, headers=admin_headers
    )
    moved = await client.get(url, headers={"If-None-Match": etag})
    assert moved.status_code == 200
    assert moved.headers["etag"] != etag
    bad = await client.get(url, params={"format": "gif"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "format"


async def test_qr_of_unknown_or_suspended_provider_is_404(client, admin_headers, create_provider):
    assert (await client.get(f"/api/v1/providers/{uuid.uuid4()}/qr-code")).status_code == 404
    p = await create_provider(suspended=True)
    assert (await client.get(f"/api/v1/providers/{p['id']}/qr-code")).status_code == 404


@pytest.fixture
async def scheduled(client, admin_headers, create_provider):
    p = await create_provider(timezone="Europe/Berlin")
    base = f"/api/v1/providers/{p['id']}"
    await client.put(
        f"{base}/availability",
        json={
            "weekly": [{"weekday": 1, "start": "09:00", "end": "17:00"}],
            "overrides": [{"date": "2026-12-24", "intervals": []}],
            "time_off": [{"start": "2026-12-27T00:00", "end": "2026-12-30T00:00"}],
        },
        headers=admin_headers,
    )
    simple = (
        await client.post(
            f"{base}/services",
            json=simple_service_body(buffer_after_minutes=10),
            headers=admin_headers,
        )
    ).json()
    klass = (
        await client.post(f"{base}/services", json=class_service_body(), headers=admin_headers)
    ).json()
    event = (
        await client.post(f"{base}/services", json=event_service_body(), headers=admin_headers)
    ).json()
    return p, simple, klass, event


async def test_schedule_config_etag_and_304(client, admin_headers, scheduled):
    p, simple, klass, event = scheduled
    url = f"/internal/v1/providers/services/{simple['id']}/schedule"
    r = await client.get(url, headers=admin_headers)
    assert r.status_code == 200, r.text
    config = r.json()
    assert r.headers["etag"] == f'"{config["version"]}"'
    assert config["timezone"] == "Europe/Berlin"
    assert config["weekly"] == [{"weekday": 1, "start": "09:00:00", "end": "17:00:00"}]
    assert config["service"]["buffer_after_minutes"] == 10
    assert {s["id"] for s in config["other_services"]} == {klass["id"], event["id"]}
    cached = await client.get(url, headers=admin_headers | {"If-None-Match": r.headers["etag"]})
    assert cached.status_code == 304
    await client.put(
        f"/api/v1/providers/{p['id']}/availability",
        json={"weekly": [{"weekday": 2, "start": "09:00", "end": "12:00"}]},
        headers=admin_headers,
    )
    changed = await client.get(url, headers=admin_headers | {"If-None-Match": r.headers["etag"]})
    assert changed.status_code == 200
    assert changed.headers["etag"] != r.headers["etag"]
    assert changed.json()["weekly"][0]["weekday"] == 2


@pytest.mark.parametrize(
    "change",
    ["provider", "this_service", "other_service", "archive_other"],
)
async def test_schedule_version_moves_on_every_relevant_change(
    client, admin_headers, scheduled, change
):
    p, simple, klass, _ = scheduled
    url = f"/internal/v1/providers/services/{simple['id']}/schedule"
    before = (await client.get(url, headers=admin_headers)).json()["version"]
    base = f"/api/v1/providers/{p['id']}"
    if change == "provider":
        await client.patch(base, json={"timezone": "Europe/Paris"}, headers=admin_headers)
    elif change == "this_service":
        await client.patch(
            f"{base}/services/{simple['id']}",
            json={"min_notice_minutes": 120},
            headers=admin_headers,
        )
    elif change == "other_service":
        await client.patch(
            f"{base}/services/{klass['id']}", json={"capacity": 5}, headers=admin_headers
        )
    else:
        await client.delete(f"{base}/services/{klass['id']}", headers=admin_headers)
    after = await client.get(url, headers=admin_headers)
    assert after.json()["version"] != before
    if change == "archive_other":
        assert klass["id"] not in {s["id"] for s in after.json()["other_services"]}


async def test_schedule_config_converts_to_scheduling_values(client, admin_headers, scheduled):
    _, _simple, klass, _ = scheduled
    from calisera.providers.schemas import ScheduleConfig

    r = await client.get(
        f"/internal/v1/providers/services/{klass['id']}/schedule", headers=admin_headers
    )
    config = ScheduleConfig.model_validate(r.json())
    schedule = config.provider_schedule()
    assert schedule.timezone == "Europe/Berlin"
    assert config.service.definition().recurrence is not None
    assert config.service.definition().capacity == 12
    assert [s.id for s in config.blocking_services()] != []


def _statuses(providers: ProvidersClient) -> list[int]:
    """The status of every HTTP response the client gets, in order."""
    seen: list[int] = []

    async def record(response):
        seen.append(response.status_code)

    providers._http.event_hooks["response"].append(record)
    return seen


async def test_client_caches_and_revalidates(app, client, admin_headers, scheduled):
    p, simple, _, _ = scheduled
    platform = app.state.platform
    providers = ProvidersClient(platform, local_reads=False)  # over HTTP, as between pods
    requests = _statuses(providers)
    try:
        first = await providers.schedule_config(uuid.UUID(simple["id"]))
        second = await providers.schedule_config(uuid.UUID(simple["id"]))
        assert second is first
        assert requests == [200, 304]
        await client.patch(
            f"/api/v1/providers/{p['id']}", json={"name": "New name"}, headers=admin_headers
        )
        third = await providers.schedule_config(uuid.UUID(simple["id"]))
        assert third.provider_name == "New name"
        assert requests == [200, 304, 200]
        with pytest.raises(NotFound):
            await providers.schedule_config(uuid.uuid4())
        got = await providers.get_provider(p["id"])
        assert got["slug"] == p["slug"]
    finally:
        await providers.aclose()


async def test_client_in_the_same_process_revalidates_without_http(
    app, client, admin_headers, scheduled
):
    """Hosted together (``calisera up``): the same cache and version check, read from the
    database directly, and a change is seen by the very next call."""
    p, simple, _, _ = scheduled
    providers = ProvidersClient(app.state.platform)
    requests = _statuses(providers)
    try:
        first = await providers.schedule_config(uuid.UUID(simple["id"]))
        second = await providers.schedule_config(uuid.UUID(simple["id"]))
        assert second is first
        await client.patch(
            f"/api/v1/providers/{p['id']}", json={"name": "Newer name"}, headers=admin_headers
        )
        third = await providers.schedule_config(uuid.UUID(simple["id"]))
        assert third.provider_name == "Newer name"
        assert third.version != first.version
        over_http = await client.get(
            f"/internal/v1/providers/services/{simple['id']}/schedule", headers=admin_headers
        )
        assert over_http.json() == third.model_dump(mode="json")
        with pytest.raises(NotFound):
            await providers.schedule_config(uuid.uuid4())
        assert requests == []
    finally:
        await providers.aclose()
