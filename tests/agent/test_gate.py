"""The confirmation and approval gate end to end: yes / no / change of subject / expiry, staff
approval through the API with the outcome pushed to the customer's socket, concurrency and a
crash between the store write and the reply."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from channels.summary import collect
from server import create_app
from services import build_services
from settings import Settings
from storage.tables import PendingAction
from tests.fakes import NOW, MemoryStore, ScriptedChatModel, calls, says
from tools import actions

RETURN_CALL = {
    "order_number": "#1002",
    "items": [{"item": "Trail Runner", "quantity": 1}],
    "reason": "wrong_size",
    "resolution": "refund",
}


def verify_and_propose(extra: list[Any] | None = None) -> ScriptedChatModel:
    return ScriptedChatModel(
        script=[
            calls("verify_customer", order_number="#1002", email="ada@example.com"),
            calls("start_return", _id="c2", **RETURN_CALL),
            says("Return 1 × Trail Runner for a refund of $89.00. Shall I go ahead?"),
            *(extra or []),
        ]
    )


async def start(services: Any, store: MemoryStore) -> str:
    result = await collect(
        services.runner.run_turn(
            text="return the trail runners from #1002, ada@example.com", channel="test"
        )
    )
    assert [t.name for t in result.tool_calls] == ["verify_customer", "start_return"]
    assert store.returns == []
    return result.conversation_id


async def say(services: Any, conversation_id: str, text: str, client_id: str | None = None) -> Any:
    return await collect(
        services.runner.run_turn(
            text=text, channel="test", conversation_id=conversation_id, client_id=client_id
        )
    )


async def statuses(services: Any) -> list[str]:
    async with services.sessions() as session:
        return list((await session.scalars(select(PendingAction.status))).all())


async def test_yes_executes_once_without_the_model(make_services: Any) -> None:
    store = MemoryStore()
    model = verify_and_propose()
    services = await make_services(store=store, model=model, clock=lambda: NOW)
    cid = await start(services, store)
    done = await say(services, cid, "yes please")
    model.assert_complete()  # the yes was handled in code, not by the model
    assert len(store.returns) == 1 and store.returns[0].rma in done.text
    assert [t.name for t in done.tool_calls] == ["confirm_action"]
    again = await say(services, cid, "yes")  # nothing pending any more: back to the model
    assert len(store.returns) == 1 and "something went wrong" in again.text
    assert await statuses(services) == ["executed"]


@pytest.mark.parametrize("answer", ["no", "no thanks, keep them", "cancel"])
async def test_no_declines(answer: str, make_services: Any) -> None:
    store = MemoryStore()
    services = await make_services(store=store, model=verify_and_propose(), clock=lambda: NOW)
    cid = await start(services, store)
    reply = await say(services, cid, answer)
    assert "haven't changed anything" in reply.text
    assert store.returns == [] and await statuses(services) == ["declined"]


async def test_change_of_subject_declines_and_the_turn_runs(make_services: Any) -> None:
    store = MemoryStore()
    model = verify_and_propose([says("Shipping takes 3-5 days.")])
    services = await make_services(store=store, model=model, clock=lambda: NOW)
    cid = await start(services, store)
    reply = await say(services, cid, "actually, how long does shipping take?")
    model.assert_complete()
    assert reply.text == "Shipping takes 3-5 days."
    assert store.returns == [] and await statuses(services) == ["declined"]


async def test_expired_confirmation_does_nothing(make_services: Any) -> None:
    store = MemoryStore()
    clock = {"now": NOW}
    services = await make_services(
        store=store, model=verify_and_propose(), clock=lambda: clock["now"]
    )
    cid = await start(services, store)
    clock["now"] = NOW + actions.CONFIRMATION_TTL + timedelta(seconds=1)
    reply = await say(services, cid, "yes")
    assert "expired" in reply.text
    assert store.returns == [] and await statuses(services) == ["expired"]


async def test_yes_from_a_different_customer_is_not_a_confirmation(make_services: Any) -> None:
    store = MemoryStore()
    services = await make_services(store=store, model=verify_and_propose(), clock=lambda: NOW)
    cid = await start(services, store)
    async with services.sessions.begin() as session:  # forge: the row names someone else
        action = await session.scalar(select(PendingAction))
        assert action is not None
        action.customer_id = "c2"
    reply = await say(services, cid, "yes")  # goes to the model, whose script is spent
    assert store.returns == [] and "something went wrong" in reply.text


async def test_fifty_concurrent_confirmations_execute_once(make_services: Any) -> None:
    store = MemoryStore()
    services = await make_services(store=store, model=verify_and_propose(), clock=lambda: NOW)
    await start(services, store)
    async with services.sessions() as session:
        action = await session.scalar(select(PendingAction))
    assert action is not None
    results = await asyncio.gather(
        *(actions.confirm(services.deps, action, message_id=f"m{i}") for i in range(50))
    )
    assert len(store.returns) == 1
    # one confirmation ran it; the others saw it executing or done, never a second run
    assert {r.status for r in results} <= {"executed", "executing"}
    assert await statuses(services) == ["executed"]


async def test_fifty_concurrent_duplicate_proposals_leave_one_live_action(
    make_services: Any,
) -> None:
    from tools.actions import Proposal, propose

    store = MemoryStore()
    services = await make_services(store=store, model=verify_and_propose(), clock=lambda: NOW)
    cid = await start(services, store)
    proposal = Proposal(
        kind="cancel",
        order_number="#1003",
        args={"reason": "x"},
        summary="Cancel",
        needs_approval=False,
        approval_reason=None,
        key_detail="cancel",
    )

    async def one() -> str:
        try:
            return (
                await propose(
                    services.deps, conversation_id=cid, customer_id="c1", proposal=proposal
                )
            ).id
        except Exception as exc:  # the losers are told it is already waiting
            return type(exc).__name__

    ids = await asyncio.gather(*(one() for _ in range(50)))
    async with services.sessions() as session:
        live = (
            await session.scalars(
                select(PendingAction).where(
                    PendingAction.kind == "cancel", PendingAction.status == "awaiting_confirmation"
                )
            )
        ).all()
    assert len(live) == 1
    assert set(ids) <= {live[0].id, "ToolError"}


async def test_crash_after_store_write_does_not_duplicate(make_services: Any) -> None:
    store = MemoryStore()
    services = await make_services(store=store, model=verify_and_propose(), clock=lambda: NOW)
    await start(services, store)
    async with services.sessions() as session:
        action = await session.scalar(select(PendingAction))
    assert action is not None
    # the process wrote the store, then died before recording the result
    original = store.create_return

    async def write_then_die(**kwargs: Any) -> Any:
        await original(**kwargs)
        raise SystemExit("killed")

    store.create_return = write_then_die  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        await actions.confirm(services.deps, action, message_id="m1")
    assert await statuses(services) == ["executing"]
    store.create_return = original  # type: ignore[method-assign]
    recovered = await actions.execute(services.deps, action.id)  # the retry
    assert recovered.status == "executed"
    assert len(store.returns) == 1 and recovered.result is not None
    assert recovered.result["rma"] == store.returns[0].rma


@pytest.mark.parametrize("wrote", [True, False], ids=["after-store-write", "before-store-write"])
async def test_worker_killed_in_the_yes_turn_is_finished_by_the_resent_yes(
    make_services: Any, wrote: bool
) -> None:
    """A worker dies inside the "yes" turn, after the action went to executing (found by
    bench/chaos.py). The client sends the same message again (same client_id): that retry
    finishes the action (idempotent on its key) and gets the outcome, instead of the yes
    going to the model while the action stays executing for ever."""
    store = MemoryStore()
    model = verify_and_propose()
    services = await make_services(store=store, model=model, clock=lambda: NOW)
    cid = await start(services, store)
    original = store.create_return

    async def die(**kwargs: Any) -> Any:
        if wrote:
            await original(**kwargs)
        raise SystemExit("killed")

    store.create_return = die  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        await say(services, cid, "yes", client_id="yes-1")
    assert await statuses(services) == ["executing"]
    store.create_return = original  # type: ignore[method-assign]
    retried = await say(services, cid, "yes", client_id="yes-1")
    model.assert_complete()  # settled in code: the model is not asked about the yes
    assert len(store.returns) == 1 and store.returns[0].rma in retried.text
    assert await statuses(services) == ["executed"]
    again = await say(services, cid, "yes", client_id="yes-1")  # a third send: the stored reply
    assert again.text == retried.text and len(store.returns) == 1


@pytest.fixture
def approval_app(
    settings: Settings, embedder: Any, triager: Any
) -> Iterator[tuple[TestClient, MemoryStore]]:
    store = MemoryStore()
    model = ScriptedChatModel(
        script=[
            calls("verify_customer", order_number="#1002", email="ada@example.com"),
            calls("start_return", _id="c2", **{**RETURN_CALL, "reason": "exception"}),
            says("This needs a review. Shall I send it?"),
        ]
    )

    async def build() -> Any:
        return await build_services(
            settings,
            embedder=embedder,
            triager=triager,
            store=store,
            model=model,
            clock=lambda: NOW,
        )

    with TestClient(create_app(settings, build=build)) as client:
        yield client, store


def test_staff_approval_executes_and_tells_the_customer(
    approval_app: tuple[TestClient, MemoryStore],
) -> None:
    client, store = approval_app
    staff = {"Authorization": "Bearer dev-staff-token"}
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "message", "text": "return #1002 ada@example.com"})
        while ws.receive_json()["type"] != "message":
            pass
        ws.send_json({"type": "message", "text": "yes"})
        frames = []
        while not frames or frames[-1]["type"] != "message":
            frames.append(ws.receive_json())
        assert "sent this to our team for review" in frames[-1]["text"]
        assert store.returns == []
        assert client.get("/api/staff/actions").status_code == 401
        assert (
            client.get("/api/staff/actions", headers={"Authorization": "Bearer wrong"}).status_code
            == 401
        )
        queue = client.get("/api/staff/queue", headers=staff).json()
        assert [q["reason"] for q in queue] == ["approval_required"]
        assert queue[0]["owner"] == "bot"  # a ticket for staff, not a handoff
        waiting = client.get("/api/staff/actions?status=awaiting_approval", headers=staff).json()
        assert len(waiting) == 1 and "exception" in waiting[0]["approval_reason"]
        approved = client.post(
            f"/api/staff/actions/{waiting[0]['id']}/approve",
            headers=staff,
            json={"staff_id": "sam"},
        )
        assert approved.status_code == 200 and approved.json()["status"] == "executed"
        pushed = ws.receive_json()  # the outcome arrives on the open socket
        assert pushed["type"] == "message" and pushed["role"] == "system"
        assert "approved" in pushed["text"] and store.returns[0].rma in pushed["text"]
        # decided: the approval entry leaves the open queue, closed, not deleted
        assert client.get("/api/staff/queue", headers=staff).json() == []
        closed = client.get("/api/staff/queue?include_closed=true", headers=staff).json()
        assert [(q["reason"], q["status"]) for q in closed] == [("approval_required", "closed")]
        again = client.post(
            f"/api/staff/actions/{waiting[0]['id']}/approve", headers=staff, json={}
        )
        assert again.status_code == 409
    assert len(store.returns) == 1


def test_staff_rejection_tells_the_customer(
    approval_app: tuple[TestClient, MemoryStore],
) -> None:
    client, store = approval_app
    staff = {"Authorization": "Bearer dev-staff-token"}
    first = client.post("/api/chat", json={"text": "return #1002 ada@example.com"}).json()
    client.post("/api/chat", json={"text": "yes", "conversation_id": first["conversation_id"]})
    action = client.get("/api/staff/actions", headers=staff).json()[0]
    rejected = client.post(
        f"/api/staff/actions/{action['id']}/reject",
        headers=staff,
        json={"note": "Outside our policy, sorry."},
    )
    assert rejected.json()["status"] == "rejected" and store.returns == []
    assert client.get("/api/staff/queue", headers=staff).json() == []
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "resume", "conversation_id": first["conversation_id"]})
        history = ws.receive_json()["messages"]
    assert history[-1]["role"] == "system" and "couldn't approve" in history[-1]["text"]
    assert json.dumps(history).count("Outside our policy") == 1
