"""Uploaded photo and logo: checked and re-encoded with Pillow, stored in PostgreSQL,
served resized with an ETag; only the provider's owner or the admin uploads; hostile
bodies are 4xx problems, never a 500."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.integration.pictures import picture

PROBLEM = "application/problem+json"


@pytest.fixture
async def provider(create_provider, owner_headers):
    return await create_provider(headers=owner_headers)


async def test_an_uploaded_photo_becomes_the_photo_url_and_is_served_resized(
    client, provider, owner_headers
):
    url = f"/api/v1/providers/{provider['id']}/images/photo"
    exif = Image.Exif()
    exif[0x0132] = "2026:12:03 10:00:00"  # metadata a phone adds (and GPS with it)
    r = await client.put(
        url,
        content=picture("JPEG", exif=exif.tobytes()),
        headers={**owner_headers, "Content-Type": "image/jpeg"},
    )
    assert r.status_code == 200, r.text
    photo_url = r.json()["photo_url"]
    assert photo_url.startswith("https://book.example.test" + url + "?v=")
    full = await client.get(url)
    assert full.status_code == 200 and full.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(full.content)) as stored:
        assert stored.size == (1024, 576)  # at most 1024 a side, proportions kept
        assert not stored.getexif()  # metadata stripped
    small = await client.get(url, params={"size": "128"})
    with Image.open(io.BytesIO(small.content)) as thumb:
        assert thumb.size == (128, 72)
    again = await client.get(
        url, params={"size": "128"}, headers={"If-None-Match": small.headers["etag"]}
    )
    assert again.status_code == 304
    assert "max-age" in small.headers["cache-control"]
    # the public page shows it
    public = await client.get(f"/api/v1/providers/by-slug/{provider['slug']}")
    assert public.json()["photo_url"] == photo_url
    # a new upload changes the address (caches keep the old one apart)
    r2 = await client.put(
        url,
        content=picture("PNG", (300, 300)),
        headers={**owner_headers, "Content-Type": "image/png"},
    )
    assert r2.status_code == 200 and r2.json()["photo_url"] != photo_url
    assert (await client.get(url)).headers["content-type"] == "image/png"
    # removed: 404 and the address cleared
    gone = await client.delete(url, headers=owner_headers)
    assert gone.status_code == 204
    assert (await client.get(url)).status_code == 404
    assert (await client.get(f"/api/v1/providers/{provider['id']}", headers=owner_headers)).json()[
        "photo_url"
    ] is None


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"\x00" * 2000, "image/png", 422),
        (b"GIF89a" + b"\x00" * 100, "image/png", 422),
        (picture("GIF"), "image/gif", 415),
        (picture("PNG"), "text/plain", 415),
        (picture("PNG")[:300], "image/png", 422),  # truncated
        (b"", "image/webp", 422),
        (b"\x89PNG" + b"x" * (8 * 1024 * 1024 + 10), "image/png", 413),
    ],
)
async def test_what_is_not_an_image_is_refused_with_a_problem(
    client, provider, owner_headers, content, content_type, status
):
    r = await client.put(
        f"/api/v1/providers/{provider['id']}/images/logo",
        content=content,
        headers={**owner_headers, "Content-Type": content_type},
    )
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM


async def test_a_decompression_bomb_is_refused_before_it_is_decoded(
    client, provider, owner_headers
):
    bomb = picture("PNG", (8000, 6000))  # 48 megapixels, a few hundred kB compressed
    r = await client.put(
        f"/api/v1/providers/{provider['id']}/images/photo",
        content=bomb,
        headers={**owner_headers, "Content-Type": "image/png"},
    )
    assert r.status_code == 422 and "pixels" in r.text


async def test_only_the_owner_uploads(client, provider, auth_headers):
    other = auth_headers("someone-else@example.com")
    url = f"/api/v1/providers/{provider['id']}/images/photo"
    r = await client.put(url, content=picture(), headers={**other, "Content-Type": "image/png"})
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
    anonymous = await client.put(url, content=picture(), headers={"Content-Type": "image/png"})
    assert anonymous.status_code == 401
