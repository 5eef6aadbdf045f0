"""The provider's uploaded photo and logo: checked, re-encoded, stored, served resized.

An upload is decoded with Pillow before anything is stored: only PNG, JPEG and WebP of
at most :data:`MAX_PIXELS` pixels, whatever the ``Content-Type`` says. It is re-encoded
in its own format at most :data:`STORED_SIDE` pixels a side, turned upright by its EXIF
orientation and stripped of its metadata (a phone photo carries where it was taken).
Sizes are served from that one stored copy, each with an ETag of its content.
"""

from __future__ import annotations

import hashlib
import io
import uuid
import warnings
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.errors import InvalidInput, NotFound, UnsupportedMediaType
from calisera.providers.models import images

ImageKind = Literal["photo", "logo"]
MEDIA_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000
"""A 40-megapixel photo decodes to ~160 MB; more is refused before decoding."""
STORED_SIDE = 1024
SIZES = (64, 128, 256, 512, 1024)


class ImageNotFound(NotFound):
    slug, title = "image-not-found", "No such image"


@dataclass(frozen=True)
class StoredImage:
    media_type: str
    data: bytes
    digest: str


def normalise(raw: bytes, media_type: str) -> StoredImage:
    """The upload as it is stored, or a 415/422 problem naming what is wrong."""
    if media_type not in MEDIA_TYPES:
        raise UnsupportedMediaType("Upload a PNG, JPEG or WebP image (Content-Type image/...).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw), formats=list(MEDIA_TYPES.values())) as opened:
                if opened.width * opened.height > MAX_PIXELS:
                    raise InvalidInput.field("image", f"at most {MAX_PIXELS:,} pixels")
                fmt = opened.format or ""
                image = ImageOps.exif_transpose(opened)
                image.load()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise InvalidInput.field("image", "not a readable PNG, JPEG or WebP image") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidInput.field("image", f"at most {MAX_PIXELS:,} pixels") from exc
    stored_type = next(t for t, f in MEDIA_TYPES.items() if f == fmt)
    image.thumbnail((STORED_SIDE, STORED_SIDE))
    data = _encode(image, fmt)
    return StoredImage(stored_type, data, hashlib.sha256(data).hexdigest()[:32])


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    elif fmt == "WEBP":
        image.save(out, "WEBP", quality=85)
    else:
        image.save(out, "PNG", optimize=True)
    return out.getvalue()


def resized(stored: StoredImage, size: int | None) -> bytes:
    """The stored image at most ``size`` pixels a side (the stored copy itself if it fits)."""
    if size is None:
        return stored.data
    with Image.open(io.BytesIO(stored.data)) as image:
        if max(image.size) <= size:
            return stored.data
        fmt = image.format or "PNG"
        image.thumbnail((size, size))
        return _encode(image, fmt)


async def save(
    session: AsyncSession, provider_id: uuid.UUID, kind: ImageKind, image: StoredImage
) -> None:
    with Image.open(io.BytesIO(image.data)) as decoded:
        width, height = decoded.size
    values = {
        "media_type": image.media_type,
        "data": image.data,
        "width": width,
        "height": height,
        "digest": image.digest,
        "updated_at": sa.func.now(),
    }
    statement = insert(images).values(provider_id=provider_id, kind=kind, **values)
    await session.execute(
        statement.on_conflict_do_update(index_elements=["provider_id", "kind"], set_=values)
    )


async def load(session: AsyncSession, provider_id: uuid.UUID, kind: ImageKind) -> StoredImage:
    row = (
        await session.execute(
            sa.select(images.c.media_type, images.c.data, images.c.digest).where(
                images.c.provider_id == provider_id, images.c.kind == kind
            )
        )
    ).first()
    if row is None:
        raise ImageNotFound()
    return StoredImage(row.media_type, row.data, row.digest)


async def remove(session: AsyncSession, provider_id: uuid.UUID, kind: ImageKind) -> bool:
    result = await session.execute(
        sa.delete(images).where(images.c.provider_id == provider_id, images.c.kind == kind)
    )
    return bool(getattr(result, "rowcount", 0))
