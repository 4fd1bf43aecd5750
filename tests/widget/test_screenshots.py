"""Screenshots of the widget on the demo storefront (desktop, phone, a handoff to a person, the
rating form), taken from the real server and checked pixel by pixel. They are written to the
test's tmp dir; with WIDGET_SCREENSHOTS=<dir> (docs/screenshots) they are also kept there:

    WIDGET_SCREENSHOTS=docs/screenshots .venv/bin/pytest -p no:cacheprovider \\
        tests/widget/test_screenshots.py
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.widget.test_widget_browser import (
    STAFF_TOKEN,
    STORAGE_KEY,
    ask,
    close_to,
    css_rgb,
    open_chat,
    read_png,
)

pytestmark = pytest.mark.browser

STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}


def keep(shot: Path) -> None:
    target = os.environ.get("WIDGET_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(target) / shot.name)


def capture(page: Page, path: Path) -> tuple[int, int]:
    page.mouse.move(0, 0)  # no hover effect
    page.wait_for_timeout(300)  # the last scroll-to-bottom frame
    page.screenshot(path=path)
    width, height, _ = read_png(path.read_bytes())
    keep(path)
    return width, height


def accent_rows(path: Path, accent: tuple[int, int, int], y: int) -> float:
    """Share of pixels on row y that are the accent colour."""
    width, _, pixel = read_png(path.read_bytes())
    return sum(close_to(pixel(x, y), accent) for x in range(width)) / width


def test_screenshots(
    page: Page, chromium_browser: Browser, live_server: str, tmp_path: Path
) -> None:
    # Desktop: an answer with its sources.
    page.set_viewport_size({"width": 1280, "height": 800})
    open_chat(page, live_server)
    reply = ask(page, "What is your return policy?")
    expect(reply.locator(".sources a.chip").first).to_be_visible()
    assert capture(page, tmp_path / "desktop.png") == (1280, 800)
    accent = css_rgb(
        page.locator("support-chat header").evaluate("e => getComputedStyle(e).backgroundColor")
    )
    header = page.locator("support-chat header").bounding_box()
    assert header and accent_rows(tmp_path / "desktop.png", accent, int(header["y"]) + 5) > 0.2

    # Handoff: the customer asks for a person, someone on the team answers in the widget.
    ask(page, "I want to talk to a person")
    conversation_id = page.evaluate(f"localStorage.getItem('{STORAGE_KEY}')")
    answer = page.request.post(
        f"{live_server}/api/staff/conversations/{conversation_id}/reply",
        headers=STAFF,
        data={
            "staff_id": "sam",
            "text": "Hi, Sam here. I can help: which item is it, and "
            "would you like a **refund** or an **exchange**?",
        },
    )
    assert answer.status == 200, answer.text()
    expect(page.locator("support-chat .msg.staff")).to_have_count(1)
    expect(page.locator("support-chat .conn")).to_have_text("Chatting with our team")
    capture(page, tmp_path / "handoff.png")

    # The rating form once the conversation is resolved.
    done = page.request.post(
        f"{live_server}/api/staff/conversations/{conversation_id}/resolve",
        headers=STAFF,
        data={"staff_id": "sam"},
    )
    assert done.status == 200, done.text()
    page.locator("support-chat .csat .score").nth(3).click()
    page.locator("support-chat .csat textarea").fill("Quick and friendly, thanks Sam")
    page.locator("support-chat .csat .send").focus()
    capture(page, tmp_path / "csat.png")

    # Phone: 390x844, the panel covers the screen, header on top and Send at the bottom.
    phone = chromium_browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    mobile = phone.new_page()
    mobile.set_default_timeout(15_000)
    try:
        mobile.goto(f"{live_server}/")
        mobile.locator("support-chat .launcher").tap()
        ask(mobile, "What payment methods do you accept?")
        mobile.locator("support-chat textarea").blur()
        assert capture(mobile, tmp_path / "mobile.png") == (780, 1688)
        assert accent_rows(tmp_path / "mobile.png", accent, 20) > 0.6  # the header, at the top
        send = mobile.locator("support-chat .send").bounding_box()
        assert send and send["y"] + send["height"] <= 844
    finally:
        phone.close()
