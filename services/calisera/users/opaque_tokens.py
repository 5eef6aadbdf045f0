"""Opaque secrets handed to people and programs (refresh tokens, sign-in codes, magic
links, OIDC states): 256 random bits, URL-safe, stored only as their SHA-256."""

from __future__ import annotations

import hashlib
import secrets


def new_opaque_token() -> tuple[str, bytes]:
    """A fresh token and the digest to store for it."""
    token = secrets.token_urlsafe(32)
    return token, digest(token)


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
