"""The staff console in real headless Chromium against the real server (demo store, offline
engine), handling conversations: sign in, an escalation arriving live and claimed, a reply
reaching the customer's widget in a second browser context, keyboard-only resolving, an admin
assigning and handing back. Approvals, security and the admin pages: test_console_*.py."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from settings import Settings
from storage.tables import Conversation, Message
from tests.console_ui.conftest import Member
from tests.widget.test_widget_browser import STORAGE_KEY, ask, open_chat
from tests.widget.test_widget_e2e import png, rows

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("escalations_uncapped")]


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


def test_the_sign_in_form_is_drawn_once(page: Page, live_server: str) -> None:
    # Drawn twice (once when /me answered 401, again when start() caught it), the second form
    # wiped what a fast typist had already entered and sign-in did nothing.
    page.add_init_script("""
        window.__loginForms = 0;
        new MutationObserver((changes) => {
          for (const change of changes)
            for (const node of change.addedNodes)
              if (node.querySelector && node.querySelector("#login-email")) window.__loginForms++;
        }).observe(document, { childList: true, subtree: true });
    """)
    page.goto(f"{live_server}/console")
    expect(page.get_by_label("Email")).to_be_focused()
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__loginForms") == 1


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
        answer = api.post(
            f"{live_server}/api/chat", data={"text": text, "conversation_id": conversation_id}
        )
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
        answer = api.post(
            f"{live_server}/api/chat", data={"text": text, "conversation_id": conversation_id}
        )
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
        "back with our virtual assistant"
    )
