"""Wall clock to instants and back, on integer minutes since the Unix epoch (UTC).

The engine works on instants as ``int`` minutes ("epoch minutes"): comparing, sorting
and bisecting integers is what keeps a 62-day computation under a couple of
milliseconds. Wall-clock values are ``(date, minute of day)`` in a zone.

Daylight-saving time, decided once here and used everywhere:

- A wall-clock time that does not exist (the hour skipped when clocks go forward)
  resolves to **no** instant: a slot or class occurrence at that time is skipped,
  never shifted to a later hour (:func:`wall_instants` returns ``()``).
- A wall-clock time that happens twice (the hour repeated when clocks go back)
  resolves to **both** instants, earliest first. Callers decide: slot grids offer
  both passes (then keep them a slot interval apart in real time, so nothing is
  duplicated or overlapping); a class occurrence takes the first pass only.
- The *boundaries* of a wall-clock range (availability ``09:00-17:00``, time off)
  resolve to the widest instant range whose wall clock lies inside: a start takes
  its earliest instant, an end its latest; a boundary inside a gap resolves to the
  instant of the transition (the first instant after the gap).

Offsets of whole minutes are assumed (true of every zone since 1972; historical
local-mean-time offsets with seconds are truncated).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUTES_PER_DAY = 1440
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_WALL_EPOCH = datetime(1970, 1, 1, tzinfo=UTC).replace(tzinfo=None)  # naive: wall clock


class UnknownZone(ValueError):
    """The name is not an IANA time zone known to this machine's tz database."""


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (``UnknownZone`` when it does not exist)."""
    if not name or name != name.strip() or name.startswith("/") or ".." in name:
        raise UnknownZone(name)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise UnknownZone(name) from exc


def day_number(d: date) -> int:
    """Days since 1970-01-01."""
    return d.toordinal() - _EPOCH_ORDINAL


def date_of_day_number(n: int) -> date:
    return date.fromordinal(n + _EPOCH_ORDINAL)


def to_minutes(instant: datetime) -> int:
    """Epoch minutes of an aware datetime, rounded down to the minute."""
    return int(instant.timestamp()) // 60


def offset_at(tz: ZoneInfo, minute: int) -> int:
    """UTC offset (minutes) of ``tz`` at the instant ``minute``."""
    off = datetime.fromtimestamp(minute * 60, tz).utcoffset()
    assert off is not None
    return int(off.total_seconds()) // 60


def local_day_and_minute(tz: ZoneInfo, minute: int) -> tuple[int, int]:
    """(day number, minute of day) on the wall clock of ``tz`` at the instant ``minute``."""
    wall = minute + offset_at(tz, minute)
    return wall // MINUTES_PER_DAY, wall % MINUTES_PER_DAY


def _offsets(tz: ZoneInfo, wall: datetime) -> tuple[int, int]:
    o0 = tz.utcoffset(wall)
    o1 = tz.utcoffset(wall.replace(fold=1))
    assert o0 is not None and o1 is not None
    return int(o0.total_seconds()) // 60, int(o1.total_seconds()) // 60


def _wall_datetime(day: int, minute_of_day: int) -> tuple[datetime, int]:
    """Naive wall datetime of (day, minute) plus its "wall epoch minute"."""
    wall_minute = day * MINUTES_PER_DAY + minute_of_day
    return _WALL_EPOCH + timedelta(minutes=wall_minute), wall_minute


def wall_instants(tz: ZoneInfo, day: int, minute_of_day: int) -> tuple[int, ...]:
    """Every instant whose wall clock in ``tz`` reads ``minute_of_day`` on ``day``.

    One instant normally, none in a gap, two (earliest first) in a repeated hour.
    ``minute_of_day`` may be 1440 (midnight ending the day).
    """
    wall, wall_minute = _wall_datetime(day, minute_of_day)
    o0, o1 = _offsets(tz, wall)
    if o0 == o1:
        return (wall_minute - o0,)
    found = sorted(
        {u for u in (wall_minute - o0, wall_minute - o1) if u + offset_at(tz, u) == wall_minute}
    )
    return tuple(found)


def _transition_in(tz: ZoneInfo, lo: int, hi: int) -> int:
    """First instant in ``(lo, hi]`` whose offset differs from the offset at ``lo``."""
    base = offset_at(tz, lo)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if offset_at(tz, mid) == base:
            lo = mid
        else:
            hi = mid
    return hi


def boundary_instant(tz: ZoneInfo, day: int, minute_of_day: int, *, is_end: bool) -> int:
    """The instant a wall-clock range boundary stands for (see the module docstring)."""
    found = wall_instants(tz, day, minute_of_day)
    if found:
        return found[-1] if is_end else found[0]
    wall, wall_minute = _wall_datetime(day, minute_of_day)
    o0, o1 = _offsets(tz, wall)
    a, b = sorted((wall_minute - o0, wall_minute - o1))
    return _transition_in(tz, a, b)


def wall_range_instants(tz: ZoneInfo, day: int, start: int, end: int) -> list[tuple[int, int]]:
    """The instants whose wall clock in ``tz`` reads ``[start, end)`` (minutes of day,
    ``end`` up to 1440) on ``day``, as ascending disjoint ``[lo, hi)`` ranges.

    One range on ordinary days. When clocks go back inside the range, the instants
    form one range; when the range ends inside the repeated hour, two (the first pass
    up to the end time, then the second pass): a 01:00-02:30 rule on a night repeating
    02:00-03:00 covers 01:00-02:30 and, again, 02:00-02:30 of the second pass.
    """
    day_lo = boundary_instant(tz, day, 0, is_end=False)
    day_hi = boundary_instant(tz, day + 1, 0, is_end=False)
    if day_hi <= day_lo:
        return []
    first = offset_at(tz, day_lo)
    last = offset_at(tz, day_hi - 1)
    if first == last:
        pieces = [(day_lo, day_hi, first)]
    else:
        cut = _transition_in(tz, day_lo, day_hi - 1)
        pieces = [(day_lo, cut, first), (cut, day_hi, last)]
    wall0 = day * MINUTES_PER_DAY
    out: list[tuple[int, int]] = []
    for lo, hi, offset in pieces:
        a = max(lo, wall0 + start - offset)
        b = min(hi, wall0 + end - offset)
        if a < b:
            if out and a <= out[-1][1]:
                out[-1] = (out[-1][0], max(b, out[-1][1]))
            else:
                out.append((a, b))
    return out


def naive_boundary(tz: ZoneInfo, wall: datetime, *, is_end: bool) -> int:
    """:func:`boundary_instant` for a naive wall datetime (time off)."""
    d = wall.date()
    minute = wall.hour * 60 + wall.minute
    return boundary_instant(tz, day_number(d), minute, is_end=is_end)


@lru_cache(maxsize=65536)
def uniform_offset(tz: ZoneInfo, day: int) -> int | None:
    """The UTC offset of ``tz`` throughout wall day ``day`` (midnight to midnight), or
    None when a transition falls inside it (the slow, exact path is then needed).

    Memoized: a pure function of the zone and the day, asked for every day of every
    computation. (A zone with two transitions inside one day would be missed; no zone
    in the tz database has one.)"""
    start, _ = _wall_datetime(day, 0)
    end, _ = _wall_datetime(day + 1, 0)
    a0, a1 = _offsets(tz, start)
    b0, b1 = _offsets(tz, end)
    if a0 == a1 == b0 == b1:
        return a0
    return None


@lru_cache(maxsize=256)
def fixed_offset(minutes: int) -> timezone:
    """A fixed-offset tzinfo (``+05:30``) for output datetimes."""
    return UTC if minutes == 0 else timezone(timedelta(minutes=minutes))
