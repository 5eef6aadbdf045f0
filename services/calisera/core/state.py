"""Typed per-service state as a FastAPI dependency.

A service declares ``XState`` (a dataclass of its clients, caches...), builds it in its
lifespan with ``platform.provide(XState(...))`` and gives routes
``XStateDep = Annotated[XState, Depends(state_dependency(XState))]``; tests override
the dependency instead of patching modules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from starlette.requests import Request

from calisera.core.platform import Platform

T = TypeVar("T")


def state_dependency(cls: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency returning this process's ``cls`` state object."""

    async def dependency(request: Request) -> T:
        platform: Platform = request.app.state.platform
        return platform.get(cls)

    dependency.__name__ = f"{cls.__name__[0].lower()}{cls.__name__[1:]}"
    return dependency
