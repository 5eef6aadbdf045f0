"""Sealed values: secrets that must travel through events without being readable there.

The booking's manage token is shown once to the customer and stored only as a hash.
The confirmation e-mail must carry it too, so the bookings service puts it in the
``booking.created`` event sealed (AES-256-GCM, key derived by HKDF from the platform
admin token that every service of a deployment shares); the notifications service
unseals it only to render the link and never stores it. The outbox, the broker and the
relay's tables only ever see ciphertext.
"""

from __future__ import annotations

import base64
import functools
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_AAD = b"calisera/sealed/v1"


@functools.lru_cache(maxsize=16)
def _key(secret: str, purpose: str) -> bytes:
    """Derived once per (secret, purpose): every booking seals a token, every customer
    e-mail unseals one, and HKDF was about 1 % of ``up``'s samples."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"calisera/{purpose}".encode()
    ).derive(secret.encode())


def seal(secret: str, purpose: str, plaintext: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_key(secret, purpose)).encrypt(nonce, plaintext.encode(), _AAD)
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(secret: str, purpose: str, sealed: str) -> str | None:
    """The plaintext, or None when ``sealed`` was not sealed with this secret/purpose."""
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
        return AESGCM(_key(secret, purpose)).decrypt(raw[:12], raw[12:], _AAD).decode()
    except (InvalidTag, ValueError):
        return None


MANAGE_TOKEN_PURPOSE = "manage-token"  # noqa: S105 - a label, not a secret
"""Purpose of the sealed ``manage_token_sealed`` field of ``booking.created``."""

WAITLIST_TOKEN_PURPOSE = "waitlist-token"  # noqa: S105 - a label, not a secret
"""Purpose of the sealed ``claim_token_sealed`` field of ``waitlist.offered``."""
