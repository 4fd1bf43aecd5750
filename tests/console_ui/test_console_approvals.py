"""Approvals in the staff console, in real headless Chromium against the real server: a damaged
return over the review limit proposed in the widget, approved (with a saved reply filled in from
the conversation) or rejected with a note, and the customer told either way."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from settings import Settings
from storage.tables import Message, PendingAction
from tests.console_ui.conftest import BEARER, Member
from tests.widget.test_widget_browser import STORAGE_KEY, ask, open_chat
from tests.widget.test_widget_e2e import rows

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("escalations_uncapped")]


REPLY_TIMEOUT_MS = 60_000  # the offline engine answers on CPU


def _approval_order(settings: Settings, nth: int = 0) -> Any:
    """A fresh delivered demo order with an item worth over the damaged-review limit ($100)
    and under the auto-approve limit, that has not been returned: the `nth` such order of a
    customer not seen before in the list."""
    import asyncio
    from datetime import UTC, datetime, timedelta

    from commerce.demo.store import DemoStore
    from commerce.models import OrderStatus

    async def find() -> Any:
        store = DemoStore.open(settings.demo_store_path)
        try:
            recent = datetime.now(UTC) - timedelta(days=20)
            seen: set[str] = set()
            for order in await store.list_orders(status=OrderStatus.DELIVERED, limit=500):
                if order.delivered_at is None or order.delivered_at < recent:
                    continue
                for item in order.line_items:
                    if (not item.final_sale and item.returned_quantity == 0
                            and item.category != "gift cards" and item.quantity == 1
                            and 110 < item.unit_price < 240 and len(order.line_items) == 1
                            and order.customer_id not in seen):
                        if len(seen) == nth:
                            return order
                        seen.add(order.customer_id)
            raise AssertionError("the demo store has no fresh single-item order over $110")
        finally:
            await store.close()

    return asyncio.run(find())


def order_customer_first_name(settings: Settings, order: Any) -> str:
    import asyncio

    from commerce.demo.store import DemoStore

    async def read() -> str:
        store = DemoStore.open(settings.demo_store_path)
        try:
            customer = await store.get_customer(order.customer_id)
            assert customer is not None
            return customer.first_name
        finally:
            await store.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read()).result()


def propose_damaged_return(customer: Page, order: Any) -> None:
    """Walks the widget's return dialogue for a damaged item until the customer says Yes."""
    reply = ask(customer, f"I want to return order {order.number}, {order.email}")
    for _ in range(8):
        text = reply.locator(".body").inner_text()
        if "Shall I go ahead" in text:
            break
        if "reason" in text.lower() or "why" in text.lower():
            reply = ask(customer, "it arrived damaged, the seam is torn")
        elif "store credit" in text or "refund" in text.lower():
            reply = ask(customer, "a refund please")
        elif "Which item" in text:
            reply = ask(customer, f"the {order.line_items[0].name}")
        else:
            raise AssertionError(f"unexpected question: {text}")
    answers = customer.locator("support-chat .log .msg.assistant")
    before = answers.count()
    customer.locator("support-chat .quick button").first.click()
    expect(customer.locator("support-chat .msg.customer .body").last).to_have_text("Yes")
    expect(answers).to_have_count(before + 1, timeout=REPLY_TIMEOUT_MS)


def test_approve_a_pending_return_and_the_customer_is_told(
    contexts: Callable[..., BrowserContext],
    console: Callable[[Member], Page],
    staff_member: Callable[[str], Member],
    live_server: str,
    live_settings: Settings,
) -> None:
    with ThreadPoolExecutor(1) as pool:
        order = pool.submit(_approval_order, live_settings).result()
    customer = contexts().new_page()
    open_chat(customer, live_server)
    propose_damaged_return(customer, order)
    conversation_id = str(customer.evaluate(f"localStorage.getItem('{STORAGE_KEY}')"))
    waiting = rows(live_settings, PendingAction, conversation_id=conversation_id,
                   status="awaiting_approval")
    assert len(waiting) == 1, [r.status for r in rows(live_settings, PendingAction,
                                                      conversation_id=conversation_id)]
    action_id = waiting[0].id

    staff = console(staff_member("agent"))
    staff.goto(f"{live_server}/console#/c/{conversation_id}")
    card = staff.locator(f".action[data-id='{action_id}']")
    expect(card).to_contain_text("awaiting approval")
    expect(card).to_contain_text(order.number)
    # a saved reply, filled in from this conversation's customer and order
    title = f"Damaged item {uuid.uuid4().hex[:6]}"
    made = staff.request.post(f"{live_server}/api/staff/saved-replies", headers=BEARER, data={
        "title": title, "text": "Hi {{first_name}}, sorry about order {{order_number}}."})
    assert made.status == 201, made.text()
    staff.reload()
    staff.get_by_label("Insert a saved reply").select_option(label=title)
    first_name = order_customer_first_name(live_settings, order)
    expect(staff.get_by_label("Reply to the customer")).to_have_value(
        f"Hi {first_name}, sorry about order {order.number}.")

    notices_before = customer.locator("support-chat .notice").count()
    card.get_by_role("button", name="Approve").click()
    expect(staff.locator(".toast")).to_have_text("Approved; the customer has been told.")
    expect(card).to_have_count(0)  # decided: no longer pending

    # the customer is told: in the open widget and in the conversation's rows
    expect(customer.locator("support-chat .notice")).to_have_count(notices_before + 1)
    expect(customer.locator("support-chat .notice").last).to_contain_text("RMA-")
    decided = rows(live_settings, PendingAction, id=action_id)[0]
    assert decided.status == "executed" and decided.decided_by.startswith("staff:")
    told = rows(live_settings, Message, conversation_id=conversation_id, role="system")
    assert any("RMA-" in m.text for m in told)
    expect(staff.locator(".transcript .msg.system").last).to_contain_text("RMA-")


def test_reject_a_pending_return_with_a_note(
    contexts: Callable[..., BrowserContext],
    console: Callable[[Member], Page],
    staff_member: Callable[[str], Member],
    live_server: str,
    live_settings: Settings,
) -> None:
    with ThreadPoolExecutor(1) as pool:
        order = pool.submit(_approval_order, live_settings, 1).result()
    customer = contexts().new_page()
    open_chat(customer, live_server)
    propose_damaged_return(customer, order)
    conversation_id = str(customer.evaluate(f"localStorage.getItem('{STORAGE_KEY}')"))
    [waiting] = rows(live_settings, PendingAction, conversation_id=conversation_id,
                     status="awaiting_approval")

    staff = console(staff_member("agent"))
    staff.goto(f"{live_server}/console#/c/{conversation_id}")
    card = staff.locator(f".action[data-id='{waiting.id}']")
    card.get_by_label("Note to the customer (optional)").fill("The photo shows wear, not damage.")
    card.get_by_role("button", name="Reject").click()
    expect(staff.locator(".toast")).to_have_text("Rejected; the customer has been told.")
    expect(card).to_have_count(0)
    expect(customer.locator("support-chat .notice").last).to_contain_text(
        "The photo shows wear, not damage.")
    decided = rows(live_settings, PendingAction, id=waiting.id)[0]
    assert decided.status == "rejected"
    assert not any(r.status == "executed" for r in rows(
        live_settings, PendingAction, conversation_id=conversation_id))
