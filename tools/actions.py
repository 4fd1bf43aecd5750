"""The action gate. A WRITE tool only proposes: it stores a pending action with a plain
summary. The action runs when the same verified customer answers "yes" in that conversation
(detected in code by the runner, never on the model's say-so), or when staff approve it if the
store's rules ask for review. Execution is idempotent on a key derived from (customer, order,
items, action), so a retry or a concurrent duplicate can never run it twice."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.edits import OrderEdit
from commerce.models import Address, Resolution, ReturnLine
from errors import BackendError, ToolError
from helpdesk.escalations import open_escalation
from storage import repo
from storage.tables import LIVE_ACTION_STATUSES, ActionStatus, PendingAction
from tools.context import ToolDeps

CONFIRMATION_TTL = timedelta(minutes=30)


def idempotency_key(customer_id: str, order_number: str, action: str, detail: Any) -> str:
    material = json.dumps([customer_id, order_number, action, detail], sort_keys=True, default=str)
    return hashlib.sha256(material.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Proposal:
    kind: str
    order_number: str
    args: dict[str, Any]
    summary: str
    needs_approval: bool
    approval_reason: str | None
    key_detail: Any


async def propose(
    deps: ToolDeps, *, conversation_id: str, customer_id: str, proposal: Proposal
) -> PendingAction:
    """Stores the proposal (or returns the live one with the same key). Earlier proposals in
    this conversation that were never confirmed are declined: one question at a time."""
    key = idempotency_key(customer_id, proposal.order_number, proposal.kind, proposal.key_detail)
    now = deps.clock()
    async with deps.sessions.begin() as session:
        existing = await session.scalar(select(PendingAction).where(PendingAction.live_key == key))
        if existing is not None:
            if existing.conversation_id != conversation_id:
                raise ToolError("This request is already being handled in another conversation.")
            return existing
        await session.execute(
            update(PendingAction)
            .where(
                PendingAction.conversation_id == conversation_id,
                PendingAction.status == ActionStatus.AWAITING_CONFIRMATION,
                PendingAction.idempotency_key != key,
            )
            .values(
                status=ActionStatus.DECLINED, live_key=None, decided_at=now, decided_by="superseded"
            )
        )
        action = PendingAction(
            conversation_id=conversation_id,
            customer_id=customer_id,
            kind=proposal.kind,
            order_number=proposal.order_number,
            args=proposal.args,
            summary=proposal.summary,
            needs_approval=proposal.needs_approval,
            approval_reason=proposal.approval_reason,
            idempotency_key=key,
            live_key=key,
            status=ActionStatus.AWAITING_CONFIRMATION,
            created_at=now,
            expires_at=now + CONFIRMATION_TTL,
        )
        session.add(action)
        try:
            await session.flush()
        except IntegrityError as exc:  # a concurrent twin won the key
            raise ToolError("This request is already waiting for confirmation.") from exc
    return action


async def awaiting_confirmation(
    session: AsyncSession, conversation_id: str
) -> PendingAction | None:
    return await session.scalar(
        select(PendingAction)
        .where(
            PendingAction.conversation_id == conversation_id,
            PendingAction.status == ActionStatus.AWAITING_CONFIRMATION,
        )
        .order_by(PendingAction.created_at.desc())
    )


async def confirmed_by(deps: ToolDeps, message_id: str) -> PendingAction | None:
    """The action this customer message confirmed that is still executing: its turn died
    between the confirmation and the result (a killed worker). The same message sent again
    finishes it."""
    async with deps.sessions() as session:
        return await session.scalar(
            select(PendingAction).where(
                PendingAction.status == ActionStatus.EXECUTING,
                PendingAction.confirmed_by_message == message_id,
            )
        )


async def _transition(
    session: AsyncSession,
    action_id: str,
    *,
    from_: tuple[str, ...],
    to: ActionStatus,
    **values: Any,
) -> bool:
    """Compare-and-set on the status: of two racing deciders exactly one wins."""
    if to not in LIVE_ACTION_STATUSES:
        values["live_key"] = None
    result = await session.execute(
        update(PendingAction)
        .where(PendingAction.id == action_id, PendingAction.status.in_(from_))
        .values(status=to, **values)
    )
    return result.rowcount == 1


async def decline(deps: ToolDeps, action_id: str, *, by: str, status: ActionStatus) -> bool:
    async with deps.sessions.begin() as session:
        return await _transition(
            session,
            action_id,
            from_=(ActionStatus.AWAITING_CONFIRMATION, ActionStatus.AWAITING_APPROVAL),
            to=status,
            decided_by=by,
            decided_at=deps.clock(),
        )


async def confirm(deps: ToolDeps, action: PendingAction, *, message_id: str) -> PendingAction:
    """The customer said yes. Runs the action, or queues it for staff when rules say so."""
    now = deps.clock()
    if now_aware(action.expires_at, now) < now:
        await decline(deps, action.id, by="expiry", status=ActionStatus.EXPIRED)
        return await reload(deps, action.id)
    target = ActionStatus.AWAITING_APPROVAL if action.needs_approval else ActionStatus.EXECUTING
    async with deps.sessions.begin() as session:
        won = await _transition(
            session,
            action.id,
            from_=(ActionStatus.AWAITING_CONFIRMATION,),
            to=target,
            confirmed_by_message=message_id,
            decided_by=f"customer:{action.customer_id}",
            decided_at=now,
        )
        if won and target is ActionStatus.AWAITING_APPROVAL:
            # staff see it in the queue and the helpdesk; the bot keeps the conversation
            await open_escalation(
                session,
                conversation_id=action.conversation_id,
                expected_version=0,
                reason="approval_required",
                model_summary=f"Approve or reject action {action.id}: {action.summary} "
                f"(why: {action.approval_reason}).",
                channel="chat",
                helpdesk=deps.settings.helpdesk,
                handoff=False,
            )
    if won and target is ActionStatus.AWAITING_APPROVAL and deps.on_escalation is not None:
        deps.on_escalation()
    if won and target is ActionStatus.EXECUTING:
        return await execute(deps, action.id)
    return await reload(deps, action.id)


async def approve(deps: ToolDeps, action_id: str, *, staff_id: str) -> PendingAction:
    async with deps.sessions.begin() as session:
        won = await _transition(
            session,
            action_id,
            from_=(ActionStatus.AWAITING_APPROVAL,),
            to=ActionStatus.EXECUTING,
            decided_by=f"staff:{staff_id}",
            decided_at=deps.clock(),
        )
    if not won:
        action = await reload(deps, action_id)
        raise ToolError(f"This action is {action.status.replace('_', ' ')}, not awaiting approval.")
    return await execute(deps, action_id)


async def reload(deps: ToolDeps, action_id: str) -> PendingAction:
    async with deps.sessions() as session:
        action = await session.get(PendingAction, action_id, populate_existing=True)
    if action is None:
        raise ToolError("No such action.")
    return action


async def execute(deps: ToolDeps, action_id: str) -> PendingAction:
    """Runs an EXECUTING action against the store. Safe to call again after a crash: the store
    is idempotent on the key, so a second run returns the first result."""
    action = await reload(deps, action_id)
    if action.status != ActionStatus.EXECUTING:
        return action
    try:
        result = await _apply(deps, action)
    except BackendError as exc:
        if exc.retryable:
            raise
        async with deps.sessions.begin() as session:
            await _transition(
                session,
                action.id,
                from_=(ActionStatus.EXECUTING,),
                to=ActionStatus.FAILED,
                error=str(exc),
            )
    else:
        async with deps.sessions.begin() as session:
            await _transition(
                session,
                action.id,
                from_=(ActionStatus.EXECUTING,),
                to=ActionStatus.EXECUTED,
                result=result,
            )
            await repo.add_audit(
                session,
                conversation_id=action.conversation_id,
                actor=action.decided_by or "",
                tool=f"execute:{action.kind}",
                kind="write",
                args={"action_id": action.id, "order_number": action.order_number},
                ok=True,
                decision="executed",
                result=json.dumps(result, default=str)[:2000],
            )
    return await reload(deps, action.id)


async def _apply(deps: ToolDeps, action: PendingAction) -> dict[str, Any]:
    store, args, key = deps.store, action.args, action.idempotency_key
    if action.kind == "return":
        record = await store.create_return(
            order_number=action.order_number,
            lines=[ReturnLine(**line) for line in args["lines"]],
            reason=args["reason"],
            resolution=Resolution(args["resolution"]),
            refund_amount=Decimal(args["refund_amount"]),
            restocking_fee=Decimal(args["restocking_fee"]),
            idempotency_key=key,
        )
        return {
            "rma": record.rma,
            "instructions": record.instructions,
            "refund_amount": f"{record.refund_amount:.2f}",
            "return_id": record.id,
        }
    if action.kind == "cancel":
        order = await store.cancel_order(
            order_number=action.order_number, reason=args["reason"], idempotency_key=key
        )
        return {"status": order.status.value, "total": f"{order.total:.2f}"}
    if action.kind == "address_change":
        order = await store.update_shipping_address(
            order_number=action.order_number,
            address=Address(**args["address"]),
            idempotency_key=key,
        )
        a = order.shipping_address
        return {"address": f"{a.line1}, {a.city} {a.postal_code}, {a.country}"}
    if action.kind == "order_edit":
        # exactly the stored edits the summary was written from; the store refuses lines that
        # changed since (commerce/edits.py), so a yes never applies to something else
        order = await store.edit_order(
            order_number=action.order_number,
            edits=[OrderEdit.model_validate(e) for e in args["edits"]],
            expected_total=Decimal(args["expected_total"]),
            idempotency_key=key,
        )
        return {
            "total": f"{order.total:.2f}",
            "items": [
                {"sku": i.sku, "quantity": i.quantity, "variant": i.variant_title}
                for i in order.line_items
            ],
            "difference": args["difference"],
            "money": args["money"],
        }
    if action.kind == "default_address":
        customer = await store.update_default_address(
            customer_id=action.customer_id, address=Address(**args["address"]), idempotency_key=key
        )
        a = customer.default_address
        assert a is not None
        return {"address": f"{a.line1}, {a.city} {a.postal_code}, {a.country}"}
    raise ToolError(f"unknown action kind {action.kind!r}")


def now_aware(value: datetime, reference: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=reference.tzinfo)
