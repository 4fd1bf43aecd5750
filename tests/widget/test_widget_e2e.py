"""The widget's issue #13 features end to end: the real server (tests/conftest.py live_server),
the demo storefront, Chromium. A damaged-item conversation with a photo that staff see with the
escalation and a rating stored as an outcome event; the signed login, good and tampered; a return
confirmed with the Yes button."""

from __future__ import annotations

import struct
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from pydantic import SecretStr
from sqlalchemy import create_engine, select

from channels.identify import sign
from settings import Settings
from storage.tables import Conversation
from storage.tables_widget import Attachment, OutcomeEvent
from tests.test_e2e_demo import demo_order, returnable_order
from tests.widget.test_widget_browser import STAFF_TOKEN, STORAGE_KEY, ask, open_chat

pytestmark = pytest.mark.browser

SECRET = "widget-test-secret-0123456789abcdef"
STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour PNG, plus a tEXt chunk standing in for camera metadata."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"tEXt", b"GPS\x0048.8584,2.2945")
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def rows(settings: Settings, model: Any, **where: Any) -> list[Any]:
    engine = create_engine(f"sqlite:///{settings.data_dir / 'support.db'}")
    try:
        with engine.connect() as conn:
            query = select(model)
            for key, value in where.items():
                query = query.where(getattr(model, key) == value)
            return list(conn.execute(query))
    finally:
        engine.dispose()


@pytest.fixture
def widget_secret(live_settings: Settings) -> Iterator[str]:
    """The live server checks tokens with this secret for the length of one test."""
    before = live_settings.widget_secret
    live_settings.widget_secret = SecretStr(SECRET)
    yield SECRET
    live_settings.widget_secret = before


def test_photo_reaches_staff_and_the_rating_is_stored(
    page: Page, live_server: str, live_settings: Settings
) -> None:
    open_chat(page, live_server)
    ask(page, "My tent arrived with a torn seam")
    conversation_id = page.evaluate(f"localStorage.getItem('{STORAGE_KEY}')")

    photo = png(64, 48, (200, 40, 40))
    page.locator("support-chat input[type=file]").set_input_files(
        {"name": "IMG_0001.png", "mimeType": "image/png", "buffer": photo}
    )
    expect(page.locator("support-chat .tray img")).to_have_count(1)
    ask(page, "Here is a photo of the tear")
    thumb = page.locator("support-chat .msg.customer .photos img")
    expect(thumb).to_have_count(1)
    stored = rows(live_settings, Attachment, conversation_id=conversation_id)
    assert len(stored) == 1 and stored[0].content_type == "image/png"

    handoff = ask(page, "I want to talk to a person")
    expect(page.locator("support-chat .notice").first).to_be_visible()
    assert handoff.is_visible()

    # Staff see the photo with the escalation, and can open it.
    queue = page.request.get(f"{live_server}/api/staff/queue", headers=STAFF).json()
    mine = [e for e in queue if e["conversation_id"] == conversation_id]
    assert len(mine) == 1
    assert [a["id"] for a in mine[0]["attachments"]] == [stored[0].id]
    image = page.request.get(f"{live_server}/api/staff/attachments/{stored[0].id}", headers=STAFF)
    assert image.status == 200 and image.headers["content-type"] == "image/png"
    assert image.body()[:8] == b"\x89PNG\r\n\x1a\n" and b"GPS" not in image.body()

    reply = page.request.post(
        f"{live_server}/api/staff/conversations/{conversation_id}/reply",
        headers=STAFF,
        data={"staff_id": "sam", "text": "Sorry about that! A **replacement** ships today."},
    )
    assert reply.status == 200, reply.text()
    expect(page.locator("support-chat .msg.staff .body strong")).to_have_text("replacement")

    resolved = page.request.post(
        f"{live_server}/api/staff/conversations/{conversation_id}/resolve",
        headers=STAFF,
        data={"staff_id": "sam"},
    )
    assert resolved.status == 200, resolved.text()
    page.locator("support-chat .csat .score").nth(4).click()
    page.locator("support-chat .csat textarea").fill("Fixed in minutes")
    page.locator("support-chat .csat .send").click()
    expect(page.locator("support-chat .csat")).to_have_text("Thank you for your feedback!")

    events = rows(live_settings, OutcomeEvent, conversation_id=conversation_id, kind="csat")
    assert len(events) == 1
    assert events[0].score == 5 and events[0].detail["comment"] == "Fixed in minutes"


def demo_customer(settings: Settings) -> str:
    """A demo customer with a shipped order (read in a thread: Playwright's loop runs here)."""
    from commerce.models import OrderStatus

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(demo_order, settings, OrderStatus.SHIPPED).result().customer_id


def signed_in_page(page: Page, live_server: str, token: str) -> str:
    """The storefront hands the widget a token (SupportAgent.init, as a store's page would once
    the shopper is signed in), then the shopper writes; returns the conversation id."""
    page.goto(f"{live_server}/")
    expect(page.locator("support-chat .launcher")).to_be_visible()
    page.evaluate("token => SupportAgent.init({identityToken: token})", token)
    page.locator("support-chat .launcher").click()
    ask(page, "Hello")
    return page.evaluate(f"localStorage.getItem('{STORAGE_KEY}')")


def test_signed_login_binds_the_customer(
    page: Page, live_server: str, live_settings: Settings, widget_secret: str
) -> None:
    customer_id = demo_customer(live_settings)
    token = sign(widget_secret, customer_id, int(time.time()))
    conversation_id = signed_in_page(page, live_server, token)
    expect(page.locator("support-chat .notice")).to_contain_text(["Signed in as"])
    bound = rows(live_settings, Conversation, id=conversation_id)
    assert bound[0].verified_customer_id == customer_id


@pytest.mark.parametrize("kind", ["tampered", "expired"])
def test_bad_tokens_change_nothing(
    page: Page, live_server: str, live_settings: Settings, widget_secret: str, kind: str
) -> None:
    customer_id = demo_customer(live_settings)
    if kind == "tampered":
        good = sign(widget_secret, customer_id, int(time.time()))
        token = good[:-1] + ("0" if good[-1] != "0" else "1")
    else:
        token = sign(widget_secret, customer_id, int(time.time()) - 11 * 60)
    conversation_id = signed_in_page(page, live_server, token)
    bound = rows(live_settings, Conversation, id=conversation_id)
    assert bound[0].verified_customer_id is None
    expect(page.locator("support-chat .notice")).to_have_count(0)  # nothing says why


def test_yes_no_buttons_confirm_a_return(
    page: Page, live_server: str, live_settings: Settings
) -> None:
    """The reply asking "Shall I go ahead?" comes with Yes / No buttons; Yes starts the return."""
    with ThreadPoolExecutor(1) as pool:
        order = pool.submit(returnable_order, live_settings).result()
    open_chat(page, live_server)
    reply = ask(page, f"I want to return something from order {order.number}, {order.email}")
    quick = page.locator("support-chat .quick button")
    for _ in range(6):
        text = reply.locator(".body").inner_text()
        if "Shall I go ahead" in text:
            break
        expect(quick).to_have_count(0)  # questions that are not a confirmation get no buttons
        if "Which item" in text:
            item = next(i for i in order.line_items if i.name in text)
            reply = ask(page, f"the {item.name}")
        elif "reason" in text:
            reply = ask(page, "it doesn't fit")
        elif "store credit" in text:
            reply = ask(page, "a refund please")
        else:
            raise AssertionError(f"unexpected question: {text}")
    expect(quick).to_have_text(["Yes", "No"])
    before = page.locator("support-chat .log .msg.assistant").count()
    quick.first.click()
    expect(page.locator("support-chat .msg.customer .body").last).to_have_text("Yes")
    expect(page.locator("support-chat .log .msg.assistant")).to_have_count(
        before + 1, timeout=60_000
    )
    expect(page.locator("support-chat .msg.assistant .body").last).to_contain_text("RMA-")
    expect(quick).to_have_count(0)
