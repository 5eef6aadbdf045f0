"""Who is calling: the platform admin, a signed-in user, or nobody.

``current_principal`` is the one FastAPI dependency every service uses. It accepts the
platform admin token (``CALISERA_ADMIN_TOKEN``) or a Calisera access token verified
with the users service's public keys; ownership decisions stay in each service.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request

from calisera.core.errors import Forbidden, Unauthorized
from calisera.core.key_set import RemoteKeySet
from calisera.core.tokens import InvalidToken, TokenVerifier


@dataclass(frozen=True)
class Principal:
    kind: Literal["admin", "user", "anonymous"]
    subject: str | None = None
    email: str | None = None
    session_id: str | None = None
    """The users-service session a Calisera access token belongs to (its ``sid``)."""

    @property
    def is_admin(self) -> bool:
        return self.kind == "admin"

    @property
    def is_authenticated(self) -> bool:
        return self.kind != "anonymous"

    def owns(self, owner_email: str | None, owner_subject: str | None = None) -> bool:
        """True when this user is the owner named by e-mail or subject (case-insensitive e-mail)."""
        if self.kind != "user":
            return False
        if owner_subject and self.subject == owner_subject:
            return True
        return bool(owner_email and self.email and self.email.lower() == owner_email.lower())

    def require_authenticated(self) -> Principal:
        if not self.is_authenticated:
            raise Unauthorized("Sign in or send a bearer token.")
        return self

    def require_admin(self) -> Principal:
        self.require_authenticated()
        if not self.is_admin:
            raise Forbidden("Only the platform admin may do this.")
        return self


ANONYMOUS = Principal("anonymous")
ADMIN = Principal("admin", subject="admin")


class Authenticator:
    """Turns an ``Authorization`` header into a :class:`Principal`."""

    def __init__(self, admin_token: str | None, verifier: TokenVerifier | None):
        self._admin_token = admin_token.encode() if admin_token else None
        self._verifier = verifier
        self._remote: RemoteKeySet | None = None

    @property
    def can_verify_tokens(self) -> bool:
        return self._verifier is not None or self._remote is not None

    def use_key_set(self, verifier: TokenVerifier) -> None:
        """Verify with this fixed key set."""
        self._verifier = verifier

    def use_remote_key_set(self, remote: RemoteKeySet) -> None:
        """Verify with the users service's JWKS (``CALISERA_JWKS_URL``), refetched when a
        token names a key it lacks (:mod:`calisera.core.key_set`)."""
        self._remote = remote
        self._verifier = remote.verifier

    def _credentials(self, authorization: str | None) -> Principal | str:
        """The admin or anonymous principal, or the bearer token still to verify."""
        if not authorization:
            return ANONYMOUS
        scheme, _, credentials = authorization.partition(" ")
        credentials = credentials.strip()
        if scheme.lower() != "bearer" or not credentials:
            raise Unauthorized("Use 'Authorization: Bearer <token>'.")
        if self._admin_token and hmac.compare_digest(credentials.encode(), self._admin_token):
            return ADMIN
        return credentials

    @staticmethod
    def _verified(verifier: TokenVerifier | None, token: str) -> Principal:
        if verifier is None:
            raise Unauthorized("Access tokens cannot be verified here: no key set configured.")
        try:
            claims = verifier.verify(token)
        except InvalidToken as exc:
            raise Unauthorized(f"Invalid access token: {exc}") from exc
        return Principal(
            "user", subject=claims.subject, email=claims.email, session_id=claims.session_id
        )

    def authenticate(self, authorization: str | None) -> Principal:
        """With the keys at hand only (no refetch): for code that cannot await."""
        found = self._credentials(authorization)
        if isinstance(found, Principal):
            return found
        return self._verified(self._verifier, found)

    async def authenticate_request(self, authorization: str | None) -> Principal:
        """As :meth:`authenticate`, refetching a remote key set for an unknown ``kid``."""
        found = self._credentials(authorization)
        if isinstance(found, Principal):
            return found
        verifier = self._verifier
        if self._remote is not None:
            verifier = self._verifier = await self._remote.verifier_for(found)
        return self._verified(verifier, found)


async def current_principal(request: Request) -> Principal:
    authenticator: Authenticator = request.app.state.platform.authenticator
    return await authenticator.authenticate_request(request.headers.get("authorization"))


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
