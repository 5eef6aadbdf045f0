"""Access tokens the verifier must refuse, each built the way an attacker would."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from joserfc import jwt
from joserfc.jwk import OKPKey

from calisera.core.tokens import (
    AUDIENCE,
    ISSUER,
    InvalidToken,
    TokenIssuer,
    TokenVerifier,
    generate_private_key_pem,
    public_jwk,
)


@pytest.fixture(scope="module")
def pem() -> str:
    return generate_private_key_pem()


@pytest.fixture(scope="module")
def verifier(pem: str) -> TokenVerifier:
    return TokenVerifier(TokenIssuer(pem).jwks())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(**changes: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "u1",
        "iat": now,
        "exp": now + 600,
    }
    claims.update(changes)
    return claims


def _signed(pem: str, claims: dict[str, object]) -> str:
    key = OKPKey.import_key(pem)
    header = {"alg": "Ed25519", "kid": public_jwk(pem)["kid"]}
    return jwt.encode(header, claims, key, algorithms=["Ed25519"])


def test_a_token_signed_properly_is_accepted(pem, verifier):
    assert verifier.verify(_signed(pem, _claims())).subject == "u1"


def test_wrong_audience_is_refused(pem, verifier):
    with pytest.raises(InvalidToken):
        verifier.verify(_signed(pem, _claims(aud="some-other-api")))


def test_wrong_issuer_is_refused(pem, verifier):
    with pytest.raises(InvalidToken):
        verifier.verify(_signed(pem, _claims(iss="https://evil.example")))


def test_missing_expiry_is_refused(pem, verifier):
    claims = _claims()
    del claims["exp"]
    with pytest.raises(InvalidToken):
        verifier.verify(_signed(pem, claims))


def test_expired_token_is_refused_beyond_the_leeway(pem, verifier):
    now = int(time.time())
    with pytest.raises(InvalidToken):
        verifier.verify(_signed(pem, _claims(iat=now - 3600, exp=now - 120)))


def test_alg_none_is_refused(pem, verifier):
    header = _b64(json.dumps({"alg": "none", "kid": public_jwk(pem)["kid"]}).encode())
    body = _b64(json.dumps(_claims()).encode())
    for token in (f"{header}.{body}.", f"{header}.{body}"):
        with pytest.raises(InvalidToken):
            verifier.verify(token)


def test_hs256_signed_with_the_public_key_as_secret_is_refused(pem, verifier):
    """The classic key-confusion attack: the public key is public, so an HMAC made with
    it must never pass as a signature."""
    jwk = public_jwk(pem)
    header = _b64(json.dumps({"alg": "HS256", "kid": jwk["kid"]}).encode())
    body = _b64(json.dumps(_claims()).encode())
    for secret in (json.dumps(jwk).encode(), base64.urlsafe_b64decode(jwk["x"] + "==")):
        signature = _b64(hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest())
        with pytest.raises(InvalidToken):
            verifier.verify(f"{header}.{body}.{signature}")


def test_unknown_kid_is_refused(verifier):
    stranger = generate_private_key_pem()
    with pytest.raises(InvalidToken):
        verifier.verify(_signed(stranger, _claims()))


def test_tampered_claims_break_the_signature(pem, verifier):
    header, _, signature = _signed(pem, _claims()).split(".")
    forged = _b64(json.dumps(_claims(sub="admin")).encode())
    with pytest.raises(InvalidToken):
        verifier.verify(f"{header}.{forged}.{signature}")


def test_rotated_issuer_serves_the_previous_key_and_both_verify(pem):
    old = TokenIssuer(pem)
    old_token = old.issue("u1", email="a@example.com")
    new = TokenIssuer(generate_private_key_pem(), previous_keys=old.jwks()["keys"])
    kids = [k["kid"] for k in new.jwks()["keys"]]
    assert kids == [new.kid, old.kid]
    verifier = TokenVerifier(new.jwks())
    assert verifier.verify(old_token).subject == "u1"
    assert verifier.verify(new.issue("u2")).subject == "u2"
    assert all("d" not in k for k in new.jwks()["keys"]), "no private part is published"


def test_session_id_travels_in_the_sid_claim(pem, verifier):
    token = TokenIssuer(pem).issue("u1", session_id="s-1")
    assert verifier.verify(token).session_id == "s-1"
