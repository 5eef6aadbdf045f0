"""Value types of every service's input, parsed only in the form its JSON schema states.

pydantic's lax mode reads ``0`` as 1970-01-01, ``"0.5"`` as an instant, ``"1"`` as the
integer 1 and ``0`` as false: a request the OpenAPI document calls invalid would be
accepted, and one it calls valid (a zone name such as ``""``) refused, so a client
generated from the document could not trust it (``tests/fuzz`` proves it does). These
types accept exactly what their schema says:

- :data:`Flag` — JSON ``true``/``false`` only;
- :class:`Whole` — JSON integers only, ``5.0`` included
  (``Annotated[int, Whole(ge=..., le=...)]``);
- :data:`IsoDate` — ``YYYY-MM-DD`` (a real calendar date);
- :data:`Instant` — an RFC 3339 date-time with offset (``2027-03-29T09:00:00+02:00``);
- :data:`ZoneName` — an IANA zone of the server's time-zone database, stated as an enum.

Query parameters arrive as text: there ``Whole`` is not needed (FastAPI's ``int``
refuses ``"abc"``), but dates and instants are, because lax parsing reads numbers.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from annotated_types import GroupedMetadata
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, Strict

Flag = Annotated[bool, Strict()]


def _json_integer(value: Any) -> Any:
    """What JSON Schema calls an integer: a number without fraction (``5`` or ``5.0``),
    not ``true`` nor the text ``"5"``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be an integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be an integer")
        return int(value)
    return value


@dataclass(frozen=True)
class Whole(GroupedMetadata):
    """``Annotated[int, Whole(ge=1, le=1440)]``: a JSON integer within the bounds, which
    the schema states as ``minimum``/``maximum`` (the bounds go on the integer before
    the JSON rule wraps it; after it, pydantic would state them as unknown keywords)."""

    ge: int | None = None
    le: int | None = None
    multiple_of: int | None = None

    def __iter__(self) -> Iterator[object]:
        yield Field(ge=self.ge, le=self.le, multiple_of=self.multiple_of)
        yield BeforeValidator(_json_integer)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")


def _iso_date_text(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise ValueError("must be a date YYYY-MM-DD")


def _rfc3339_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _RFC3339.fullmatch(value):
        return value
    raise ValueError("must be an RFC 3339 date-time with offset, e.g. 2027-03-29T09:00:00+02:00")


IsoDate = Annotated[date, BeforeValidator(_iso_date_text)]
Instant = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text)]


@functools.cache
def zone_names() -> tuple[str, ...]:
    """Every zone the server knows, sorted: what :data:`ZoneName` accepts and states."""
    return tuple(sorted(zoneinfo.available_timezones()))


@functools.cache
def _zone_set() -> frozenset[str]:
    return frozenset(zone_names())


def check_zone_name(value: str) -> str:
    if value not in _zone_set():
        raise ValueError(f"unknown IANA time zone {value!r} (e.g. 'Europe/Berlin')")
    return value


def zone_name_schema() -> dict[str, Any]:
    """The JSON schema of a zone name (for parameters documented by hand)."""
    return {"type": "string", "enum": list(zone_names())}


ZoneName = Annotated[
    str,
    Field(json_schema_extra={"enum": list(zone_names())}),
    AfterValidator(check_zone_name),
]
