"""Passkeys (WebAuthn): registering credentials on a signed-in account, signing in with
one, listing, renaming and removing them. The ``webauthn`` library does the ceremony's
cryptography; this module keeps the server's side of it.

- The relying party is the site of ``CALISERA_PUBLIC_URL``: its host is the RP ID, its
  origin the only one accepted (a passkey made for a phishing site never verifies here).
- Every ceremony starts with a challenge stored server-side, bound to its purpose (and,
  for registration, to the account), valid :data:`CHALLENGE_TTL` and taken once with
  ``DELETE ... RETURNING``: a replayed or concurrent second use finds nothing.
- Passkeys are discoverable (resident) credentials: sign-in asks for no e-mail first,
  the authenticator offers the accounts it holds for this site.
- The signature counter must grow when an authenticator keeps one; a counter that goes
  backwards means a cloned key and is refused.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
import webauthn
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from calisera.core.errors import BadRequest, Conflict, NotFound
from calisera.users.models import Account, Passkey, WebauthnChallenge

CHALLENGE_TTL = timedelta(minutes=5)
MAX_PASSKEYS = 20
"""Per account: enough for every device a person owns; bounds what sign-in lists."""


class InvalidPasskeyChallenge(BadRequest):
    slug, title = "invalid-passkey-challenge", "This passkey request is unknown, used or expired"


class InvalidPasskey(BadRequest):
    slug, title = "invalid-passkey", "The passkey could not be verified"


class PasskeyNotFound(NotFound):
    slug, title = "passkey-not-found", "No such passkey"


class PasskeyAlreadyRegistered(Conflict):
    slug, title = "passkey-already-registered", "This passkey is already registered"


@dataclass(frozen=True)
class RelyingParty:
    id: str
    name: str
    origin: str

    @classmethod
    def of_site(cls, public_url: str) -> RelyingParty:
        parts = urlsplit(public_url)
        return cls(
            id=parts.hostname or "localhost",
            name="Calisera",
            origin=f"{parts.scheme}://{parts.netloc}",
        )


def _options_json(options: Any) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(webauthn.options_to_json(options))
    return parsed


async def _new_challenge(
    session: AsyncSession, purpose: str, challenge: bytes, account_id: uuid.UUID | None
) -> uuid.UUID:
    now = datetime.now(UTC)
    await session.execute(sa.delete(WebauthnChallenge).where(WebauthnChallenge.expires_at < now))
    row = WebauthnChallenge(
        id=uuid.uuid4(),
        purpose=purpose,
        challenge=challenge,
        account_id=account_id,
        expires_at=now + CHALLENGE_TTL,
    )
    session.add(row)
    await session.flush()
    return row.id


async def take_challenge(
    session: AsyncSession, challenge_id: uuid.UUID, purpose: str, account_id: uuid.UUID | None
) -> bytes:
    """The challenge's bytes, deleted: it serves one ceremony only. Callers commit this
    before verifying, so a failed attempt uses the challenge up as well."""
    taken = await session.scalar(
        sa.delete(WebauthnChallenge)
        .where(
            WebauthnChallenge.id == challenge_id,
            WebauthnChallenge.purpose == purpose,
            WebauthnChallenge.account_id.is_(None)
            if account_id is None
            else WebauthnChallenge.account_id == account_id,
            WebauthnChallenge.expires_at > sa.func.now(),
        )
        .returning(WebauthnChallenge.challenge)
    )
    if taken is None:
        raise InvalidPasskeyChallenge("Start again: this passkey request is used or expired.")
    return bytes(taken)


async def account_passkeys(session: AsyncSession, account_id: uuid.UUID) -> list[Passkey]:
    rows = await session.scalars(
        sa.select(Passkey).where(Passkey.account_id == account_id).order_by(Passkey.created_at)
    )
    return list(rows)


async def registration_options(
    session: AsyncSession, rp: RelyingParty, account: Account
) -> tuple[uuid.UUID, dict[str, Any]]:
    """What ``navigator.credentials.create`` needs; the account's passkeys are excluded
    so one authenticator is not registered twice."""
    existing = await account_passkeys(session, account.id)
    if len(existing) >= MAX_PASSKEYS:
        raise Conflict(f"An account holds at most {MAX_PASSKEYS} passkeys; remove one first.")
    options = webauthn.generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=account.id.bytes,
        user_name=account.email,
        user_display_name=account.name or account.email,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=p.credential_id) for p in existing],
    )
    challenge_id = await _new_challenge(session, "register", options.challenge, account.id)
    return challenge_id, _options_json(options)


def _transports(credential: dict[str, Any]) -> list[str]:
    response = credential.get("response")
    found = response.get("transports") if isinstance(response, dict) else None
    known = {t.value for t in AuthenticatorTransport}
    return (
        [t for t in found if isinstance(t, str) and t in known][:8]
        if isinstance(found, list)
        else []
    )


async def register(
    session: AsyncSession,
    rp: RelyingParty,
    account: Account,
    *,
    challenge: bytes,
    name: str,
    credential: dict[str, Any],
) -> Passkey:
    """Verify the authenticator's answer to our challenge (taken with
    :func:`take_challenge`) and keep its public key."""
    try:
        verified = webauthn.verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise InvalidPasskey(f"The passkey could not be verified: {exc}") from exc
    passkey = Passkey(
        id=uuid.uuid4(),
        account_id=account.id,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        name=name,
        transports=_transports(credential),
        created_at=datetime.now(UTC),
    )
    try:
        async with session.begin_nested():
            session.add(passkey)
    except IntegrityError:
        raise PasskeyAlreadyRegistered("This passkey is already registered.") from None
    return passkey


async def sign_in_options(
    session: AsyncSession, rp: RelyingParty
) -> tuple[uuid.UUID, dict[str, Any]]:
    """What ``navigator.credentials.get`` needs: no credential list (discoverable)."""
    options = webauthn.generate_authentication_options(
        rp_id=rp.id, user_verification=UserVerificationRequirement.PREFERRED
    )
    challenge_id = await _new_challenge(session, "sign_in", options.challenge, None)
    return challenge_id, _options_json(options)


def _credential_id(credential: dict[str, Any]) -> bytes:
    raw = credential.get("rawId") or credential.get("id")
    if not isinstance(raw, str) or not 1 <= len(raw) <= 1400:
        raise InvalidPasskey("credential.rawId: missing or not base64url")
    try:
        return base64url_to_bytes(raw)
    except ValueError as exc:
        raise InvalidPasskey("credential.rawId: not base64url") from exc


async def authenticate(
    session: AsyncSession,
    rp: RelyingParty,
    *,
    challenge: bytes,
    credential: dict[str, Any],
) -> Account:
    """The account whose passkey signed our challenge (taken with :func:`take_challenge`);
    its counter moves forward."""
    passkey = await session.scalar(
        sa.select(Passkey)
        .where(Passkey.credential_id == _credential_id(credential))
        .with_for_update()
    )
    if passkey is None:
        raise InvalidPasskey("This passkey is not registered here (it may have been removed).")
    try:
        verified = webauthn.verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise InvalidPasskey(f"The passkey could not be verified: {exc}") from exc
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = datetime.now(UTC)
    account = await session.get(Account, passkey.account_id)
    assert account is not None  # the foreign key cascades deletions
    return account


async def rename(
    session: AsyncSession, account_id: uuid.UUID, passkey_id: uuid.UUID, name: str
) -> Passkey:
    passkey = await session.get(Passkey, passkey_id, with_for_update=True)
    if passkey is None or passkey.account_id != account_id:
        raise PasskeyNotFound("No such passkey.")
    passkey.name = name
    return passkey


async def remove(session: AsyncSession, account_id: uuid.UUID, passkey_id: uuid.UUID) -> None:
    """Another account's passkey is a 404, like an unknown one."""
    removed = await session.scalar(
        sa.delete(Passkey)
        .where(Passkey.id == passkey_id, Passkey.account_id == account_id)
        .returning(Passkey.id)
    )
    if removed is None:
        raise PasskeyNotFound("No such passkey.")


def credential_id_text(passkey: Passkey) -> str:
    return bytes_to_base64url(passkey.credential_id)
