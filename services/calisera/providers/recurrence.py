"""Validating a class's recurrence rule (RFC 5545 RRULE) before it is stored.

The rule is parsed with python-dateutil, with ``starts_on`` + ``start_time`` as DTSTART.
Accepted rules are the ones a person means when they say "every Tuesday and Thursday",
"every other week", "the first Monday of the month": FREQ of DAILY or coarser, and only
the parts below. That restriction is also what makes every accepted rule cheap to
expand: dateutil walks period by period until a date matches, so a rule that can never
match (``BYMONTH=2;BYMONTHDAY=30``) would otherwise spin through the years up to 9999
(seconds of CPU per request). Such rules are refused statically here.

``UNTIL`` inside the rule is moved to the ``until`` field (a date in the provider's wall
clock); when both are given and disagree, the rule is refused.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from dateutil.rrule import rrule, rrulestr

from calisera.core.errors import FieldError

MAX_OCCURRENCES_PER_YEAR = 366
EARLIEST_YEAR, LATEST_YEAR = 2000, 2200
ALLOWED_FREQ = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
ALLOWED_PARTS = frozenset(
    {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST"}
)
_DAYS_IN_MONTH = {
    1: 31,
    2: 29,
    3: 31,
    4: 30,
    5: 31,
    6: 30,
    7: 31,
    8: 31,
    9: 30,
    10: 31,
    11: 30,
    12: 31,
}
_ORDINAL_DAY = re.compile(r"^[+-]?\d+[A-Z]{2}$")


@dataclass(frozen=True)
class NormalizedRecurrence:
    rrule: str
    until: date | None


class InvalidRecurrence(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.error = FieldError(field, message)


def _fail(field: str, message: str) -> InvalidRecurrence:
    return InvalidRecurrence(f"recurrence.{field}", message)


def _parts(text: str) -> dict[str, str]:
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    if "\n" in body or "\r" in body:
        raise _fail("rrule", "must be a single RRULE (no DTSTART, EXDATE or RDATE lines)")
    parts: dict[str, str] = {}
    for chunk in body.split(";"):
        if not chunk:
            continue
        key, sep, value = chunk.partition("=")
        key = key.strip().upper()
        if not sep or not value.strip():
            raise _fail("rrule", f"'{chunk}' is not NAME=VALUE")
        if key == "DTSTART":
            raise _fail("rrule", "DTSTART is not allowed; use starts_on and start_time")
        if key in parts:
            raise _fail("rrule", f"{key} is given twice")
        parts[key] = value.strip().upper()
    return parts


def _ints(value: str, field: str) -> list[int]:
    try:
        return [int(v) for v in value.split(",")]
    except ValueError as exc:
        raise _fail("rrule", f"{field} must be a list of integers") from exc


def _check_parts(parts: dict[str, str]) -> None:
    freq = parts.get("FREQ")
    if freq is None:
        raise _fail("rrule", "FREQ is required, e.g. FREQ=WEEKLY;BYDAY=TU,TH")
    if freq not in ALLOWED_FREQ:
        raise _fail(
            "rrule", f"FREQ must be one of {', '.join(ALLOWED_FREQ)} (not finer than DAILY)"
        )
    unknown = sorted(set(parts) - ALLOWED_PARTS)
    if unknown:
        raise _fail(
            "rrule",
            f"{', '.join(unknown)} not supported; allowed: {', '.join(sorted(ALLOWED_PARTS))}",
        )
    if "INTERVAL" in parts:
        (interval,) = _ints(parts["INTERVAL"], "INTERVAL")[:1] or [0]
        if not 1 <= interval <= 99:
            raise _fail("rrule", "INTERVAL must be between 1 and 99")
    if "COUNT" in parts:
        (count,) = _ints(parts["COUNT"], "COUNT")[:1] or [0]
        if not 1 <= count <= 10_000:
            raise _fail("rrule", "COUNT must be between 1 and 10000")
        if "UNTIL" in parts:
            raise _fail("rrule", "COUNT and UNTIL cannot both be given")
    byday = parts.get("BYDAY", "")
    ordinal_days = [d for d in byday.split(",") if d and _ORDINAL_DAY.match(d)]
    if ordinal_days and freq not in ("MONTHLY", "YEARLY"):
        raise _fail("rrule", "BYDAY with a position (e.g. 1MO) needs FREQ=MONTHLY or YEARLY")
    monthdays = _ints(parts["BYMONTHDAY"], "BYMONTHDAY") if "BYMONTHDAY" in parts else []
    months = _ints(parts["BYMONTH"], "BYMONTH") if "BYMONTH" in parts else list(range(1, 13))
    if any(not 1 <= m <= 12 for m in months):
        raise _fail("rrule", "BYMONTH values must be 1 to 12")
    if monthdays:
        if freq == "WEEKLY":
            raise _fail("rrule", "BYMONTHDAY cannot be used with FREQ=WEEKLY (RFC 5545)")
        if any(d == 0 or abs(d) > 31 for d in monthdays):
            raise _fail("rrule", "BYMONTHDAY values must be 1 to 31 or -31 to -1")
        if ordinal_days:
            raise _fail("rrule", "BYMONTHDAY cannot be combined with a positioned BYDAY")
        if not any(abs(d) <= _DAYS_IN_MONTH[m] for m in months for d in monthdays):
            raise _fail("rrule", "the rule never occurs: no BYMONTH has such a BYMONTHDAY")
    if "BYSETPOS" in parts:
        positions = _ints(parts["BYSETPOS"], "BYSETPOS")
        if freq != "MONTHLY" or not byday or monthdays or ordinal_days:
            raise _fail("rrule", "BYSETPOS is only supported with FREQ=MONTHLY and plain BYDAY")
        if any(p == 0 or abs(p) > 4 for p in positions):
            raise _fail("rrule", "BYSETPOS values must be 1 to 4 or -4 to -1")


def _until_from_rule(value: str) -> date:
    try:
        return date(int(value[0:4]), int(value[4:6]), int(value[6:8]))
    except ValueError as exc:
        raise _fail("rrule", "UNTIL must be a date like 20270630") from exc


def normalize_recurrence(
    rule_text: str, start_time: time, starts_on: date, until: date | None
) -> NormalizedRecurrence:
    """Check a class's rule; return it in canonical form (upper case, no UNTIL).

    Raises :class:`InvalidRecurrence` naming the field at fault.
    """
    if not EARLIEST_YEAR <= starts_on.year <= LATEST_YEAR:
        raise _fail("starts_on", f"must be between {EARLIEST_YEAR} and {LATEST_YEAR}")
    if until is not None and until.year > LATEST_YEAR:
        raise _fail("until", f"must be before {LATEST_YEAR + 1}")
    parts = _parts(rule_text)
    _check_parts(parts)
    if "UNTIL" in parts:
        rule_until = _until_from_rule(parts.pop("UNTIL"))
        if until is not None and until != rule_until:
            raise _fail("until", f"conflicts with UNTIL={rule_until:%Y%m%d} in the rule")
        until = rule_until
    if until is not None and until < starts_on:
        raise _fail("until", "must not be before starts_on")
    canonical = ";".join(f"{k}={v}" for k, v in parts.items())
    dtstart = datetime.combine(starts_on, start_time)
    try:
        parsed = rrulestr(canonical, dtstart=dtstart)
    except (ValueError, TypeError, KeyError) as exc:
        raise _fail("rrule", f"not a valid RRULE: {exc}") from exc
    if not isinstance(parsed, rrule):
        raise _fail("rrule", "must be a single RRULE")
    last = datetime.combine(until, start_time) if until else None
    if last is not None:
        parsed = parsed.replace(until=last) if "COUNT" not in parts else parsed
    year_end = dtstart + timedelta(days=366)
    first_year = list(
        itertools.islice(
            itertools.takewhile(lambda o: o < year_end, parsed), MAX_OCCURRENCES_PER_YEAR + 1
        )
    )
    if len(first_year) > MAX_OCCURRENCES_PER_YEAR:
        raise _fail("rrule", f"more than {MAX_OCCURRENCES_PER_YEAR} occurrences a year")
    if not first_year:
        raise _fail("rrule", "the rule has no occurrence in its first year")
    return NormalizedRecurrence(rrule=canonical, until=until)
