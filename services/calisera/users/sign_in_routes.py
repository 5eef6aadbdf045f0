"""Browser sign-in routes of the users service (OpenID Connect, magic links)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["users"])
