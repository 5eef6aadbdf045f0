"""Calisera's own access tokens: short-lived Ed25519-signed JWTs (RFC 9864).

The users service signs them; every service verifies them with the public key set
(JWKS). Keys are Ed25519 (OKP): small, fast to verify, no parameters to get wrong.
Rotation: the issuer signs with its current key and keeps publishing the public halves
of retired keys (``previous_keys``) until the tokens they signed have expired.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OKPKey

ISSUER = "calisera"
AUDIENCE = "calisera-api"
ACCESS_TOKEN_TTL_SECONDS = 15 * 60

_ALGORITHMS = ["Ed25519"]
_CLAIM_RULES: dict[str, Any] = {
    "iss": {"essential": True, "value": ISSUER},
    "aud": {"essential": True, "value": AUDIENCE},
    "sub": {"essential": True},
    "exp": {"essential": True},
}


class InvalidToken(Exception):
    """The token is malformed, expired, or not signed by a known key."""


def generate_private_key_pem() -> str:
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def load_or_create_private_key(path: Path) -> str:
    """The PEM at ``path``, created (mode 0600) on first use: ``calisera up``'s dev key."""
    if path.exists():
        return path.read_text()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = generate_private_key_pem()
    path.touch(mode=0o600)
    path.write_text(pem)
    return pem


def public_jwk(private_key_pem: str) -> dict[str, Any]:
    """The public half of a signing key as a JWK with its thumbprint as ``kid``."""
    key = OKPKey.import_key(private_key_pem)
    public = key.as_dict(private=False)
    public.update({"kid": key.thumbprint(), "use": "sig", "alg": "Ed25519"})
    return public


@dataclass(frozen=True)
class Claims:
    subject: str
    email: str | None
    scopes: tuple[str, ...]
    expires_at: int
    token_id: str
    session_id: str | None = None


class TokenIssuer:
    """Signs access tokens with one private key and publishes its public half."""

    def __init__(self, private_key_pem: str, previous_keys: Sequence[dict[str, Any]] = ()):
        self._key = OKPKey.import_key(private_key_pem)
        self.public_jwk: dict[str, Any] = public_jwk(private_key_pem)
        self.kid: str = self.public_jwk["kid"]
        self.previous_keys = [
            {k: v for k, v in key.items() if k != "d"}
            for key in previous_keys
            if key.get("kid") != self.kid
        ]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk, *self.previous_keys]}

    def issue(
        self,
        subject: str,
        *,
        email: str | None = None,
        scopes: tuple[str, ...] = (),
        ttl_seconds: int = ACCESS_TOKEN_TTL_SECONDS,
        now: float | None = None,
        session_id: str | None = None,
    ) -> str:
        issued = int(now if now is not None else time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "iat": issued,
            "exp": issued + ttl_seconds,
            "jti": str(uuid.uuid4()),
        }
        if email:
            claims["email"] = email
        if scopes:
            claims["scope"] = " ".join(scopes)
        if session_id:
            claims["sid"] = session_id
        return jwt.encode(
            {"alg": "Ed25519", "kid": self.kid}, claims, self._key, algorithms=_ALGORITHMS
        )


def key_id_of(token: str) -> str | None:
    """The ``kid`` of a compact JWS's header, read without verifying anything."""
    try:
        kid = jws.extract_compact(token.encode()).protected.get("kid")
    except (JoseError, ValueError, UnicodeError):
        return None
    return kid if isinstance(kid, str) else None


class TokenVerifier:
    """Verifies access tokens against a JWKS (a dict or its JSON text)."""

    def __init__(self, jwks: dict[str, Any] | str):
        data = json.loads(jwks) if isinstance(jwks, str) else jwks
        self._keys = KeySet.import_key_set(data)  # type: ignore[arg-type]
        self.key_ids = frozenset(k.kid for k in self._keys.keys if k.kid)

    def knows(self, token: str) -> bool:
        """Whether the token's ``kid`` names a key of this set (a rotated-in key does not)."""
        return key_id_of(token) in self.key_ids

    def verify(self, token: str, *, now: float | None = None) -> Claims:
        try:
            claims = jwt.decode(token, self._keys, algorithms=_ALGORITHMS).claims
            registry = jwt.JWTClaimsRegistry(
                now=int(now) if now is not None else None, leeway=30, **_CLAIM_RULES
            )
            registry.validate(claims)
        except (JoseError, ValueError, KeyError) as exc:
            raise InvalidToken(str(exc) or exc.__class__.__name__) from exc
        return Claims(
            subject=str(claims["sub"]),
            email=claims.get("email"),
            scopes=tuple(str(claims.get("scope", "")).split()),
            expires_at=int(claims["exp"]),
            token_id=str(claims.get("jti", "")),
            session_id=str(claims["sid"]) if claims.get("sid") else None,
        )
