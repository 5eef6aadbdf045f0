from calisera.core.sealing import MANAGE_TOKEN_PURPOSE, seal, unseal


def test_sealed_token_round_trips_and_hides_the_plaintext():
    sealed = seal("admin-secret", MANAGE_TOKEN_PURPOSE, "tok-123")
    assert "tok-123" not in sealed
    assert unseal("admin-secret", MANAGE_TOKEN_PURPOSE, sealed) == "tok-123"


def test_other_secret_purpose_or_tampering_unseals_nothing():
    sealed = seal("admin-secret", MANAGE_TOKEN_PURPOSE, "tok-123")
    assert unseal("other-secret", MANAGE_TOKEN_PURPOSE, sealed) is None
    assert unseal("admin-secret", "other-purpose", sealed) is None
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    assert unseal("admin-secret", MANAGE_TOKEN_PURPOSE, tampered) is None
    assert unseal("admin-secret", MANAGE_TOKEN_PURPOSE, "not base64 at all!") is None


def test_sealing_twice_gives_different_ciphertexts():
    assert seal("s", MANAGE_TOKEN_PURPOSE, "t") != seal("s", MANAGE_TOKEN_PURPOSE, "t")
