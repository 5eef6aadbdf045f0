"""The console's passkeys screen (``/console/account/passkeys``): the signed-in user's
passkeys, named, with a remove button each, and "Add a passkey".

Listing and removing are plain server-rendered forms like every console screen; adding
needs the browser's WebAuthn API, so ``static/console/passkeys.js`` runs that ceremony
against the users service through the BFF (``/bff/api/users/me/passkeys/...``). The
same script puts "Sign in with a passkey" into the sign-in screen's slot.
"""

from __future__ import annotations

from fastapi.responses import Response

from calisera.web.console_session import (
    ApiDep,
    OnboardingRequired,
    console_router,
    parse_id,
    render,
)
from calisera.web.pages import redirect

router = console_router()

PASSKEYS_PATH = "/console/account/passkeys"


@router.get(PASSKEYS_PATH)
async def passkeys_page(api: ApiDep) -> Response:
    try:
        provider = await api.my_provider()
    except OnboardingRequired:  # passkeys belong to the account, not to a booking page
        provider = None
    found = await api.get("users", "/me/passkeys")
    return render(
        "console/passkeys.html",
        title="Passkeys",
        nav="account",
        provider=provider,
        passkeys=found["items"],
    )


@router.post(PASSKEYS_PATH + "/{passkey_id}/remove")
async def remove_passkey(api: ApiDep, passkey_id: str) -> Response:
    await api.call("DELETE", "users", f"/me/passkeys/{parse_id(passkey_id)}")
    return redirect(PASSKEYS_PATH)
