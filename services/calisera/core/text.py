"""The one text type of every service's input: bounded, printable, stated in OpenAPI.

PostgreSQL refuses NUL in ``text`` (a 500 if it gets that far), and other C0 control
characters in a name or an e-mail header are at best garbage and at worst header
injection. Every string a client sends is therefore declared with one of these types:

- :func:`SingleLine` — names, titles, labels: no control character at all;
- :func:`MultiLine` — notes, bios, descriptions: tab, newline and carriage return
  allowed, nothing else below U+0020 (nor DEL).

Use them as ``Annotated[str, SingleLine(200, min_length=1)]``. Both strip surrounding
whitespace, carry a ``max_length`` and a ``pattern`` in the JSON
schema (so generated clients and fuzzers know the limits), and fail with a 422 that
names the field (pydantic's location becomes the problem's ``errors[].field``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from annotated_types import GroupedMetadata
from pydantic import BeforeValidator, Field, StringConstraints

_C0 = "".join(chr(c) for c in range(0x20)) + "\x7f"
_MULTILINE_ALLOWED = "\t\n\r"
_SINGLE_FORBIDDEN = frozenset(_C0)
_MULTI_FORBIDDEN = frozenset(c for c in _C0 if c not in _MULTILINE_ALLOWED)

SINGLE_LINE_PATTERN = r"^[^\x00-\x1f\x7f]*$"
MULTI_LINE_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
_VISIBLE = r"[^\x00-\x20\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
"""A character that survives the strip (Unicode White_Space, as pydantic strips) and is
not a control character. ``minLength`` counts before the strip and the server after it,
so ``"  "`` would satisfy the schema and still be refused as empty: the pattern of a
value with a minimum length states the minimum of what is left after the strip."""


def _stripped_at_least(pattern: str, min_length: int) -> str:
    """``^[C]*$`` -> the same characters, with at least ``min_length`` from the first
    visible character to the last (``^[C]*V[C]*$``, or ``^[C]*V[C]{n-2,}V[C]*$``)."""
    allowed = pattern.removeprefix("^").removesuffix("*$")
    if min_length == 1:
        return f"^{allowed}*{_VISIBLE}{allowed}*$"
    return f"^{allowed}*{_VISIBLE}{allowed}{{{min_length - 2},}}{_VISIBLE}{allowed}*$"


def _refuse(forbidden: frozenset[str], what: str) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, str) and any(c in forbidden for c in value):
            raise ValueError(f"must not contain {what}")
        return value

    return check


_check_single = _refuse(_SINGLE_FORBIDDEN, "control characters (NUL, newline, tab...)")
_check_multi = _refuse(_MULTI_FORBIDDEN, "control characters other than tab and newline")


@dataclass(frozen=True)
class _TextRule(GroupedMetadata):
    max_length: int
    min_length: int
    pattern: str
    check: Callable[[str], str]

    def __iter__(self) -> Iterator[object]:
        yield StringConstraints(
            strip_whitespace=True, min_length=self.min_length, max_length=self.max_length
        )
        pattern = (
            _stripped_at_least(self.pattern, self.min_length) if self.min_length else self.pattern
        )
        yield Field(json_schema_extra={"pattern": pattern})
        # Before the strip, as the pattern says: a tab around a name is refused, not trimmed.
        yield BeforeValidator(self.check)


def SingleLine(max_length: int, *, min_length: int = 0) -> _TextRule:
    """``Annotated[str, SingleLine(200)]``: one line of at most ``max_length`` characters."""
    return _TextRule(max_length, min_length, SINGLE_LINE_PATTERN, _check_single)


def MultiLine(max_length: int, *, min_length: int = 0) -> _TextRule:
    """``Annotated[str, MultiLine(5000)]``: tab and newlines allowed, at most ``max_length``."""
    return _TextRule(max_length, min_length, MULTI_LINE_PATTERN, _check_multi)


def refuse_control_characters(value: str, *, multiline: bool = False) -> str:
    """The same rule for values that do not come through pydantic (headers, forms)."""
    check = _check_multi if multiline else _check_single
    result: str = check(value)
    return result
