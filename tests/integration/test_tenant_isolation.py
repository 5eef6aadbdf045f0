"""No provider can read or change another provider's data, on any route of any service.

Two owners sign in (real sessions), each builds a provider with a service, hours and a
booking through the API. Then every operation of every service's OpenAPI document
(generated from the apps, not listed here) that names a tenant's resource is called
with owner B's token on owner A's ids, and must answer 404 problem+json: not 2xx, not
403 (which would confirm the id exists), not 422, not 500. The same requests with A's
own token must not answer 404 — so each was aimed at something that exists and its
body got past validation. A new route whose parameters or body the walker cannot fill
fails the test until the walker learns it.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from calisera.assembly import available_services, build_app
from calisera.bookings.decision_links import decision_token
from calisera.core.app import platform_of
from calisera.core.settings import Settings
from calisera.integrations.models import webhook_deliveries
from calisera.users import accounts, sessions
from calisera.users.models import Passkey
from tests.integration.pictures import picture

PROBLEM = "application/problem+json"
TENANT_PARAMETERS = {
    "provider_id",
    "service_id",
    "booking_id",
    "session_id",
    "passkey_id",
    "endpoint_id",
    "delivery_id",
    "entry_id",
}
"""Parameters naming one tenant's resource: operations taking one are walked."""
OTHER_PARAMETERS = {"slug", "idp", "hold_id", "token", "kind"}
"""Path parameters the walker knows that name no tenant's resource by themselves: a
hold's id and a feed's token are unguessable capabilities (their own tests prove them),
and a decision link's ``token`` is walked as B's own valid token on A's booking."""
DECISION_FORM = "Body_decide_from_link_api_v1_bookings__booking_id__decision_post"
IMAGE = "an image body"
"""An operation whose body is the image itself (``image/png``...), not JSON."""


PUBLIC = {
    ("get", "/api/v1/providers/by-slug/{slug}"): "the public booking page's profile",
    ("get", "/api/v1/providers/{provider_id}/qr-code"): "the QR code of the public booking URL",
    ("get", "/api/v1/availability"): "free times are what the booking page shows everyone",
    ("get", "/api/v1/availability/explain"): "why the booking page does (not) offer a time",
    ("get", "/api/v1/providers/{provider_id}/images/{kind}"): "the photo the booking page shows",
}
"""Operations that show anybody a provider's public face, by design."""

ADMIN_ONLY_PREFIX = "/internal/"
"""Service-to-service operations: the platform credential only (403 for any user)."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _push_keys() -> dict[str, str]:
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = public.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return {"p256dh": _b64(point), "auth": _b64(uuid.uuid4().bytes)}


@dataclass
class Tenant:
    email: str
    headers: dict[str, str]
    session_id: str
    ids: dict[str, str] = field(default_factory=dict)
    slug: str = ""
    customer_email: str = ""
    spare_start: str = ""
    decision_token: str = ""
    series_booking_id: str = ""
    """A booking of a class series (the routes of a series need one)."""
    waitlist_token: str = ""


SERIES_ROUTES = frozenset({"/api/v1/bookings/{booking_id}/series"})
"""Walked with A's booking of a class series instead of A's one-to-one booking."""


def _ok(r: httpx.Response) -> Any:
    assert r.status_code < 300, (r.request.method, r.request.url, r.status_code, r.text)
    return r.json()


async def _sign_in(app: Any, email: str) -> tuple[dict[str, str], str, str]:
    """A real session, and a passkey row (its ceremony is the browser test's business)."""
    platform = platform_of(app)
    assert platform.token_issuer is not None
    async with platform.db.sessionmaker() as session, session.begin():
        account = await accounts.account_for_verified_email(session, email)
        row = await sessions.open_session(session, account, method="magic_link")
        code = await sessions.create_sign_in_code(session, row)
        pair = await sessions.redeem_sign_in_code(session, platform.token_issuer, code)
        passkey = Passkey(
            id=uuid.uuid4(),
            account_id=account.id,
            credential_id=uuid.uuid4().bytes,
            public_key=b"\x00",
            sign_count=0,
            name="Phone",
            transports=[],
        )
        session.add(passkey)
    headers = {"Authorization": f"Bearer {pair.access_token}"}
    return headers, str(pair.session_id), str(passkey.id)


async def _open_business(client: httpx.AsyncClient, app: Any, name: str) -> Tenant:
    headers, session_id, passkey_id = await _sign_in(app, f"owner@{name}.example")
    t = Tenant(f"owner@{name}.example", headers, session_id, slug=f"walk-{name}")
    provider = _ok(
        await client.post(
            "/api/v1/providers",
            headers=headers,
            json={"slug": t.slug, "name": name.title(), "timezone": "Europe/Lisbon"},
        )
    )
    pid = provider["id"]
    _ok(
        await client.put(
            f"/api/v1/providers/{pid}/availability",
            headers=headers,
            json={
                "weekly": [{"weekday": d, "start": "08:00", "end": "20:00"} for d in range(7)],
                "overrides": [],
            },
        )
    )
    service = _ok(
        await client.post(
            f"/api/v1/providers/{pid}/services",
            headers=headers,
            json={"name": "Consultation", "kind": "simple", "duration_minutes": 30},
        )
    )
    first = datetime.now(UTC).date() + timedelta(days=2)
    slots = _ok(
        await client.get(
            "/api/v1/availability",
            params={
                "service_id": service["id"],
                "start": first.isoformat(),
                "end": (first + timedelta(days=1)).isoformat(),
            },
        )
    )["slots"]
    t.customer_email = f"customer@{name}-clients.example"
    booking = _ok(
        await client.post(
            "/api/v1/bookings",
            json={
                "service_id": service["id"],
                "start": slots[0]["start"],
                "customer": {"name": f"Client of {name}", "email": t.customer_email},
            },
        )
    )
    t.spare_start = slots[4]["start"]
    weekly = _ok(
        await client.post(
            f"/api/v1/providers/{pid}/services",
            headers=headers,
            json={
                "name": "Weekly class",
                "kind": "class",
                "duration_minutes": 60,
                "capacity": 4,
                "recurrence": {"rrule": "FREQ=WEEKLY", "start_time": "18:00",
                               "starts_on": first.isoformat()},
            },
        )
    )  # fmt: skip
    first_class = datetime.combine(first, time(18), ZoneInfo("Europe/Lisbon"))
    series = _ok(
        await client.post(
            "/api/v1/bookings/series",
            json={
                "service_id": weekly["id"],
                "start": first_class.isoformat(),
                "weeks": 2,
                "customer": {"name": f"Member of {name}", "email": t.customer_email},
            },
        )
    )
    t.series_booking_id = series["bookings"][0]["id"]
    talk = _ok(
        await client.post(
            f"/api/v1/providers/{pid}/services",
            headers=headers,
            json={
                "name": "Talk",
                "kind": "event",
                "duration_minutes": 60,
                "capacity": 1,
                "starts_at": f"{(first + timedelta(days=2)).isoformat()}T12:00:00Z",
            },
        )
    )
    talk_start = f"{(first + timedelta(days=2)).isoformat()}T12:00:00Z"
    _ok(
        await client.post(
            "/api/v1/bookings",
            json={
                "service_id": talk["id"],
                "start": talk_start,
                "customer": {"name": "First", "email": f"first@{name}-clients.example"},
            },
        )
    )
    entry = _ok(
        await client.post(
            "/api/v1/waitlist",
            json={
                "service_id": talk["id"],
                "start": talk_start,
                "customer": {"name": "Next", "email": f"next@{name}-clients.example"},
            },
        )
    )
    t.waitlist_token = entry["token"]
    endpoint = _ok(
        await client.post(
            f"/api/v1/integrations/providers/{pid}/webhooks",
            headers=headers,
            json={
                "url": f"https://hooks.{name}.example.test/in",
                "event_types": ["booking.created"],
            },
        )
    )
    photo = await client.put(
        f"/api/v1/providers/{pid}/images/photo",
        content=picture(size=(40, 30)),
        headers={**headers, "Content-Type": "image/png"},
    )
    assert photo.status_code == 200, photo.text
    platform = platform_of(app)
    delivery_id = uuid.uuid4()
    now = datetime.now(UTC)
    async with platform.db.sessionmaker() as session, session.begin():
        await session.execute(  # what the integrations worker records for an event
            webhook_deliveries.insert().values(
                id=delivery_id,
                endpoint_id=uuid.UUID(endpoint["id"]),
                provider_id=uuid.UUID(pid),
                event_id=uuid.uuid4(),
                event_type="booking.created",
                payload="{}",
                status="failed",
                next_attempt_at=now,
                window_started_at=now,
            )
        )
    assert platform.settings.admin_token_value
    t.decision_token = decision_token(platform.settings.admin_token_value, uuid.UUID(booking["id"]))
    t.ids = {
        "provider_id": pid,
        "service_id": service["id"],
        "booking_id": booking["id"],
        "session_id": session_id,
        "passkey_id": passkey_id,
        "endpoint_id": endpoint["id"],
        "delivery_id": str(delivery_id),
        "entry_id": entry["id"],
    }
    return t


def _body_schema(operation: dict[str, Any]) -> str | None:
    body = operation.get("requestBody")
    if body is None:
        return None
    if all(media_type.startswith("image/") for media_type in body["content"]):
        return IMAGE
    schema = next(iter(body["content"].values()))["schema"]
    for candidate in [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]:
        if "$ref" in candidate:
            return str(candidate["$ref"]).rsplit("/", 1)[-1]
    raise AssertionError(f"the walker cannot read the body schema {schema}")


def _bodies(a: Tenant) -> dict[str, Any]:
    """A valid body for each request schema of a walked operation (by schema name)."""
    endpoint = "https://push.example.test/send/walk"
    return {
        "ProviderPatch": {"name": "Renamed by the walk"},
        "ServiceCreate": {"name": "Walk", "kind": "simple", "duration_minutes": 30},
        "ServicePatch": {"name": "Walk"},
        "AvailabilityIn": {
            "weekly": [{"weekday": d, "start": "09:00", "end": "18:00"} for d in range(7)],
            "overrides": [],
        },
        "BookingReschedule": {"start": a.spare_start},
        "BookingAction": {"reason": "walk"},
        "BookingCancel": {"reason": "walk"},
        "PushSubscriptionIn": {"endpoint": endpoint, "keys": _push_keys()},
        "PushUnsubscribe": {"endpoint": endpoint},
        "NotificationSettings": {"email_provider": True},
        "PasskeyRename": {"name": "Walked"},
        "WebhookEndpointIn": {
            "url": "https://hooks.walk.example.test/in",
            "event_types": ["booking.cancelled"],
        },
        "WebhookEndpointPatch": {"description": "walked"},
        "CalDavConnectionIn": {
            "url": "https://caldav.walk.example.test/calendars/walk/",
            "username": "walk",
            "password": "app-password",
        },
        "WaitlistClaim": {},
        DECISION_FORM: {"token": a.decision_token, "answer": "decline"},
        IMAGE: picture(size=(40, 30)),
    }


@dataclass
class Call:
    service: str
    method: str
    template: str
    url: str
    params: dict[str, str]
    body: Any
    has_body: bool
    form: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.template)

    async def send(self, client: httpx.AsyncClient, who: Tenant) -> httpx.Response:
        """As ``who``: their bearer token, and their own decision token where one is
        asked for (B's valid link on A's booking must not open it), their own waitlist
        entry's token on waitlist entries (B's on A's entry must not open it)."""
        params = {k: who.decision_token if k == "token" else v for k, v in self.params.items()}
        if self.template.startswith("/api/v1/waitlist/"):
            who = Tenant(who.email, {**who.headers, "X-Waitlist-Token": who.waitlist_token}, "")
        if isinstance(self.body, bytes):
            return await client.request(
                self.method.upper(),
                self.url,
                params=params,
                content=self.body,
                headers={**who.headers, "Content-Type": "image/png"},
            )
        if self.form:
            form = {k: who.decision_token if k == "token" else v for k, v in self.body.items()}
            return await client.request(
                self.method.upper(), self.url, params=params, data=form, headers=who.headers
            )
        content = json.dumps(self.body) if self.has_body else None
        h = {**who.headers, "Content-Type": "application/json"} if self.has_body else who.headers
        return await client.request(
            self.method.upper(), self.url, params=params, content=content, headers=h
        )


def _query_value(values: dict[str, str], name: str, parameters: list[dict[str, Any]]) -> str:
    """``values[name]``, as an instant where the operation asks for a date-time."""
    (parameter,) = [p for p in parameters if p["in"] == "query" and p["name"] == name]
    if parameter.get("schema", {}).get("format") == "date-time":
        return f"{values[name]}T10:00:00Z"
    return values[name]


def _walked_calls(settings: Settings, a: Tenant) -> tuple[list[Call], list[str]]:
    """Every operation that names a tenant's resource, filled with A's ids; and the
    problems of operations the walker cannot fill."""
    values = {**a.ids, "slug": a.slug, "kind": "photo"}
    query_values = {
        **a.ids,
        "token": a.decision_token,
        "start": (datetime.now(UTC).date() + timedelta(days=2)).isoformat(),
        "end": (datetime.now(UTC).date() + timedelta(days=3)).isoformat(),
    }
    bodies = _bodies(a)
    calls: list[Call] = []
    unfillable: list[str] = []
    for service in available_services():
        document = build_app(settings, [service]).openapi()
        for template, item in document["paths"].items():
            for method, operation in item.items():
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                where = f"{service}: {method.upper()} {template}"
                parameters = operation.get("parameters", [])
                path_names = {p["name"] for p in parameters if p["in"] == "path"}
                required_query = {
                    p["name"] for p in parameters if p["in"] == "query" and p.get("required")
                }
                unknown = path_names - TENANT_PARAMETERS - OTHER_PARAMETERS
                if unknown:
                    unfillable.append(f"{where}: path parameters {sorted(unknown)}")
                    continue
                if not (path_names | required_query) & TENANT_PARAMETERS:
                    continue  # names no tenant's resource (sign-in, /me, search, create)
                if "idp" in path_names:
                    continue
                missing = required_query - set(query_values)
                if missing:
                    unfillable.append(f"{where}: required query parameters {sorted(missing)}")
                    continue
                schema = _body_schema(operation)
                if schema is not None and schema not in bodies:
                    unfillable.append(f"{where}: no body for schema {schema}")
                    continue
                url = template
                own = {"booking_id": a.series_booking_id} if template in SERIES_ROUTES else {}
                for name in path_names:
                    url = url.replace("{" + name + "}", own.get(name) or values[name])
                calls.append(
                    Call(
                        service,
                        method,
                        template,
                        url,
                        {n: _query_value(query_values, n, parameters) for n in required_query},
                        bodies.get(schema) if schema else None,
                        schema is not None,
                        form=schema == DECISION_FORM,
                    )
                )
    return calls, unfillable


def _control_order(call: Call) -> tuple[int, str]:
    """A's own calls: deletions last, the provider's own deletion very last."""
    if call.method == "delete":
        return (2 if call.template == "/api/v1/providers/{provider_id}" else 1, call.template)
    return (0, call.template)


@pytest.mark.timeout(300)
async def test_owner_b_gets_404_for_owner_a_on_every_route(settings: Settings) -> None:
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            a = await _open_business(c, app, "alpha")
            b = await _open_business(c, app, "bravo")
            calls, unfillable = _walked_calls(settings, a)
            assert not unfillable, "the walker cannot fill:\n" + "\n".join(unfillable)
            walked_services = {call.service for call in calls}
            assert {
                "providers",
                "bookings",
                "notifications",
                "analytics",
                "users",
                "integrations",
            } <= (walked_services)

            leaks = []
            for call in calls:
                r = await call.send(c, b)
                where = f"{call.service}: {call.method.upper()} {call.url}"
                if call.key in PUBLIC:
                    ok = r.status_code < 500 and a.customer_email not in r.text
                elif call.template.startswith(ADMIN_ONLY_PREFIX):
                    ok = r.status_code == 403
                else:
                    ok = r.status_code == 404 and r.headers["content-type"] == PROBLEM
                if not ok:
                    leaks.append(f"{where} -> {r.status_code} {r.text[:200]}")
            assert not leaks, "other tenant's data reachable:\n" + "\n".join(leaks)

            # B's own lists show only B's things
            mine = _ok(await c.get("/api/v1/providers", headers=b.headers))["items"]
            assert [p["id"] for p in mine] == [b.ids["provider_id"]]

            # the same requests with A's own token reach A's data: the walk was aimed right
            missed = []
            for call in sorted(calls, key=_control_order):
                if call.template.startswith(ADMIN_ONLY_PREFIX):
                    continue
                r = await call.send(c, a)
                if r.status_code in (404, 422) or r.status_code >= 500:
                    missed.append(f"{call.method.upper()} {call.url} -> {r.status_code} {r.text}")
            assert not missed, "owner A's own calls failed:\n" + "\n".join(missed)

            # and B's business is untouched by everything B tried on A
            for path in (
                f"/api/v1/providers/{b.ids['provider_id']}",
                f"/api/v1/bookings/{b.ids['booking_id']}",
            ):
                assert (await c.get(path, headers=b.headers)).status_code == 200
