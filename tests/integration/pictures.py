"""Pictures for the image tests: real PNG/JPEG/WebP bytes made with Pillow."""

from __future__ import annotations

import io

from PIL import Image


def picture(fmt: str = "PNG", size: tuple[int, int] = (1600, 900), **save: object) -> bytes:
    """A one-colour picture of ``size`` encoded as ``fmt`` (Pillow's format name)."""
    out = io.BytesIO()
    Image.new("RGB", size, (180, 83, 9)).save(out, fmt, **save)
    return out.getvalue()
