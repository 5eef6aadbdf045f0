"""Customers as analytics knows them: a keyed hash, a zone and a country, never a name.

:func:`customer_key` is what a booking observation keeps of the e-mail (enough to tell
a returning customer, not who they are); :func:`customer_mix` answers the dashboard's
new/returning/where-from questions from those keys.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import phonenumbers

from calisera.analytics.totals import ratio


def customer_key(secret: bytes, email: str) -> str:
    """HMAC-SHA256 of the trimmed, lowercased e-mail: who is returning, never who it is."""
    return hmac.new(secret, email.strip().lower().encode(), hashlib.sha256).hexdigest()


def country_of(phone: str | None) -> str | None:
    """ISO 3166 region of an international phone number (``+44 20 ...`` -> ``GB``)."""
    if not phone:
        return None
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number)
    return region if region and region != "ZZ" else None


@dataclass(frozen=True)
class CustomerBooking:
    customer_key: str
    created_at: datetime
    timezone: str | None = None
    country: str | None = None


@dataclass
class CustomerMix:
    new: int = 0
    returning: int = 0
    repeat_rate: float | None = None
    timezones: dict[str, int] = field(default_factory=dict)
    countries: dict[str, int] = field(default_factory=dict)


def customer_mix(
    bookings: Iterable[CustomerBooking], start: datetime, end: datetime
) -> CustomerMix:
    """Customers who made a booking in ``[start, end)``.

    *New*: their first booking with this provider ever was made in the period;
    *returning*: they had booked before. *Repeat rate*: the share of them with two or
    more bookings made up to ``end``. Time zones and countries count each customer once,
    with the value of their latest booking in the period that states it.
    """
    first: dict[str, datetime] = {}
    total: Counter[str] = Counter()
    in_period: dict[str, list[CustomerBooking]] = {}
    for b in bookings:
        if b.created_at >= end:
            continue
        total[b.customer_key] += 1
        if b.customer_key not in first or b.created_at < first[b.customer_key]:
            first[b.customer_key] = b.created_at
        if b.created_at >= start:
            in_period.setdefault(b.customer_key, []).append(b)
    mix = CustomerMix()
    tzs: Counter[str] = Counter()
    countries: Counter[str] = Counter()
    for key, items in in_period.items():
        if first[key] >= start:
            mix.new += 1
        else:
            mix.returning += 1
        items.sort(key=lambda b: (b.created_at, b.timezone or "", b.country or ""))
        tz = next((b.timezone for b in reversed(items) if b.timezone), None)
        country = next((b.country for b in reversed(items) if b.country), None)
        tzs[tz or "unknown"] += 1
        countries[country or "unknown"] += 1
    customers = mix.new + mix.returning
    mix.repeat_rate = ratio(sum(1 for k in in_period if total[k] >= 2), customers)
    # most customers first, ties by name: the same answer whatever order rows came in
    mix.timezones = dict(sorted(tzs.items(), key=lambda kv: (-kv[1], kv[0])))
    mix.countries = dict(sorted(countries.items(), key=lambda kv: (-kv[1], kv[0])))
    return mix
