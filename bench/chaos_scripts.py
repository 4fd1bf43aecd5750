"""The scripted conversations of bench/chaos.py, and the member of staff who answers the ones
that ask for a person.

- return: a real demo order with one returnable item; the customer answers whatever the
  offline engine asks (email, reason, resolution, the item) and says "yes" to the proposal.
- escalation: "hi", then "I want to talk to a person"; staff claim the conversation and reply
  through the staff API; the customer must receive that reply (pushed, or in the resume
  history) and then says thanks (a message a person's conversation only acknowledges).
- status: "where is my order?", the order number and email, thanks."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx

from bench.chaos_client import HUMAN_OWNERS, Customer, GaveUp, Ledger

CYCLE = ["status", "return", "escalation", "status", "return", "escalation", "status", "return",
         "escalation", "status"]  # fmt: skip
STAFF_ID = "chaos-staff"
MAX_RETURN_TURNS = 8


def plan(count: int, returnable: int) -> list[str]:
    """The kind of each conversation: the fixed cycle (40 % status, 30 % return, 30 %
    escalation), a return beyond the orders that can still be returned becoming a status one."""
    kinds, returns = [], 0
    for i in range(count):
        kind = CYCLE[i % len(CYCLE)]
        if kind == "return":
            if returns >= returnable:
                kind = "status"
            else:
                returns += 1
        kinds.append(kind)
    return kinds


def return_answer(reply: str, order: dict[str, Any], rng: random.Random) -> str | None:
    """What the customer says next in a return, from what the engine just asked."""
    lowered = reply.lower()
    if "shall i go ahead" in lowered:
        return "yes"
    if "email address or postal code" in lowered:
        return str(order["email"])
    if "reason for the return" in lowered:
        return rng.choice(["it's the wrong size", "didn't fit", "changed my mind"])
    if "refund to your original payment method" in lowered:
        return rng.choice(["refund please", "refund to my card please"])
    if "which item" in lowered:
        return str(order["items"][0]["name"])
    return None


class Staff:
    """The staff API as a colleague at the console uses it, retried safely: after a failed
    request the conversation is read back before anything is sent again, so a reply that was
    stored before its worker died is not sent twice."""

    def __init__(self, base: str, token: str, *, deadline_s: float = 300.0) -> None:
        self._client = httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        self._deadline_s = deadline_s
        self.retries = 0

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _conversation(self, conversation_id: str) -> dict[str, Any] | None:
        try:
            response = await self._client.get(f"/api/staff/conversations/{conversation_id}")
        except httpx.TransportError:
            return None
        return response.json() if response.status_code == 200 else None

    async def _post(self, path: str, body: dict[str, Any]) -> httpx.Response | None:
        try:
            response = await self._client.post(path, json=body)
        except httpx.TransportError:
            return None
        return None if response.status_code >= 500 else response

    async def claim(self, conversation_id: str) -> None:
        async def done() -> bool:
            found = await self._conversation(conversation_id)
            return bool(found and found["owner_staff_id"] == STAFF_ID)

        path = f"/api/staff/conversations/{conversation_id}/claim"
        await self._until(lambda: self._post(path, {"staff_id": STAFF_ID}), done)

    async def reply(self, conversation_id: str, text: str) -> None:
        async def done() -> bool:
            found = await self._conversation(conversation_id)
            return bool(found and any(m["text"] == text for m in found["messages"]))

        path = f"/api/staff/conversations/{conversation_id}/reply"
        await self._until(lambda: self._post(path, {"staff_id": STAFF_ID, "text": text}), done)

    async def _until(self, send: Any, done: Any) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._deadline_s
        while loop.time() < deadline:
            response = await send()
            if response is not None and response.status_code == 200:
                return
            if await done():  # it went through before its worker died (or a 409 says so)
                return
            self.retries += 1
            await asyncio.sleep(1.0)
        raise GaveUp("staff API")


async def run_script(
    customer: Customer,
    staff: Staff,
    order: dict[str, Any],
    *,
    pause: tuple[float, float],
) -> None:
    ledger, rng = customer.ledger, customer.rng

    async def say(text: str) -> str | None:
        reply = await customer.say(text)
        await asyncio.sleep(rng.uniform(*pause))  # the customer reads, then types
        return reply

    try:
        if ledger.kind == "return":
            await _return(say, ledger, order, rng)
        elif ledger.kind == "escalation":
            await _escalation(say, customer, staff)
        else:
            ledger.order_number = str(order["number"])
            await say("where is my order?")
            reply = await say(f"{order['number']}, {order['email']}")
            if str(order["number"]) not in (reply or ""):
                ledger.extra["off_script"] = (reply or "")[:200]
            await say(rng.choice(["thanks!", "thank you"]))
        ledger.completed = ledger.error is None
    except GaveUp as exc:
        ledger.error = f"gave up: {exc}"
    finally:
        await customer.drop()


async def _return(say: Any, ledger: Ledger, order: dict[str, Any], rng: random.Random) -> None:
    ledger.order_number = str(order["number"])
    reply = await say(f"Hi, I'd like to return something from order {order['number']}")
    for _ in range(MAX_RETURN_TURNS):
        answer = return_answer(reply or "", order, rng)
        if answer is None:
            break
        ledger.said_yes = ledger.said_yes or answer == "yes"
        reply = await say(answer)
        if answer == "yes":
            break
    if reply and "RMA-" in reply:
        ledger.rma = reply.split("RMA-", 1)[1].split()[0].rstrip(".,")
        ledger.rma = f"RMA-{ledger.rma}"
    elif not ledger.said_yes:
        ledger.error = f"off script: {(reply or '')[:160]!r}"


async def _escalation(say: Any, customer: Customer, staff: Staff) -> None:
    ledger = customer.ledger
    await say("hi")
    await say("I want to talk to a person")
    if ledger.owner not in HUMAN_OWNERS:
        ledger.error = f"not handed over (owner {ledger.owner})"
        return
    assert ledger.conversation_id is not None
    ledger.escalated = True
    text = f"Hello from the team, conversation {ledger.conversation_id[:8]}: we're on it."
    await staff.claim(ledger.conversation_id)
    await staff.reply(ledger.conversation_id, text)
    ledger.staff_text = text
    await customer.await_staff(text)
    await say("thanks, I'll wait for the details")
