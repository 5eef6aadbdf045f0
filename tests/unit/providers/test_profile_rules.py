"""Field rules of provider profiles and availability (pure pydantic, no database)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from calisera.providers.fields import check_slug
from calisera.providers.schemas import AvailabilityIn, ProviderCreate


@pytest.mark.parametrize("slug", ["abc", "anna-coaching", "a1-b2", "x" * 63, "123"])
def test_good_slugs(slug):
    assert check_slug(slug) == slug


@pytest.mark.parametrize(
    ("slug", "words"),
    [
        ("ab", "3 to 63"),
        ("x" * 64, "3 to 63"),
        ("Anna", "lowercase"),
        ("an_na", "hyphens"),
        ("-anna", "hyphen"),
        ("anna-", "hyphen"),
        ("an na", "hyphens"),
        ("admin", "reserved"),
        ("api", "reserved"),
        ("static", "reserved"),
        ("console", "reserved"),
        ("auth", "reserved"),
    ],
)
def test_bad_slugs(slug, words):
    with pytest.raises(ValueError, match=words):
        check_slug(slug)


def _provider(**kw):
    return {"slug": "studio", "name": "Studio", "timezone": "Europe/Berlin"} | kw


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Argentina/Buenos_Aires", "UTC"])
def test_known_zones(zone):
    assert ProviderCreate.model_validate(_provider(timezone=zone)).timezone == zone


@pytest.mark.parametrize("zone", ["Mars/Base", "europe/berlin", "CEST", "+02:00", ""])
def test_unknown_zones(zone):
    with pytest.raises(ValidationError) as err:
        ProviderCreate.model_validate(_provider(timezone=zone))
    assert err.value.errors()[0]["loc"] == ("timezone",)


def test_phone_is_normalised_to_e164():
    p = ProviderCreate.model_validate(_provider(contact={"phone": "+1 (212) 555-0123"}))
    assert p.contact is not None
    assert p.contact.phone == "+12125550123"


def test_grid_and_offset_rules_on_availability():
    ok = AvailabilityIn.model_validate(
        {"weekly": [{"weekday": 0, "start": "09:05", "end": "17:55"}]}
    )
    assert ok.weekly[0].start.minute == 5
    with pytest.raises(ValidationError) as err:
        AvailabilityIn.model_validate(
            {"time_off": [{"start": "2026-12-24T00:00Z", "end": "2026-12-25T00:00"}]}
        )
    assert err.value.errors()[0]["loc"] == ("time_off", 0, "start")


@pytest.mark.parametrize("locale", ["en", "de-DE", "zh-Hant-TW", "es-419"])
def test_good_locales(locale):
    assert ProviderCreate.model_validate(_provider(locale=locale)).locale == locale


@pytest.mark.parametrize("locale", ["english", "en_US", "EN", "de-de"])
def test_bad_locales_say_what_is_expected(locale):
    with pytest.raises(ValidationError, match="language tag"):
        ProviderCreate.model_validate(_provider(locale=locale))


def test_accent_colour_is_lower_cased_and_explained():
    p = ProviderCreate.model_validate(_provider(booking_page={"accent_color": "#AA33FF"}))
    assert p.booking_page is not None
    assert p.booking_page.accent_color == "#aa33ff"
    with pytest.raises(ValidationError, match="hex colour"):
        ProviderCreate.model_validate(_provider(booking_page={"accent_color": "blue"}))
