"""Conditional GET (RFC 9110 §13.1.2): does ``If-None-Match`` name the current ETag?"""

from __future__ import annotations


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """True for ``*`` or any listed tag equal to ``etag`` (weak comparison: ``W/`` off)."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag.removeprefix("W/") in tags
