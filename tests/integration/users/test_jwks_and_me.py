async def test_jwks_publishes_the_key_tokens_are_signed_with(client, token_issuer):
    body = (await client.get("/.well-known/jwks.json")).json()
    assert body["keys"][0]["kid"] == token_issuer.kid
    assert body["keys"][0]["kty"] == "OKP"
    assert "d" not in body["keys"][0], "private part must never be published"


async def test_me_reflects_the_bearer(client, auth_headers, admin_headers):
    r = await client.get("/api/v1/users/me", headers=auth_headers("ana@example.com"))
    assert r.status_code == 200
    assert r.json()["email"] == "ana@example.com"
    assert (await client.get("/api/v1/users/me", headers=admin_headers)).json()["kind"] == "admin"


async def test_me_without_credentials_is_401_problem(client):
    r = await client.get("/api/v1/users/me")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_forged_token_is_401(client):
    from calisera.core.tokens import TokenIssuer, generate_private_key_pem

    forged = TokenIssuer(generate_private_key_pem()).issue("x", email="ana@example.com")
    r = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401
