"""The link preview card and the page's structured data."""

from __future__ import annotations

import io
import json
import re
import uuid

from PIL import Image

from calisera.web import page_meta
from calisera.web.clients import PublicProvider
from calisera.web.social_card import HEIGHT, WIDTH, Card, render_card


def _provider(**extra: object) -> PublicProvider:
    return PublicProvider.model_validate(
        {
            "id": str(uuid.uuid4()),
            "slug": "studio-aurora",
            "name": "Studio Aurora",
            "timezone": "Europe/Berlin",
            "bio": "Hair and colour in Kreuzberg.",
            "accent_color": "#7c3aed",
            "booking_url": "https://book.example/p/studio-aurora",
            "contact": {"email": "hi@aurora.example", "phone": "+49301234567"},
            "services": [
                {
                    "id": str(uuid.uuid4()),
                    "name": "Haircut",
                    "kind": "simple",
                    "duration_minutes": 45,
                    "price_text": "40 EUR",
                },
            ],
            **extra,
        }
    )


def _pixels(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return image.convert("RGB")


def test_the_card_is_an_open_graph_sized_png_in_the_accent_colour() -> None:
    png = render_card(Card(name="Studio Aurora", accent="#7c3aed", tagline="Hair"))
    image = _pixels(png)
    assert image.size == (WIDTH, HEIGHT) == (1200, 630)
    assert image.getpixel((WIDTH - 5, 5)) == (0x7C, 0x3A, 0xED)
    assert image.getpixel((80 + 80, 80 + 10)) == (255, 255, 255)  # the initial's disc
    assert len(png) < 150_000


def test_text_is_drawn_and_differs_by_name() -> None:
    one = _pixels(render_card(Card(name="Ana", accent="#0f766e")))
    two = _pixels(render_card(Card(name="Zoltan Kovacs", accent="#0f766e")))
    assert one.tobytes() != two.tobytes()
    band = one.crop((80, 300, 600, 380))
    assert len(set(band.tobytes())) > 2  # the name left pixels of its own


def test_hostile_names_still_make_a_card() -> None:
    for name in ("\x00" * 50, "W" * 5_000, "  ", "名前のある店 🌸", "a " * 3_000, "<b>x</b>"):
        image = _pixels(render_card(Card(name=name, accent="#ffff00", tagline=name)))
        assert image.size == (WIDTH, HEIGHT)


def test_the_cards_version_follows_its_content() -> None:
    a = Card("Studio", "#0f766e", "x")
    assert a.version == Card("Studio", "#0f766e", "x").version
    assert a.version != Card("Studio", "#0f766f", "x").version
    assert re.fullmatch(r"[0-9a-f]{12}", a.version)


def test_social_tags_point_at_the_absolute_versioned_card() -> None:
    meta = page_meta.social_meta("https://book.example/", _provider())
    assert meta.url == "https://book.example/p/studio-aurora"
    assert re.fullmatch(
        r"https://book\.example/p/studio-aurora/card\.png\?v=[0-9a-f]{12}", meta.image
    )
    assert meta.description == "Hair and colour in Kreuzberg."


def test_json_ld_is_the_business_and_its_services_and_cannot_close_the_script() -> None:
    provider = _provider(name="Evil </script><script>alert(1)</script>")
    text = str(page_meta.json_ld("https://book.example", provider))
    assert "</script" not in text and "<" not in text
    data = json.loads(text)
    assert data["@type"] == "LocalBusiness" and data["name"].startswith("Evil </script>")
    assert data["telephone"] == "+49301234567" and data["email"] == "hi@aurora.example"
    offer = data["makesOffer"][0]
    assert offer["itemOffered"] == {"@type": "Service", "name": "Haircut"}
    assert offer["description"] == "40 EUR"
