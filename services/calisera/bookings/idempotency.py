"""``Idempotency-Key`` for create and reschedule: a retried request does not act twice.

Scope: the operation (``create``, ``reschedule:<booking id>``) and, when the caller is
authenticated, the principal (``admin``, ``user:<subject>``): the same key presented by
another caller is another key, so nobody replays someone else's answer (which carries
the ``manage_token``). Keys are 16 to 255 printable ASCII characters, so they cannot be
guessed by brute force from a copy of the database.

Protocol, per (scope, key):

1. :func:`claim` inserts a row in state ``in_flight`` **in its own committed
   transaction**, before any work. A concurrent request with the same key then finds
   the row: same body → 409 (:class:`IdempotencyInFlight`), other body → 422.
2. The work runs in the request's transaction, and :func:`record_response` stores the
   response in that same transaction: the booking and its recorded answer commit
   together, or neither does.
3. When the work fails, :func:`release` deletes the ``in_flight`` row so the client may
   retry with the same key (errors are not replayed). A row left ``in_flight`` by a
   killed process is taken over after :data:`STALE_IN_FLIGHT`.
4. Keys expire after :data:`KEY_TTL` (24 hours): an expired row is treated as absent
   and replaced; :func:`purge_expired` deletes them.

Why the response is stored encrypted: a replay must return the very same body,
including the booking's ``manage_token``, which is otherwise stored only as a hash.
Storing it in clear for 24 hours would weaken that, so the response is encrypted with
AES-256-GCM under a key derived (HKDF-SHA256) from the Idempotency-Key itself, and the
row is found by a *different* hash of the key. Only a client that presents the key can
read the answer; a copy of the database cannot. The lookup hash is an HMAC-SHA256
under a key derived (HKDF) from the server's admin token, the secret the platform
already keeps (it also seals manage tokens): without that secret a copy of the
database does not even tell which keys were used.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from calisera.bookings.errors import IdempotencyInFlight, IdempotencyKeyReused
from calisera.bookings.models import idempotency_keys
from calisera.core.errors import FieldError, InvalidInput

KEY_TTL = timedelta(hours=24)
STALE_IN_FLIGHT = timedelta(seconds=60)
MIN_KEY_LENGTH = 16
MAX_KEY_LENGTH = 255
_PRINTABLE = re.compile(r"[\x21-\x7e]+")
CLAIM_ATTEMPTS = 3


def lookup_secret(server_secret: str | None) -> bytes:
    """The HMAC key of key lookups, derived from the server secret (the admin token).

    Without one (a bare development process) the key is a public constant: lookups then
    are as strong as a plain hash, which the length rule still keeps out of brute force.
    """
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"calisera-idempotency-lookup",
        info=b"lookup-hmac",
    ).derive((server_secret or "").encode())


@dataclass(frozen=True)
class IdempotencyKey:
    scope: str
    key: str
    secret: bytes

    @property
    def lookup_hash(self) -> bytes:
        message = self.scope.encode() + b"\0" + self.key.encode()
        return hmac.new(self.secret, message, hashlib.sha256).digest()

    def _cipher(self) -> AESGCM:
        material = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=None,
            info=b"calisera-idempotency-response\0" + self.scope.encode(),
        ).derive(self.key.encode())
        return AESGCM(material)

    def seal(self, body: dict[str, Any]) -> bytes:
        nonce = os.urandom(12)
        plain = json.dumps(body, separators=(",", ":")).encode()
        return nonce + self._cipher().encrypt(nonce, plain, self.lookup_hash)

    def open(self, sealed: bytes) -> dict[str, Any]:
        plain = self._cipher().decrypt(sealed[:12], sealed[12:], self.lookup_hash)
        body: dict[str, Any] = json.loads(plain)
        return body


def parse_key(
    operation: str, header: str | None, *, principal: str | None, secret: bytes
) -> IdempotencyKey | None:
    """The request's key scoped to ``operation`` and ``principal`` (None: anonymous)."""
    if header is None:
        return None
    key = header.strip()
    if not (MIN_KEY_LENGTH <= len(key) <= MAX_KEY_LENGTH) or not _PRINTABLE.fullmatch(key):
        rule = (
            f"must be {MIN_KEY_LENGTH} to {MAX_KEY_LENGTH} printable ASCII characters"
            " (no spaces), e.g. a UUID"
        )
        raise InvalidInput(f"Idempotency-Key {rule}.", errors=[FieldError("Idempotency-Key", rule)])
    scope = operation if principal is None else f"{operation}|{principal}"
    return IdempotencyKey(scope, key, secret)


def request_hash(body: dict[str, Any]) -> bytes:
    """SHA-256 of the canonical JSON of the parsed request (key order, spacing ignored)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).digest()


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: dict[str, Any]


async def claim(
    sessionmaker: async_sessionmaker[AsyncSession],
    key: IdempotencyKey,
    body_hash: bytes,
    now: datetime,
) -> StoredResponse | None:
    """Claim ``key`` for this request (None: go ahead) or return the earlier answer."""
    t = idempotency_keys
    where = sa.and_(t.c.scope == key.scope, t.c.key_hash == key.lookup_hash)
    for _ in range(CLAIM_ATTEMPTS):
        async with sessionmaker() as session, session.begin():
            inserted = await session.execute(
                insert(t)
                .values(
                    scope=key.scope,
                    key_hash=key.lookup_hash,
                    request_hash=body_hash,
                    state="in_flight",
                    created_at=now,
                )
                .on_conflict_do_nothing()
                .returning(t.c.scope)
            )
            if inserted.first() is not None:
                return None
            row = (await session.execute(sa.select(t).where(where).with_for_update())).first()
            if row is None:
                continue  # released or purged since the insert saw it: claim again
            return await _settle(session, key, row, body_hash, now)
    raise IdempotencyInFlight("The first request with this Idempotency-Key is running.")


async def _settle(
    session: AsyncSession, key: IdempotencyKey, row: Any, body_hash: bytes, now: datetime
) -> StoredResponse | None:
    """Decide about an existing row (locked): take it over, replay it, or refuse."""
    t = idempotency_keys
    expired = row.created_at <= now - KEY_TTL
    abandoned = row.state == "in_flight" and row.created_at <= now - STALE_IN_FLIGHT
    if expired or abandoned:
        await session.execute(
            t.update()
            .where(t.c.scope == key.scope, t.c.key_hash == key.lookup_hash)
            .values(
                request_hash=body_hash,
                state="in_flight",
                status_code=None,
                response=None,
                created_at=now,
                completed_at=None,
            )
        )
        return None
    if row.request_hash != body_hash:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used with a different request body.",
            errors=[FieldError("Idempotency-Key", "already used for another request")],
        )
    if row.state == "in_flight":
        raise IdempotencyInFlight("The first request with this Idempotency-Key is running.")
    return StoredResponse(row.status_code, key.open(row.response))


async def record_response(
    session: AsyncSession,
    key: IdempotencyKey,
    status_code: int,
    body: dict[str, Any],
    now: datetime,
) -> None:
    """Store the answer, inside the transaction that did the work."""
    t = idempotency_keys
    await session.execute(
        t.update()
        .where(t.c.scope == key.scope, t.c.key_hash == key.lookup_hash)
        .values(
            state="completed",
            status_code=status_code,
            response=key.seal(body),
            completed_at=now,
        )
    )


async def release(sessionmaker: async_sessionmaker[AsyncSession], key: IdempotencyKey) -> None:
    """Forget an in-flight claim whose work failed, so the client can retry."""
    t = idempotency_keys
    async with sessionmaker() as session, session.begin():
        await session.execute(
            t.delete().where(
                t.c.scope == key.scope,
                t.c.key_hash == key.lookup_hash,
                t.c.state == "in_flight",
            )
        )


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(
        idempotency_keys.delete().where(idempotency_keys.c.created_at <= now - KEY_TTL)
    )
    return int(getattr(result, "rowcount", 0) or 0)
