"""The account's own data: ``GET /api/v1/users/me/export`` (JSON, or CSV tables in a
ZIP with ``?format=csv``, see :mod:`calisera.users.export`) and ``DELETE
/api/v1/users/me``, which erases the account here at once and, through the
``account.deleted`` event (:mod:`calisera.users.events`), its providers and their
customers' personal data in every other service."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import sqlalchemy as sa
import structlog
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from calisera.core.auth import CurrentPrincipal
from calisera.core.dependencies import PlatformDep, SessionDep
from calisera.core.errors import NotFound, ServiceUnavailable
from calisera.core.events import new_event
from calisera.core.openapi import problem_responses
from calisera.core.outbox import record_event
from calisera.core.platform import Platform
from calisera.users import accounts, events, export
from calisera.users.models import MagicLink, outbox

log = structlog.get_logger("calisera.users.account")

router = APIRouter(tags=["users"])


def export_state(request: Request) -> export.ExportState:
    platform: Platform = request.app.state.platform
    found = platform.find(export.ExportState)
    if found is None:
        raise ServiceUnavailable("Exports need the providers and bookings services.")
    return found


@router.get(
    "/api/v1/users/me/export",
    responses={
        200: {
            "description": "The export: JSON, or a ZIP of CSV tables",
            "content": {"application/json": {}, "application/zip": {}},
        },
        **problem_responses(404, 503),
    },
)
async def export_my_data(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    platform: PlatformDep,
    state: Annotated[export.ExportState, Depends(export_state)],
    format: Annotated[Literal["json", "csv"], Query(description="json or csv (ZIP)")] = "json",
) -> Response:
    """Everything the signed-in user's account holds: profile, and for each provider they
    own its services, availability and bookings with the customers' details."""
    principal.require_authenticated()
    async with session.begin():
        account = await accounts.account_of(session, principal)
    if account is None:
        raise NotFound("There is no account for this token.")
    token = request.headers["authorization"].partition(" ")[2].strip()
    profile = {
        "id": str(account.id),
        "email": account.email,
        "name": account.name,
        "created_at": account.created_at.isoformat(),
    }
    document = await export.collect(state, token, profile)
    log.info("account_exported", account_id=str(account.id), format=format)
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    headers = {"Cache-Control": "no-store"}
    if format == "csv":
        headers["Content-Disposition"] = f'attachment; filename="calisera-export-{stamp}.zip"'
        return Response(export.as_csv_zip(document), media_type="application/zip", headers=headers)
    headers["Content-Disposition"] = f'attachment; filename="calisera-export-{stamp}.json"'
    return JSONResponse(document, headers=headers)


@router.delete("/api/v1/users/me", status_code=204, responses=problem_responses(404))
async def delete_my_account(principal: CurrentPrincipal, session: SessionDep) -> Response:
    """Delete the signed-in user's account: its sessions end, its identities, passkeys
    and links go now; the providers it owns, with their services, availability,
    bookings and the customers' details, are erased by each service on the
    ``account.deleted`` event (within seconds; the answer does not wait for them)."""
    principal.require_authenticated()
    async with session.begin():
        account = await accounts.account_of(session, principal)
        if account is None:
            raise NotFound("There is no account for this token.")
        data = events.AccountDeletedData(account_id=account.id, email=account.email)
        event = new_event(
            events.ACCOUNT_DELETED,
            data=data,
            source=events.SOURCE,
            aggregate_id=account.id,
            aggregate_version=1,
            provider_id=None,
        )
        await record_event(session, outbox, event)
        await session.execute(
            sa.delete(MagicLink).where(sa.func.lower(MagicLink.email) == account.email.lower())
        )
        await session.delete(account)  # identities, sessions, tokens, passkeys cascade
    log.info("account_deleted", account_id=str(data.account_id))
    return Response(status_code=204)
