import pytest

from calisera.core.auth import Authenticator
from calisera.core.errors import Unauthorized
from calisera.core.tokens import InvalidToken, TokenIssuer, TokenVerifier, generate_private_key_pem


@pytest.fixture(scope="module")
def issuer() -> TokenIssuer:
    return TokenIssuer(generate_private_key_pem())


def test_token_round_trips_subject_and_email(issuer):
    claims = TokenVerifier(issuer.jwks()).verify(issuer.issue("u1", email="a@example.com"))
    assert (claims.subject, claims.email) == ("u1", "a@example.com")


def test_token_signed_by_another_key_is_rejected(issuer):
    other = TokenIssuer(generate_private_key_pem())
    with pytest.raises(InvalidToken):
        TokenVerifier(issuer.jwks()).verify(other.issue("u1"))


def test_expired_token_is_rejected(issuer):
    token = issuer.issue("u1", now=1_000_000, ttl_seconds=60)
    with pytest.raises(InvalidToken):
        TokenVerifier(issuer.jwks()).verify(token, now=1_000_000 + 3600)


def test_admin_token_and_user_token_give_principals(issuer):
    auth = Authenticator("s3cret-admin", TokenVerifier(issuer.jwks()))
    assert auth.authenticate("Bearer s3cret-admin").is_admin
    user = auth.authenticate("Bearer " + issuer.issue("u9", email="Owner@Example.com"))
    assert user.owns("owner@example.com")
    assert not user.owns("someone@example.com")
    assert not auth.authenticate(None).is_authenticated


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer not-a-jwt"])
def test_bad_authorization_header_is_401(issuer, header):
    auth = Authenticator("s3cret-admin", TokenVerifier(issuer.jwks()))
    with pytest.raises(Unauthorized):
        auth.authenticate(header)
