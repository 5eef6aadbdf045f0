"""What other services call on the users service: the web BFF's token calls.

The BFF is a confidential client: it calls with the platform credential, which is the
only way to redeem a sign-in code."""

from __future__ import annotations

from calisera.core.clients import ServiceClient
from calisera.core.errors import Unauthorized
from calisera.users.schemas import TokenResponse


class SessionEnded(Unauthorized):
    """The refresh token or sign-in code was refused: the person must sign in again."""

    slug, title = "session-ended", "The session has ended"


class UsersClient(ServiceClient):
    service = "users"

    async def _grant(self, body: dict[str, str]) -> TokenResponse:
        response = await self.request("POST", "/auth/token", json=body)
        if response.status_code in (400, 401):
            raise SessionEnded("Sign in again.")
        response.raise_for_status()
        return TokenResponse.model_validate(response.json())

    async def redeem_sign_in_code(self, code: str) -> TokenResponse:
        return await self._grant({"grant_type": "sign_in_code", "code": code})

    async def refresh(self, refresh_token: str) -> TokenResponse:
        return await self._grant({"grant_type": "refresh_token", "refresh_token": refresh_token})

    async def logout(self, refresh_token: str) -> None:
        response = await self.request("POST", "/auth/logout", json={"refresh_token": refresh_token})
        response.raise_for_status()
