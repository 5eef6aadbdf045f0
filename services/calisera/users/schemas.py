"""Request and response bodies of the users service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, EmailStr, Field

from calisera.core.text import SingleLine


class RefreshGrant(BaseModel):
    grant_type: Literal["refresh_token"]
    refresh_token: str = Field(min_length=1, max_length=200)


class SignInCodeGrant(BaseModel):
    """Server-to-server only (the web BFF, with the platform credential)."""

    grant_type: Literal["sign_in_code"]
    code: str = Field(min_length=1, max_length=200)


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the scheme, not a secret
    expires_in: int = Field(description="Seconds the access token is valid.")
    refresh_token: str = Field(description="Opaque, single use: each refresh returns the next.")
    refresh_token_expires_at: datetime
    session_id: uuid.UUID


class LogoutRequest(BaseModel):
    refresh_token: str | None = Field(default=None, max_length=200)


class SessionOut(BaseModel):
    id: uuid.UUID
    method: str
    idp: str | None
    user_agent: str | None
    ip: str | None
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    current: bool = Field(description="The session of the access token making the request.")


class SessionList(BaseModel):
    items: list[SessionOut]


class Me(BaseModel):
    kind: str
    subject: str | None
    email: str | None
    account_id: uuid.UUID | None = None
    name: str | None = None


class IdentityProviderOut(BaseModel):
    name: str
    label: str
    login_url: str


class IdentityProviderList(BaseModel):
    items: list[IdentityProviderOut]


class MagicLinkRequest(BaseModel):
    email: EmailStr = Field(max_length=320)


BFF_SESSION_PATH = "/bff/session"
"""Where a browser sign-in ends: the web BFF's route that redeems ``?code=`` for the
session's tokens (server to server) and sets the session cookie."""


PasskeyName = Annotated[str, SingleLine(100, min_length=1)]


class PasskeyOptions(BaseModel):
    """Start of a passkey ceremony: pass ``public_key`` to ``navigator.credentials``
    (``create`` to register, ``get`` to sign in), then send the answer back with
    ``challenge_id`` within 5 minutes. Each challenge works once."""

    challenge_id: uuid.UUID
    public_key: dict[str, Any] = Field(
        description="PublicKeyCredentialCreationOptions or ...RequestOptions, as JSON "
        "(binary fields base64url)."
    )


class PasskeyRegistration(BaseModel):
    challenge_id: uuid.UUID
    name: PasskeyName = Field(description="What the owner calls it, e.g. 'Phone'.")
    credential: dict[str, Any] = Field(
        description="The PublicKeyCredential from navigator.credentials.create, as JSON."
    )


class PasskeyRename(BaseModel):
    name: PasskeyName


class PasskeySignIn(BaseModel):
    challenge_id: uuid.UUID
    credential: dict[str, Any] = Field(
        description="The PublicKeyCredential from navigator.credentials.get, as JSON."
    )
    return_to: str | None = Field(default=None, max_length=500)


class PasskeySignedIn(BaseModel):
    redirect_to: str = Field(description="Where the browser goes next: the web BFF.")


class PasskeyOut(BaseModel):
    id: uuid.UUID
    name: str
    created_at: datetime
    last_used_at: datetime | None
    transports: list[str]


class PasskeyList(BaseModel):
    items: list[PasskeyOut]
