"""The staff console in real headless Chromium against the real server (demo store, offline
engine): sign in, an escalation arriving live and claimed, a reply reaching the customer's widget
in a second browser context, an approval the customer is told about, markup in a transcript shown
as text, the Content-Security-Policy, and the admin pages an agent never sees."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from settings import Settings
from storage.tables import Conversation, Message, PendingAction
from tests.console_ui.conftest import BEARER, Member, sign_in
from tests.widget.test_widget_browser import STORAGE_KEY, ask, open_chat
from tests.widget.test_widget_e2e import png, rows

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("escalations_uncapped")]

REPLY_TIMEOUT_MS = 60_000  # the offline engine answers on CPU


def escalate(customer: Page, base_url: str, first: str = "My parcel never arrived") -> str:
    """The customer opens the widget on the storefront and asks for a person; the conversation
    id the widget keeps."""
    open_chat(customer, base_url)
    ask(customer, first)
    customer.locator("support-chat input[type=file]").set_input_files(
        {"name": "IMG_0001.png", "mimeType": "image/png", "buffer": png(64, 48, (40, 90, 200))}
    )
    expect(customer.locator("support-chat .tray img")).to_have_count(1)
    ask(customer, "Here is a photo of the label")
    ask(customer, "I want to talk to a person")
    expect(customer.locator("support-chat .notice").first).to_be_visible()
    return str(customer.evaluate(f"localStorage.getItem('{STORAGE_KEY}')"))


def test_sign_in_claim_and_reply_reaches_the_widget(
    contexts: Callable[..., BrowserContext],
    console: Callable[[Member], Page],
    staff_member: Callable[[str], Member],
    live_server: str,
    live_settings: Settings,
) -> None:
    agent = staff_member("agent")
    staff = console(agent)
    expect(staff.locator("h1")).to_have_text("Queue")
    staff.evaluate("window.__sameDocument = true")  # gone if the page ever reloads

    customer = contexts().new_page()
    conversation_id = escalate(customer, live_server)

    # The escalation appears in the open queue from the event stream, without a reload.
    row = staff.locator(f"tr[data-conversation='{conversation_id}']")
    expect(row).to_be_visible()
    assert staff.evaluate("window.__sameDocument") is True
    expect(row.locator(".sla")).to_have_text(re.compile(r"due in|over"))
    expect(row.locator(".owner")).to_have_text("unclaimed")

    # search reads the conversation's words; a miss empties the table
    search = staff.get_by_label("Search the queue")
    search.fill("zz-no-such-words")
    expect(row).to_have_count(0)
    search.fill("parcel never arrived")
    expect(row).to_be_visible()
    expect(staff.locator("table.grid tbody tr")).to_have_count(1)

    row.get_by_role("button", name="Claim").click()
    expect(staff).to_have_url(re.compile(f"#/c/{conversation_id}$"))
    expect(staff.locator(".conv-head")).to_contain_text("owner: you")
    expect(staff.locator(".transcript .msg.customer .text").first).to_have_text(
        "My parcel never arrived"
    )
    # the customer's photo, fetched with the staff session
    photo = staff.locator(".photos img")
    expect(photo).to_have_count(1)
    expect(photo).to_have_js_property("naturalWidth", 64)
    claimed = rows(live_settings, Conversation, id=conversation_id)[0]
    assert (claimed.owner, claimed.owner_staff_id) == ("human", agent.id)

    text = f"Hi, this is {agent.name}. I have found your parcel ({uuid.uuid4().hex[:6]})."
    staff.get_by_label("Reply to the customer").fill(text)
    staff.get_by_role("button", name="Send").click()
    expect(staff.locator(".transcript .msg.staff .text")).to_have_text([text])

    # The customer's widget, in another browser context, gets it live.
    expect(customer.locator("support-chat .msg.staff .body")).to_have_text(text)

    # The customer answers; the open conversation shows it without a reload.
    box = customer.get_by_role("textbox", name="Your message")
    box.fill("Thank you, that was quick")
    box.press("Enter")
    expect(staff.locator(".transcript .msg.customer .text").last).to_have_text(
        "Thank you, that was quick"
    )
    assert staff.evaluate("window.__sameDocument") is True

    # An internal note stays in the console.
    staff.get_by_label("Internal note").check()
    staff.get_by_label("Internal note (staff only)").fill("Carrier claim opened")
    staff.get_by_role("button", name="Add note").click()
    expect(staff.locator(".transcript .msg.note .text")).to_have_text(["Carrier claim opened"])
    customer.wait_for_timeout(500)  # a leaked note would be on the socket by now
    expect(customer.locator("support-chat .log")).not_to_contain_text("Carrier claim opened")
    stored = rows(live_settings, Message, conversation_id=conversation_id, role="staff")
    assert [m.text for m in stored] == [text]


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


HOSTILE = [
    '<img src=x onerror="window.__pwned = 1">',
    "<script>window.__pwned = 2</script>",
    '<svg onload="window.__pwned = 3"></svg>',
]


def test_markup_in_a_transcript_is_shown_as_text(
    console: Callable[[Member], Page],
    staff_member: Callable[[str], Member],
    contexts: Callable[..., BrowserContext],
    live_server: str,
) -> None:
    api = contexts().request
    conversation_id = None
    for text in [*HOSTILE, "I want to talk to a person"]:
        answer = api.post(f"{live_server}/api/chat",
                          data={"text": text, "conversation_id": conversation_id})
        assert answer.status == 200, answer.text()
        conversation_id = answer.json()["conversation_id"]

    staff = console(staff_member("agent"))
    staff.goto(f"{live_server}/console#/c/{conversation_id}")
    said = staff.locator(".transcript .msg.customer .text")
    expect(said).to_have_text([*HOSTILE, "I want to talk to a person"])
    for text in HOSTILE:
        expect(staff.get_by_text(text, exact=True)).to_be_visible()
    assert staff.locator("main img, main script, main svg[onload]").count() == 0
    staff.wait_for_timeout(300)  # an onerror would have fired by now
    assert staff.evaluate("window.__pwned") is None


def test_content_security_policy_blocks_inline_script(
    page: Page, live_server: str, staff_member: Callable[[str], Member]
) -> None:
    answer = page.goto(f"{live_server}/console")
    assert answer is not None
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    asset = page.request.get(f"{live_server}/console/static/app.js")
    assert asset.status == 200 and "javascript" in asset.headers["content-type"]

    sign_in(page, live_server, staff_member("agent"))
    blocked = page.evaluate(
        """() => new Promise((resolve) => {
            const seen = [];
            document.addEventListener("securitypolicyviolation",
                (e) => seen.push(e.violatedDirective));
            const s = document.createElement("script");
            s.textContent = "window.__inline = 1";
            document.body.append(s);
            let evaluated = null;
            // later, in a task of the page's own (DevTools may evaluate strings itself)
            setTimeout(() => {
                try { (0, eval)("window.__eval = 1"); evaluated = true; }
                catch (err) { evaluated = false; }
            }, 0);
            setTimeout(() => resolve({seen, inline: window.__inline ?? null,
                                      evaluated, evalSet: window.__eval ?? null}), 300);
        })"""
    )
    assert blocked["inline"] is None and blocked["evalSet"] is None
    assert blocked["evaluated"] is False
    assert any(d.startswith("script-src") for d in blocked["seen"]), blocked


def test_an_agent_never_sees_the_admin_pages(
    console: Callable[[Member], Page], staff_member: Callable[[str], Member], live_server: str
) -> None:
    agent = console(staff_member("agent"))
    nav = agent.locator("header.top nav")
    expect(nav.get_by_role("link", name="Queue")).to_be_visible()
    expect(nav.get_by_role("link", name="Staff")).to_be_hidden()
    expect(nav.get_by_role("link", name="Settings")).to_be_hidden()
    agent.goto(f"{live_server}/console#/settings")
    expect(agent).to_have_url(re.compile("#/queue$"))
    expect(agent.locator("h1")).to_have_text("Queue")
    # the API refuses the agent's session anyway
    status = agent.evaluate("fetch('/api/staff/settings').then(r => r.status)")
    assert status == 403

    admin = console(staff_member("admin"))
    admin.locator("header.top nav").get_by_role("link", name="Settings").click()
    expect(admin.locator("h1")).to_have_text("Settings")
    token = admin.locator("code", has_text=re.compile("^staff_token$"))
    row = admin.locator("table.settings tr", has=token)
    expect(row.locator("td").nth(1)).to_have_text("********")
    admin.locator("header.top nav").get_by_role("link", name="Staff").click()
    expect(admin.locator("table.grid")).to_contain_text("agent")


def test_sign_out_ends_the_session(
    console: Callable[[Member], Page], staff_member: Callable[[str], Member]
) -> None:
    staff = console(staff_member("agent"))
    staff.get_by_role("button", name="Sign out").click()
    expect(staff.get_by_role("button", name="Sign in")).to_be_visible()
    assert staff.evaluate("fetch('/api/staff/queue').then(r => r.status)") == 401
    staff.reload()
    expect(staff.get_by_role("button", name="Sign in")).to_be_visible()


def test_write_an_article_for_an_unanswered_question(
    console: Callable[[Member], Page],
    staff_member: Callable[[str], Member],
    contexts: Callable[..., BrowserContext],
    live_server: str,
) -> None:
    api = contexts().request
    question = "Can I pay with Klarna?"
    asked = api.post(f"{live_server}/api/chat", data={"text": question})
    assert asked.status == 200, asked.text()

    admin = console(staff_member("admin"))
    admin.locator("header.top nav").get_by_role("link", name="Knowledge").click()
    entry = admin.locator("ol.unanswered li", has_text=question)
    expect(entry).to_be_visible()
    entry.get_by_role("button", name="Write an article for this").click()
    title = admin.get_by_label("Title (the question it answers)")
    expect(title).to_have_value(re.compile("Klarna"))
    expect(admin.get_by_label("Answer (Markdown)")).to_be_focused()
    admin.get_by_label("Answer (Markdown)").fill(
        "Yes. At checkout choose Klarna to pay in four interest-free instalments.")
    admin.get_by_role("button", name="Publish article").click()
    row = admin.locator("table.docs tr[data-doc='can-i-pay-with-klarna.md']")
    expect(row).to_be_visible()

    found = api.get(f"{live_server}/api/staff/kb/search", params={"q": question},
                    headers=BEARER).json()
    assert found["answerable"] and found["results"][0]["source"] == "can-i-pay-with-klarna.md"

    # and out again, so the session's other tests see the demo help center as it was
    admin.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)


def test_keyboard_only_sign_in_open_and_resolve_a_conversation(
    page: Page,
    staff_member: Callable[[str], Member],
    contexts: Callable[..., BrowserContext],
    live_server: str,
    live_settings: Settings,
) -> None:
    api = contexts().request
    conversation_id = None
    for text in ["My order is late", "I want to talk to a person"]:
        answer = api.post(f"{live_server}/api/chat",
                          data={"text": text, "conversation_id": conversation_id})
        conversation_id = answer.json()["conversation_id"]
    member = staff_member("agent")

    page.goto(f"{live_server}/console")
    expect(page.get_by_label("Email")).to_be_focused()
    page.keyboard.type(member.email)
    page.keyboard.press("Tab")
    page.keyboard.type(member.password)
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Queue")

    link = page.locator(f"tr[data-conversation='{conversation_id}'] a.summary")
    expect(link).to_be_visible()
    for _ in range(60):  # Tab through the page until the row's link has focus
        page.keyboard.press("Tab")
        if link.evaluate("el => el === document.activeElement"):
            break
    else:
        raise AssertionError("the conversation's link is not reachable with Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"#/c/{conversation_id}$"))
    expect(page.locator(".transcript .msg.customer .text").first).to_have_text("My order is late")

    page.get_by_role("button", name="Claim").click()
    expect(page.locator(".conv-head")).to_contain_text("owner: you")
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator(".conv-head")).to_contain_text("owner: resolved")
    expect(page.get_by_role("button", name="Resolve")).to_be_disabled()
    assert rows(live_settings, Conversation, id=conversation_id)[0].owner == "resolved"


def test_an_admin_assigns_a_conversation(
    console: Callable[[Member], Page],
    staff_member: Callable[[str], Member],
    contexts: Callable[..., BrowserContext],
    live_server: str,
    live_settings: Settings,
) -> None:
    api = contexts().request
    conversation_id = None
    for text in ["My jacket zip broke", "I want to talk to a person"]:
        answer = api.post(f"{live_server}/api/chat",
                          data={"text": text, "conversation_id": conversation_id})
        conversation_id = answer.json()["conversation_id"]
    agent = staff_member("agent")
    admin = console(staff_member("admin"))
    row = admin.locator(f"tr[data-conversation='{conversation_id}']")
    row.get_by_label("Assign to").select_option(label=agent.name)
    expect(admin.locator(".toast")).to_have_text("Assigned.")
    expect(row.locator(".owner")).to_have_text(agent.name)
    assigned = rows(live_settings, Conversation, id=conversation_id)[0]
    assert (assigned.owner, assigned.owner_staff_id) == ("human", agent.id)

    # the admin opens it and hands the customer back to the bot
    row.locator("a.summary").click()
    admin.get_by_role("button", name="Hand back to bot").click()
    expect(admin.locator(".conv-head")).to_contain_text("owner: bot")
    assert rows(live_settings, Conversation, id=conversation_id)[0].owner == "bot"
    expect(admin.locator(".transcript .msg.system").last).to_contain_text(
        "back with our virtual assistant")


def test_wrong_passwords_then_the_throttle(
    page: Page, staff_member: Callable[[str], Member], live_server: str
) -> None:
    member = staff_member("agent")
    page.goto(f"{live_server}/console")
    error = page.locator("form.login .error")
    for _ in range(5):
        page.get_by_label("Email").fill(member.email)
        page.get_by_label("Password").fill("not the password at all")
        page.get_by_role("button", name="Sign in").click()
        expect(error).to_have_text("Wrong email or password.")
        expect(page.get_by_label("Password")).to_be_focused()
        expect(page.get_by_label("Password")).to_have_value("")
        page.evaluate("document.querySelector('form.login .error').textContent = ''")
    # past the account's limit even the right password is refused, and the page says why
    page.get_by_label("Password").fill(member.password)
    page.get_by_role("button", name="Sign in").click()
    expect(error).to_have_text(
        re.compile(r"^Too many failed sign-ins\. Try again in \d+ seconds\.$")
    )
    expect(page.locator("header.top")).to_be_hidden()


def test_analytics_draws_its_charts(
    console: Callable[[Member], Page],
    staff_member: Callable[[str], Member],
    contexts: Callable[..., BrowserContext],
    live_server: str,
) -> None:
    asked = contexts().request.post(f"{live_server}/api/chat",
                                    data={"text": "How long does delivery take?"})
    assert asked.status == 200, asked.text()
    staff = console(staff_member("agent"))
    staff.locator("header.top nav").get_by_role("link", name="Analytics").click()
    per_day = staff.locator("svg.chart.columns")
    expect(per_day.locator("rect.bar")).to_have_count(30)  # one column a day, zeros included
    heights = per_day.locator("rect.bar").evaluate_all(
        "bars => bars.map(b => Number(b.getAttribute('height')))")
    assert heights[-1] > 0 and all(h >= 0 for h in heights)  # today's conversation counts
    intents = staff.locator(".chart-card", has_text="Top intents").locator("svg.chart.bars")
    expect(intents).to_have_attribute("aria-label", re.compile(r"^Top intents: .+ \d+"))
    staff.get_by_label("Period").select_option("7")
    expect(per_day.locator("rect.bar")).to_have_count(7)
