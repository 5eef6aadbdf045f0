"""What a booking page tells machines about itself: Open Graph and Twitter card tags (a
link pasted into a chat or a profile shows a card with the generated preview image,
:mod:`calisera.web.social_card`) and schema.org JSON-LD of the business and its services
(search engines show it as a business that takes bookings).

Only what the page shows is said: the public profile and its bookable services.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from calisera.web import views
from calisera.web.clients import PublicProvider, PublicService
from calisera.web.social_card import HEIGHT, WIDTH, Card

_DESCRIPTION_LIMIT = 200


@dataclass(frozen=True)
class SocialMeta:
    title: str
    description: str
    url: str
    image: str
    image_alt: str
    width: int = WIDTH
    height: int = HEIGHT


def card_of(provider: PublicProvider) -> Card:
    return Card(
        name=provider.name,
        accent=views.accent_color(provider.accent_color),
        tagline=summary(provider),
    )


def summary(provider: PublicProvider) -> str:
    """One line about the provider: the bio, else the welcome text, else the services."""
    text = provider.bio or provider.welcome_text
    if not text:
        names = [s.name for s in provider.bookable_services[:3]]
        text = ", ".join(names) if names else "Book online"
    text = " ".join(text.split())
    return text if len(text) <= _DESCRIPTION_LIMIT else text[: _DESCRIPTION_LIMIT - 1] + "…"


def page_url(public_url: str, provider: PublicProvider) -> str:
    return provider.booking_url or f"{public_url.rstrip('/')}/p/{provider.slug}"


def card_url(public_url: str, provider: PublicProvider) -> str:
    """Absolute (crawlers do not resolve relative ``og:image``), versioned by content."""
    return f"{public_url.rstrip('/')}/p/{provider.slug}/card.png?v={card_of(provider).version}"


def social_meta(
    public_url: str, provider: PublicProvider, service: PublicService | None = None
) -> SocialMeta:
    url = page_url(public_url, provider)
    title = f"Book {provider.name}"
    description = summary(provider)
    if service is not None:
        title = f"{service.name} · {provider.name}"
        description = service.description or description
        url = f"{url}/s/{service.id}"
    return SocialMeta(
        title=title,
        description=" ".join(description.split())[:_DESCRIPTION_LIMIT],
        url=url,
        image=card_url(public_url, provider),
        image_alt=f"{provider.name}: book online",
    )


def _service_ld(service: PublicService) -> dict[str, Any]:
    item: dict[str, Any] = {"@type": "Service", "name": service.name}
    if service.description:
        item["description"] = service.description
    offer: dict[str, Any] = {"@type": "Offer", "itemOffered": item}
    if service.price_text:
        offer["description"] = service.price_text
    if service.kind == "event" and service.starts_at is not None:
        offer["availabilityStarts"] = service.starts_at.isoformat()
    return offer


def json_ld(public_url: str, provider: PublicProvider) -> Markup:
    """The ``<script type="application/ld+json">`` body: a ``LocalBusiness`` that offers
    its bookable services. Escaped so no text can close the script element."""
    business: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "LocalBusiness",
        "name": provider.name,
        "url": page_url(public_url, provider),
        "image": provider.logo_url or provider.photo_url or card_url(public_url, provider),
        "makesOffer": [_service_ld(s) for s in provider.bookable_services],
        "potentialAction": {
            "@type": "ReserveAction",
            "target": page_url(public_url, provider),
        },
    }
    if provider.bio:
        business["description"] = provider.bio
    contact = provider.contact or {}
    if contact.get("email"):
        business["email"] = contact["email"]
    if contact.get("phone"):
        business["telephone"] = contact["phone"]
    text = json.dumps(business, ensure_ascii=False, separators=(",", ":"))
    # "<", ">" and "&" as JSON escapes: "</script>" or "<!--" in a name stays data
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # noqa: S704 - escaped above for a script data block
