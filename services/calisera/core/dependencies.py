"""FastAPI dependencies shared by every service: the platform, settings, a DB session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.platform import Platform
from calisera.core.settings import Settings


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def get_settings(request: Request) -> Settings:
    return get_platform(request).settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session per request; the route owns the transaction (``async with session.begin()``)."""
    async with get_platform(request).db.sessionmaker() as session:
        yield session


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session of :attr:`Database.reader`: for read-only routes that a holder of a
    provider lock waits on (:mod:`calisera.core.locks`); it must never take a lock."""
    async with get_platform(request).db.reader() as session:
        yield session


PlatformDep = Annotated[Platform, Depends(get_platform)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session)]
