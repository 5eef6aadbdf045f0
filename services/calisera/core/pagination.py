"""The one cursor helper of every list: keyset positions in opaque cursors.

Lists are ordered by a sort key and the row id (``created_at, id``; ``start_at, id``),
and a page ends where the next begins: the cursor is the last row's position, so a row
inserted or removed meanwhile neither repeats nor skips the rest (an offset would).
The cursor is base64url JSON without padding; clients must treat it as opaque, and one
that was not returned by the list (or was edited) is a 422 naming the field.

A list route declares ``limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None`` (their
bounds are stated in OpenAPI) and answers ``Page[Item]``; its query uses
:func:`after_cursor` and :func:`page_of`.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar, overload

import sqlalchemy as sa
from fastapi import Query
from pydantic import AwareDatetime, BaseModel, TypeAdapter, ValidationError
from pydantic_core import to_jsonable_python

from calisera.core.errors import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_CURSOR_LENGTH = 500
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"

Limit = Annotated[
    int,
    Query(ge=1, le=MAX_LIMIT, description=f"Items per page, 1-{MAX_LIMIT}."),
]
Cursor = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=MAX_CURSOR_LENGTH,
        pattern=CURSOR_PATTERN,
        description="The `next_cursor` of the previous page (opaque); omit for the first.",
    ),
]

Position = tuple[AwareDatetime, uuid.UUID]
"""The usual keyset position: an aware sort time and the row id."""

T = TypeVar("T")
P = TypeVar("P")
R = TypeVar("R")


class Page(BaseModel, Generic[T]):
    """One page of a list; ``next_cursor`` is null on the last page."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(*position: Any) -> str:
    """The opaque cursor of a keyset position (datetimes, UUIDs, numbers, strings)."""
    raw = json.dumps(to_jsonable_python(position), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(shape: Any) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(shape)
    if adapter is None:
        adapter = _ADAPTERS[shape] = TypeAdapter(shape)
    return adapter


@overload
def decode_cursor(value: str, *, field: str = "cursor") -> Position: ...


@overload
def decode_cursor(value: str, shape: type[P], *, field: str = "cursor") -> P: ...


def decode_cursor(value: str, shape: Any = Position, *, field: str = "cursor") -> Any:
    """The position a cursor holds, validated as ``shape`` (default :data:`Position`).

    Raises a 422 :class:`InvalidInput` naming ``field`` for anything :func:`encode_cursor`
    did not produce for that shape.
    """
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        return _adapter(shape).validate_json(raw)
    except (ValueError, TypeError, binascii.Error, ValidationError) as exc:
        raise InvalidInput.field(field, "not a cursor this list returned") from exc


def after_cursor(
    columns: Sequence[Any],
    cursor: str | None,
    *,
    shape: Any = Position,
    descending: bool = False,
    field: str = "cursor",
) -> sa.ColumnElement[bool]:
    """The condition "after the cursor's position" over the list's order ``columns``
    (``true`` without a cursor); ``descending`` for lists ordered newest first."""
    if not cursor:
        return sa.true()
    position = tuple(decode_cursor(cursor, shape, field=field))
    key = sa.tuple_(*columns)
    return key < position if descending else key > position


def page_of(
    rows: Sequence[R], limit: int, position: Callable[[R], tuple[Any, ...]]
) -> tuple[list[R], str | None]:
    """The page out of ``limit + 1`` fetched rows, and the cursor of the next if any."""
    items = list(rows[:limit])
    if len(rows) <= limit or not items:
        return items, None
    return items, encode_cursor(*position(items[-1]))
