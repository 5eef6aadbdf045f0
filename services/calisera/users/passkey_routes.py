"""Passkey routes of the users service.

Managing passkeys needs a signed-in user and lives under ``/api/v1/users/me/passkeys``
(so the console reaches it through the web BFF with the session's token); signing in
with one is public and lives under ``/auth/passkeys/`` (counted by the abuse limits).
A successful sign-in answers where the browser goes next: the web BFF's session route
with a one-time code, as the other sign-in methods end.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, Request, Response

from calisera.core.auth import CurrentPrincipal, Principal
from calisera.core.dependencies import PlatformDep, SessionDep
from calisera.core.errors import NotFound
from calisera.core.openapi import problem_responses
from calisera.users import accounts, passkeys
from calisera.users.abuse_limits import (
    AbuseLimitsDep,
    SignInAttempt,
    TooManyAttempts,
    client_address,
    refusals_logged,
)
from calisera.users.models import Account, Passkey
from calisera.users.schemas import (
    BFF_SESSION_PATH,
    PasskeyList,
    PasskeyOptions,
    PasskeyOut,
    PasskeyRegistration,
    PasskeyRename,
    PasskeySignedIn,
    PasskeySignIn,
)
from calisera.users.sign_in_routes import hand_off, safe_return_to

log = structlog.get_logger("calisera.users.passkeys")

router = APIRouter(tags=["users"])

MINE = "/api/v1/users/me/passkeys"
REGISTRATION_OPTIONS = "/api/v1/users/me/passkey-options"
"""Not under :data:`MINE`, where ``/{passkey_id}`` would claim the word ``options``."""


def _out(p: Passkey) -> PasskeyOut:
    return PasskeyOut(
        id=p.id,
        name=p.name,
        created_at=p.created_at,
        last_used_at=p.last_used_at,
        transports=list(p.transports or []),
    )


async def _account(session: SessionDep, principal: Principal) -> Account:
    principal.require_authenticated()
    account = await accounts.account_of(session, principal)
    if account is None:
        raise NotFound("There is no account for this token.")
    return account


@router.post(
    REGISTRATION_OPTIONS,
    response_model=PasskeyOptions,
    responses=problem_responses(404, 409),
)
async def passkey_registration_options(
    principal: CurrentPrincipal, session: SessionDep, platform: PlatformDep
) -> PasskeyOptions:
    """Start registering a passkey on the signed-in account."""
    rp = passkeys.RelyingParty.of_site(platform.settings.public_url)
    async with session.begin():
        account = await _account(session, principal)
        challenge_id, options = await passkeys.registration_options(session, rp, account)
    return PasskeyOptions(challenge_id=challenge_id, public_key=options)


@router.post(
    MINE,
    status_code=201,
    response_model=PasskeyOut,
    responses=problem_responses(404, passkeys.InvalidPasskey, passkeys.PasskeyAlreadyRegistered),
)
async def register_passkey(
    body: PasskeyRegistration,
    principal: CurrentPrincipal,
    session: SessionDep,
    platform: PlatformDep,
) -> PasskeyOut:
    """Finish registering: the authenticator's answer to the challenge, and a name."""
    rp = passkeys.RelyingParty.of_site(platform.settings.public_url)
    async with session.begin():
        account = await _account(session, principal)
        account_id = account.id
        challenge = await passkeys.take_challenge(
            session, body.challenge_id, "register", account_id
        )
    async with session.begin():
        account = await _account(session, principal)
        passkey = await passkeys.register(
            session,
            rp,
            account,
            challenge=challenge,
            name=body.name,
            credential=body.credential,
        )
    log.info("passkey_registered", account_id=str(account.id), passkey_id=str(passkey.id))
    return _out(passkey)


@router.get(MINE, response_model=PasskeyList, responses=problem_responses(404))
async def my_passkeys(principal: CurrentPrincipal, session: SessionDep) -> PasskeyList:
    """The signed-in user's passkeys, oldest first."""
    async with session.begin():
        account = await _account(session, principal)
        rows = await passkeys.account_passkeys(session, account.id)
    return PasskeyList(items=[_out(p) for p in rows])


@router.patch(f"{MINE}/{{passkey_id}}", response_model=PasskeyOut)
async def rename_passkey(
    passkey_id: uuid.UUID, body: PasskeyRename, principal: CurrentPrincipal, session: SessionDep
) -> PasskeyOut:
    async with session.begin():
        account = await _account(session, principal)
        passkey = await passkeys.rename(session, account.id, passkey_id, body.name)
    return _out(passkey)


@router.delete(f"{MINE}/{{passkey_id}}", status_code=204)
async def remove_passkey(
    passkey_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    """Remove a passkey: it signs nobody in any more. Another user's is a 404."""
    async with session.begin():
        account = await _account(session, principal)
        await passkeys.remove(session, account.id, passkey_id)
    log.info("passkey_removed", account_id=str(account.id), passkey_id=str(passkey_id))
    return Response(status_code=204)


LIMITED = problem_responses(TooManyAttempts)


@router.post(
    "/auth/passkeys/sign-in/options",
    response_model=PasskeyOptions,
    dependencies=[SignInAttempt],
    responses=LIMITED,
)
async def passkey_sign_in_options(session: SessionDep, platform: PlatformDep) -> PasskeyOptions:
    """Start signing in with a passkey (no e-mail asked: passkeys are discoverable)."""
    rp = passkeys.RelyingParty.of_site(platform.settings.public_url)
    async with session.begin():
        challenge_id, options = await passkeys.sign_in_options(session, rp)
    return PasskeyOptions(challenge_id=challenge_id, public_key=options)


@router.post(
    "/auth/passkeys/sign-in",
    response_model=PasskeySignedIn,
    dependencies=[SignInAttempt],
    responses={
        **LIMITED,
        **problem_responses(passkeys.InvalidPasskey, passkeys.InvalidPasskeyChallenge),
    },
)
async def passkey_sign_in(
    body: PasskeySignIn,
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    abuse: AbuseLimitsDep,
) -> PasskeySignedIn:
    """Finish signing in: the passkey's signature over the challenge. The answer names
    the web BFF route that sets the session cookie (the browser goes there next)."""
    rp = passkeys.RelyingParty.of_site(platform.settings.public_url)
    with refusals_logged("passkey", request):
        async with session.begin():
            challenge = await passkeys.take_challenge(session, body.challenge_id, "sign_in", None)
        async with session.begin():
            account = await passkeys.authenticate(
                session, rp, challenge=challenge, credential=body.credential
            )
            await abuse.sign_in_for(account.email)
            code = await hand_off(session, account, request, method="passkey", idp=None)
        log.info(
            "signed_in",
            method="passkey",
            account_id=str(account.id),
            client=client_address(request),
        )
    query = urlencode({"code": code, "return_to": safe_return_to(body.return_to)})
    return PasskeySignedIn(redirect_to=f"{BFF_SESSION_PATH}?{query}")
