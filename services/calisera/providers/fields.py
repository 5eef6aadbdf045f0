"""The value types of the providers' request bodies and the rules behind them: slugs,
time zones, phone numbers, e-mails, URLs, locales, colours, grid times, and the text
limits (:mod:`calisera.core.text`). Each states its limits in the JSON schema and fails
with a message that says what is expected."""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Annotated, Any

import phonenumbers
from pydantic import (
    AfterValidator,
    BeforeValidator,
    EmailStr,
    Field,
    HttpUrl,
    StringConstraints,
    WithJsonSchema,
)

from calisera.core.text import MultiLine, SingleLine, refuse_control_characters
from calisera.core.values import Instant, ZoneName, check_zone_name

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$"
"""Lowercase letters, digits and hyphens, 3-63 characters, no hyphen at either end: a
DNS label, so a slug can also become a custom sub-domain."""

RESERVED_SLUGS = frozenset(
    {
        "api", "admin", "auth", "console", "p", "static", "internal", "app", "www",
        "healthz", "readyz", "metrics", "docs", "help", "support", "login", "logout",
        "signup", "register", "account", "settings", "dashboard", "providers", "bookings",
        "availability", "notifications", "analytics", "users", "well-known", "calisera",
        "assets", "public", "status", "about", "terms", "privacy", "new", "null",
        "undefined", "root", "system", "mail", "email",
    }
)  # fmt: skip

MAX_TEXT = 5000


def check_slug(value: str) -> str:
    if len(value) < 3 or len(value) > 63:
        raise ValueError("must be 3 to 63 characters long")
    if value != value.lower():
        raise ValueError("must be lowercase")
    if not re.fullmatch(SLUG_PATTERN, value):
        raise ValueError(
            "may contain only lowercase letters, digits and hyphens, "
            "and may not start or end with a hyphen"
        )
    if value in RESERVED_SLUGS:
        raise ValueError(f"'{value}' is reserved; choose another slug")
    return value


def check_timezone(value: str) -> str:
    return check_zone_name(value)


def check_phone(value: str) -> str:
    """Phone numbers are stored in E.164; input must be international (``+49 ...``)."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("not a phone number; use international format, e.g. +4930123456") from exc
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number; use international format, e.g. +4930123456")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


DATE_PATTERN = (
    r"(?:(?:[1-9]\d{3}|0[1-9]\d{2}|00[1-9]\d|000[1-9])"
    r"-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)"
    r"|02-(?:0[1-9]|1\d|2[0-8]))"
    r"|\d{2}(?:0[48]|[2468][048]|[13579][26])-02-29|(?:0[48]|[2468][048]|[13579][26])00-02-29)"
)
"""A real calendar date, leap years included: any text it matches is a date Python reads."""
GRID_TIME_PATTERN = r"(?:[01]\d|2[0-3]):[0-5][05](?::00)?"
"""A wall-clock time on the 5-minute grid, ``09:05`` or ``09:05:00``, without offset."""


def _matching(pattern: str, expected: str, kind: type) -> Any:
    compiled = re.compile(pattern)

    def check(value: Any) -> Any:
        if isinstance(value, kind) or (isinstance(value, str) and compiled.fullmatch(value)):
            return value
        raise ValueError(expected)

    return check


_grid_time_text = _matching(
    GRID_TIME_PATTERN,
    "must be a wall-clock time on a 5-minute grid without offset, e.g. 09:00",
    time,
)
_local_date_time_text = _matching(
    f"{DATE_PATTERN}T{GRID_TIME_PATTERN}",
    "must be a local date-time on a 5-minute grid without offset, e.g. 2026-12-24T00:00",
    datetime,
)


def check_on_grid(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("must be a wall-clock time without offset, e.g. 09:00")
    if value.second or value.microsecond or value.minute % 5:
        raise ValueError("must be on a 5-minute grid, e.g. 09:00 or 09:05")
    return value


def check_naive_on_grid(value: datetime) -> datetime:
    if value.tzinfo is not None:
        raise ValueError("must be a local date-time without offset, e.g. 2026-12-24T00:00")
    check_on_grid(value.time())
    return value


def check_aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            "must be an RFC 3339 date-time with offset, e.g. 2027-03-29T09:00:00+02:00"
        )
    return value


def _lower(value: str) -> str:
    return value.lower()


def _printable_if_text(value: Any) -> Any:
    """Before a parser that would quietly percent-encode or drop control characters
    (URLs): refuse them, so every string field answers NUL the same way."""
    return refuse_control_characters(value) if isinstance(value, str) else value


def _stated(pattern: str) -> Any:
    return Field(json_schema_extra={"pattern": pattern})


Slug = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, max_length=63),
    _stated(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{1,61}[A-Za-z0-9])$"),
    AfterValidator(check_slug),
]
"""Stored lower-case and stripped: ``" Anna-Coaching "`` is the slug ``anna-coaching``."""
Email = Annotated[
    EmailStr,
    BeforeValidator(lambda v: v.strip() if isinstance(v, str) else v),
    Field(max_length=254),
    AfterValidator(_lower),
]
"""Stored lower-case and stripped (owners are matched by e-mail, case-insensitively)."""
Url = Annotated[HttpUrl, BeforeValidator(_printable_if_text)]
TimeZoneName = ZoneName
Phone = Annotated[str, SingleLine(40), AfterValidator(check_phone)]
_GRID_TIME_SCHEMA = WithJsonSchema(
    {"type": "string", "pattern": f"^{GRID_TIME_PATTERN}$", "example": "09:00"}
)
_LOCAL_DATE_TIME_SCHEMA = WithJsonSchema(
    {
        "type": "string",
        "pattern": f"^{DATE_PATTERN}T{GRID_TIME_PATTERN}$",
        "example": "2026-12-24T00:00",
    }
)
GridTime = Annotated[
    time, BeforeValidator(_grid_time_text), _GRID_TIME_SCHEMA, AfterValidator(check_on_grid)
]
"""Declared by its pattern, not ``format: time`` (RFC 3339 full-time, which needs an offset)."""
LocalDateTime = Annotated[
    datetime,
    BeforeValidator(_local_date_time_text),
    _LOCAL_DATE_TIME_SCHEMA,
    AfterValidator(check_naive_on_grid),
]
"""The provider's wall clock: declared by its pattern (``format: date-time`` needs an offset)."""
AwareDateTime = Annotated[Instant, AfterValidator(check_aware)]
StatedGridTime = Annotated[time, _GRID_TIME_SCHEMA]
"""A stored grid time as answers carry it (``09:00:00``), declared like :data:`GridTime`."""
StatedLocalDateTime = Annotated[datetime, _LOCAL_DATE_TIME_SCHEMA]
"""A stored wall-clock date-time as answers carry it, declared like :data:`LocalDateTime`."""
Name = Annotated[str, SingleLine(200, min_length=1)]
Text = Annotated[str, MultiLine(MAX_TEXT)]
LOCALE_PATTERN = re.compile(r"^[a-z]{2,3}(?:-[A-Z][a-z]{3})?(?:-(?:[A-Z]{2}|[0-9]{3}))?$")
COLOR_PATTERN = re.compile(r"^#[0-9a-fA-F]{6}$")


def check_locale(value: str) -> str:
    if not LOCALE_PATTERN.fullmatch(value):
        raise ValueError("must be a language tag such as 'en', 'de-DE' or 'zh-Hant-TW'")
    return value


def check_color(value: str) -> str:
    if not COLOR_PATTERN.fullmatch(value):
        raise ValueError("must be a hex colour such as '#1a73e8'")
    return value.lower()


Locale = Annotated[
    str,
    StringConstraints(max_length=35),
    _stated(LOCALE_PATTERN.pattern),
    AfterValidator(check_locale),
]
AccentColor = Annotated[
    str,
    StringConstraints(max_length=7),
    _stated(COLOR_PATTERN.pattern),
    AfterValidator(check_color),
]

SERVICE_CATEGORIES: dict[str, str] = {
    "hair": "Hair",
    "barber": "Barber",
    "beauty": "Beauty",
    "nails": "Nails",
    "massage": "Massage",
    "wellness": "Wellness",
    "fitness": "Fitness",
    "yoga": "Yoga",
    "dance": "Dance",
    "coaching": "Coaching",
    "therapy": "Therapy",
    "health": "Health",
    "tutoring": "Tutoring",
    "language-lessons": "Language lessons",
    "music-lessons": "Music lessons",
    "photography": "Photography",
    "consulting": "Consulting",
    "legal": "Legal",
    "finance": "Finance",
    "pets": "Pets",
    "home-services": "Home services",
    "events": "Events",
    "other": "Other",
}
"""The fixed list a listed provider picks its categories from (slug: English label):
fixed so the directory's filter is one indexed array match, not free text."""

LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}$")


def check_category(value: str) -> str:
    if value not in SERVICE_CATEGORIES:
        raise ValueError(f"unknown category; one of: {', '.join(SERVICE_CATEGORIES)}")
    return value


def check_language(value: str) -> str:
    if not LANGUAGE_PATTERN.fullmatch(value):
        raise ValueError("must be an ISO 639 language code such as 'en' or 'de'")
    return value


def _distinct(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


Category = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, max_length=40),
    Field(json_schema_extra={"enum": list(SERVICE_CATEGORIES)}),
    AfterValidator(check_category),
]
Language = Annotated[
    str,
    StringConstraints(to_lower=True, max_length=3),
    _stated("^[A-Za-z]{2,3}$"),
    AfterValidator(check_language),
]
Categories = Annotated[list[Category], Field(max_length=5), AfterValidator(_distinct)]
"""At most five, kept in the order given, repeats dropped."""
Languages = Annotated[list[Language], Field(max_length=10), AfterValidator(_distinct)]
Place = Annotated[str, SingleLine(100, min_length=1)]
"""A city or area as the provider writes it (``Berlin``, ``Kreuzberg``)."""
SearchText = Annotated[str, SingleLine(200)]
