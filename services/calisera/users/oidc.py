"""Sign-in through external OpenID Connect identity providers (Authlib).

Authorization code flow with PKCE (S256), ``state`` and ``nonce``; each provider's
endpoints and keys come from its discovery document. A started login is a row keyed by
the hash of its ``state`` and bound to the browser that started it by a cookie, so a
login cannot be finished in another browser (login CSRF) and a callback URL works once:
the row is deleted as the callback reads it. The ID token is validated by Authlib
(signature against the provider's JWKS, refetched when a new ``kid`` appears, ``iss``,
``aud``, ``exp``, ``nonce``, ``at_hash``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
import structlog
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from joserfc.errors import JoseError
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.errors import BadRequest, NotFound, ServiceUnavailable
from calisera.core.settings import IdentityProvider
from calisera.users.accounts import AssertedIdentity
from calisera.users.models import OidcLogin
from calisera.users.opaque_tokens import digest, new_opaque_token

LOGIN_TTL = timedelta(minutes=10)

log = structlog.get_logger("calisera.users.oidc")


class InvalidLoginState(BadRequest):
    slug, title = (
        "invalid-login-state",
        "This sign-in is unknown, used, expired or from another browser",
    )


class IdentityProviderRefused(BadRequest):
    slug, title = "identity-provider-refused", "The identity provider refused the sign-in"


class InvalidIdToken(BadRequest):
    slug, title = "invalid-id-token", "The identity provider's ID token is not valid"


@dataclass(frozen=True)
class StartedLogin:
    authorize_url: str
    binding: str
    """Secret for the browser's binding cookie (only its hash is stored)."""


class IdentityProviders:
    """The configured providers (``CALISERA_OIDC_<NAME>_*``) as Authlib clients."""

    def __init__(self, configured: dict[str, IdentityProvider]):
        self.configured = dict(configured)
        self._oauth = OAuth()
        for name, idp in self.configured.items():
            self._oauth.register(
                name=name,
                client_id=idp.client_id,
                client_secret=idp.client_secret.get_secret_value() if idp.client_secret else None,
                server_metadata_url=idp.issuer.rstrip("/") + "/.well-known/openid-configuration",
                client_kwargs={"scope": idp.scopes, "code_challenge_method": "S256"},
            )

    def label(self, name: str) -> str:
        return self.configured[name].label or name.replace("-", " ").title()

    def client(self, name: str) -> StarletteOAuth2App:
        if name not in self.configured:
            raise NotFound(f"There is no identity provider called {name!r}.")
        client: StarletteOAuth2App = self._oauth.create_client(name)
        return client

    async def metadata(self, name: str) -> dict[str, Any]:
        """The discovery document, checked to be the configured issuer's own."""
        try:
            metadata: dict[str, Any] = await self.client(name).load_server_metadata()
        except (httpx.HTTPError, ValueError) as exc:
            raise ServiceUnavailable(
                f"The identity provider {name!r} cannot be reached: {exc.__class__.__name__}"
            ) from exc
        expected = self.configured[name].issuer.rstrip("/")
        if str(metadata.get("issuer", "")).rstrip("/") != expected:
            raise ServiceUnavailable(f"The discovery document of {name!r} names another issuer.")
        return metadata


async def start_login(
    session: AsyncSession,
    providers: IdentityProviders,
    name: str,
    *,
    redirect_uri: str,
    return_to: str,
) -> StartedLogin:
    client = providers.client(name)
    await providers.metadata(name)
    started = await client.create_authorization_url(redirect_uri)
    binding, binding_hash = new_opaque_token()
    now = datetime.now(UTC)
    await session.execute(sa.delete(OidcLogin).where(OidcLogin.expires_at < now))
    session.add(
        OidcLogin(
            state_hash=digest(started["state"]),
            idp=name,
            nonce=started["nonce"],
            code_verifier=started["code_verifier"],
            binding_hash=binding_hash,
            return_to=return_to,
            created_at=now,
            expires_at=now + LOGIN_TTL,
        )
    )
    await session.flush()
    return StartedLogin(started["url"], binding)


async def consume_login(session: AsyncSession, name: str, state: str) -> OidcLogin | None:
    """Take the started login of ``state`` out of the table (it works once)."""
    login: OidcLogin | None = await session.scalar(
        sa.delete(OidcLogin)
        .where(OidcLogin.state_hash == digest(state), OidcLogin.idp == name)
        .returning(OidcLogin)
    )
    return login


@dataclass(frozen=True)
class FinishedLogin:
    identity: AssertedIdentity
    return_to: str


async def finish_login(
    providers: IdentityProviders,
    name: str,
    login: OidcLogin | None,
    *,
    code: str,
    binding: str | None,
    redirect_uri: str,
) -> FinishedLogin:
    """Check the callback against its started login (already consumed and committed by
    the caller: it works once, whatever happens here), exchange the code and validate
    the ID token."""
    client = providers.client(name)
    if login is None:
        raise InvalidLoginState("Unknown or already used sign-in; start again.")
    if login.expires_at <= datetime.now(UTC):
        raise InvalidLoginState("This sign-in took too long; start again.")
    if binding is None or digest(binding) != login.binding_hash:
        raise InvalidLoginState("This sign-in was started in another browser; start again.")
    metadata = await providers.metadata(name)
    try:
        token = await client.fetch_access_token(
            redirect_uri=redirect_uri, code=code, code_verifier=login.code_verifier
        )
    except AuthlibBaseError as exc:
        log.info("oidc_code_refused", idp=name, error=str(exc))
        raise IdentityProviderRefused(f"{name}: {exc}") from exc
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(f"The identity provider {name!r} cannot be reached.") from exc
    try:
        claims = await client.parse_id_token(
            token,
            nonce=login.nonce,
            claims_options={"iss": {"essential": True, "value": metadata["issuer"]}},
        )
    except (AuthlibBaseError, JoseError, ValueError) as exc:
        log.info("oidc_id_token_refused", idp=name, error=str(exc))
        raise InvalidIdToken(f"{name}: {exc}") from exc
    if claims is None:
        raise InvalidIdToken(f"{name} returned no ID token.")
    return FinishedLogin(
        AssertedIdentity(
            idp=str(claims["iss"]),
            subject=str(claims["sub"]),
            email=claims.get("email"),
            email_verified=claims.get("email_verified") is True,
            name=claims.get("name"),
        ),
        login.return_to,
    )
