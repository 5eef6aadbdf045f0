"""QR codes of booking URLs (segno), as SVG or PNG, with a content-derived ETag."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Literal

import segno

QrFormat = Literal["svg", "png"]
MEDIA_TYPES: dict[str, str] = {"svg": "image/svg+xml", "png": "image/png"}
SCALES: dict[str, int] = {"svg": 4, "png": 10}
ERROR_LEVEL = "m"
BORDER = 4


@dataclass(frozen=True)
class QrImage:
    content: bytes
    media_type: str
    etag: str


def make_qr(text: str) -> segno.QRCode:
    """The QR symbol for ``text``: a regular (not micro) code, at least level M."""
    return segno.make(text, error=ERROR_LEVEL, micro=False)


def render_qr(text: str, fmt: QrFormat) -> QrImage:
    buffer = io.BytesIO()
    qr = make_qr(text)
    if fmt == "svg":
        qr.save(buffer, kind="svg", scale=SCALES["svg"], border=BORDER, title=text)
    else:
        qr.save(buffer, kind="png", scale=SCALES["png"], border=BORDER)
    content = buffer.getvalue()
    etag = '"' + hashlib.sha256(fmt.encode() + b"\0" + content).hexdigest()[:32] + '"'
    return QrImage(content=content, media_type=MEDIA_TYPES[fmt], etag=etag)
