"""Inbound helpdesk webhooks: a signed agent reply in Zendesk, Freshdesk or a generic helpdesk
reaches the customer in their conversation. Forged, stale or replayed calls are refused with
401 and change nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from web.deps import ServicesDep
from console.notify import notify_customer
from helpdesk.outbox import ticket_for_external_id
from helpdesk.ownership import OwnershipError, transition
from helpdesk.webhooks import (
    SqlReplayGuard,
    StaffReply,
    WebhookRejected,
    parse_freshdesk,
    parse_generic,
    parse_zendesk,
    verify_freshdesk,
    verify_generic,
    verify_zendesk,
)
from storage import repo
from storage.tables import Escalation, Owner
from web.invalid import BAD_TEXT, raw_json_has_lone_surrogate

router = APIRouter(prefix="/webhooks")


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""


async def _verify_and_parse(
    source: str, request: Request, body: bytes, session: AsyncSession, settings: Any
) -> StaffReply | None:
    headers = dict(request.headers)
    now = datetime.now(UTC)
    guard = SqlReplayGuard(session)
    window = settings.webhook_tolerance_s
    if source == "zendesk":
        await verify_zendesk(
            headers,
            body,
            secret=_secret(settings.zendesk_webhook_secret),
            now=now,
            replay=guard,
            tolerance_s=window,
        )
        own = [settings.zendesk_bot_user_id] if settings.zendesk_bot_user_id else []
        return parse_zendesk(body, own_author_ids=own)
    if source == "freshdesk":
        await verify_freshdesk(
            headers,
            body,
            token=_secret(settings.freshdesk_webhook_token),
            now=now,
            replay=guard,
            tolerance_s=window,
        )
        return parse_freshdesk(body)
    await verify_generic(
        headers,
        body,
        secret=_secret(settings.helpdesk_webhook_secret),
        now=now,
        replay=guard,
        tolerance_s=window,
    )
    return parse_generic(body)


async def _conversation_for(session: AsyncSession, source: str, reply: StaffReply) -> str | None:
    if reply.conversation_id:
        return reply.conversation_id
    if reply.escalation_id:
        escalation = await session.get(Escalation, reply.escalation_id)
        if escalation is not None:
            return escalation.conversation_id
    if reply.external_id:
        ticket = await ticket_for_external_id(
            session, connector=source, external_id=reply.external_id
        )
        if ticket is not None:
            return ticket.conversation_id
    return None


@router.post("/shopify")
async def shopify(request: Request, services: ServicesDep) -> Any:
    """Shopify order and fulfillment webhooks: order events for notifications
    (notifications/shopify.py). A bad signature is 401 and changes nothing."""
    from notifications.shopify import ShopifyRejected, handle

    body = await request.body()
    if len(body) > services.settings.max_webhook_body_bytes:
        raise HTTPException(413, "webhook body too large")
    try:
        async with services.sessions.begin() as session:
            done = await handle(
                session,
                dict(request.headers),
                body,
                secret=_secret(services.settings.shopify_webhook_secret),
                now=services.deps.clock(),
            )
    except ShopifyRejected as exc:
        return JSONResponse({"error": str(exc)}, status_code=401)
    if done.duplicate:
        return JSONResponse({"duplicate": True})
    return {"events": [e.event for e in done.events], "recorded": done.recorded}


@router.post("/{source}")
async def inbound(source: str, request: Request, services: ServicesDep) -> Any:
    if source not in ("zendesk", "freshdesk", "generic"):
        raise HTTPException(404, "unknown webhook source")
    # whole body needed for the signature; web/limits.py stops it at max_webhook_body_bytes
    body = await request.body()
    if len(body) > services.settings.max_webhook_body_bytes:  # free second check
        raise HTTPException(413, "webhook body too large")
    if raw_json_has_lone_surrogate(body):  # refused before it can half-apply a reply
        raise HTTPException(400, BAD_TEXT)
    try:
        async with services.sessions.begin() as session:
            reply = await _verify_and_parse(source, request, body, session, services.settings)
            if reply is None or not reply.public or not reply.body.strip():
                return JSONResponse({"ignored": True})
            conversation_id = await _conversation_for(session, source, reply)
            if conversation_id is None:
                raise HTTPException(404, "no conversation for this ticket")
            if reply.comment_id and not await SqlReplayGuard(session)(
                f"comment:{source}:{reply.comment_id}"
            ):
                return JSONResponse({"duplicate": True})
            conversation = await repo.get_conversation(session, conversation_id)
            if conversation is not None and conversation.owner in (Owner.BOT, Owner.QUEUED):
                # a helpdesk agent answered: the human owns it now, the bot goes quiet
                await transition(
                    session, conversation_id, "claim", staff_id=f"{source}:{reply.author}"[:64]
                )
    except WebhookRejected as exc:
        return JSONResponse({"error": exc.reason}, status_code=401)
    except OwnershipError as exc:
        raise HTTPException(409, str(exc)) from exc
    message_id = await notify_customer(services, conversation_id, reply.body, role="staff")
    return {"relayed": message_id, "conversation_id": conversation_id}
