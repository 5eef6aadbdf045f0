"""Users-service fixtures: a signed-in session made through the service layer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from calisera.core.app import platform_of
from calisera.users import accounts, sessions


@pytest.fixture
def sign_in(app: object) -> Callable[..., Awaitable[sessions.TokenPair]]:
    """``await sign_in("ana@example.com")`` -> the first tokens of a new session, as a
    magic-link sign-in would give them."""
    platform = platform_of(app)

    async def make(email: str, user_agent: str = "pytest") -> sessions.TokenPair:
        assert platform.token_issuer is not None
        async with platform.db.sessionmaker() as session, session.begin():
            account = await accounts.account_for_verified_email(session, email)
            row = await sessions.open_session(
                session, account, method="magic_link", user_agent=user_agent
            )
            code = await sessions.create_sign_in_code(session, row)
            return await sessions.redeem_sign_in_code(session, platform.token_issuer, code)

    return make
