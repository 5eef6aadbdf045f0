"""Signed links that let the provider answer a request from their e-mail.

The token is an HMAC-SHA256 of the booking id under a key derived (HKDF) from the
platform's admin token, which the bookings and notifications services share (as for
:mod:`calisera.core.sealing`): notifications signs the link, bookings checks it, and
nothing is stored. It names one booking and allows only its two answers, confirm or
decline, which are possible only while the request is pending: once answered (or
expired) the link does nothing more.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"calisera/booking-decision"


def _key(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret.encode())


def decision_token(secret: str, booking_id: uuid.UUID) -> str:
    """The token of ``booking_id``'s confirm/decline link."""
    mac = hmac.new(_key(secret), booking_id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def valid_decision_token(secret: str | None, booking_id: uuid.UUID, token: str | None) -> bool:
    if not secret or not token:
        return False
    return hmac.compare_digest(decision_token(secret, booking_id), token)
