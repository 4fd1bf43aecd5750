"""Accessibility of the widget: text contrast of the default colours (WCAG 2 ratio >= 4.5:1,
computed from the rendered styles), keyboard use with a visible focus ring, labelled controls and
a polite live region for new messages."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.widget.fake_shop import CONVERSATION, open_shop, wait_for_frames

pytestmark = pytest.mark.browser

# Text-bearing parts of the widget, each with its own colour and the background behind it.
TEXT_PARTS = [
    ".launcher",
    "h2",
    ".conn",
    ".close",
    ".send",
    ".msg.customer .body",
    ".msg.assistant .body",
    ".msg.staff .body a",
    ".chip",
    ".status",
    ".who",
    ".qr",
    ".notice",
    ".csat .ask",
    ".csat .scale span",
    ".csat .score",
    "textarea",
]

CONTRAST_JS = """(parts) => {
  const root = document.querySelector("support-chat").shadowRoot;
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const lum = (c) => { const [r, g, b] = c.slice(0, 3).map((v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const background = (e) => {  // the first opaque background behind the element
    for (let n = e; n; n = n.parentElement || n.getRootNode().host) {
      const c = rgb(getComputedStyle(n).backgroundColor);
      if (c.length < 4 || c[3] === 1) return c;
    }
    return [255, 255, 255];
  };
  const out = {};
  for (const sel of parts) {
    const e = root.querySelector(sel);
    if (!e) { out[sel] = null; continue; }
    const [a, b] = [lum(rgb(getComputedStyle(e).color)), lum(background(e))].sort((x, y) => y - x);
    out[sel] = Math.round(((a + 0.05) / (b + 0.05)) * 100) / 100;
  }
  return out;
}"""


def show_every_part(page: Page) -> None:
    """Open the panel and get every kind of text on screen: a reply with a link and a source,
    a staff message, a notice, the status line, quick replies and the rating form."""
    chat = open_shop(page)
    page.locator("support-chat .launcher").click()
    box = page.get_by_role("textbox", name="Your message")
    box.fill("hi")
    box.press("Enter")
    wait_for_frames(page, chat, "message")
    chat.push(
        {
            "type": "message",
            "id": "s1",
            "conversation_id": CONVERSATION,
            "role": "staff",
            "text": "See [our policy](https://shop.example/returns).",
            "owner": "human",
            "created_at": None,
            "client_id": None,
            "quick_replies": ["Yes", "No"],
            "citations": [
                {
                    "id": "r",
                    "title": "Returns",
                    "source": "returns.md",
                    "url": "/help/articles/returns",
                }
            ],
        }
    )
    chat.push({"type": "escalated", "escalation_id": "e1", "reason": "asked"})
    chat.push({"type": "csat_request", "conversation_id": CONVERSATION})
    page.evaluate("""() => { const s = document.querySelector("support-chat").shadowRoot
      .querySelector(".status"); s.hidden = false; s.textContent = "Looking up your order..."; }""")
    expect(page.locator("support-chat .csat .score")).to_have_count(5)


def test_default_colours_have_enough_contrast(page: Page) -> None:
    show_every_part(page)
    ratios = page.evaluate(CONTRAST_JS, TEXT_PARTS)
    missing = [sel for sel, r in ratios.items() if r is None]
    assert not missing, f"not on screen: {missing}"
    low = {sel: r for sel, r in ratios.items() if r < 4.5}
    assert not low, f"contrast below 4.5:1: {low}"


def test_a_custom_colour_keeps_readable_text(page: Page) -> None:
    for colour in ("#ffd400", "#1d4ed8", "#e5e7eb", "#7c2d12"):
        open_shop(page, script_attrs=f'data-color="{colour}"')
        page.locator("support-chat .launcher").click()
        ratios = page.evaluate(CONTRAST_JS, [".launcher", "h2", ".send"])
        assert min(ratios.values()) >= 4.5, (colour, ratios)


def test_keyboard_only(page: Page) -> None:
    chat = open_shop(page)
    launcher = page.locator("support-chat .launcher")
    expect(launcher).to_have_attribute("aria-label", "Open support chat")
    launcher.focus()
    page.keyboard.press("Enter")
    expect(page.locator("support-chat .panel")).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("textbox", name="Your message")).to_be_focused()
    page.keyboard.type("Where is my order?")
    page.keyboard.press("Enter")
    assert wait_for_frames(page, chat, "message")[0]["text"] == "Where is my order?"
    # Tab order reaches the rest: the send and attach buttons are labelled and focusable.
    for sel, label in ((".attach", "Attach a photo"), (".close", "Close support chat")):
        expect(page.locator(f"support-chat {sel}")).to_have_attribute("aria-label", label)
    page.keyboard.press("Shift+Tab")  # from the textbox back to the attach button
    expect(page.locator("support-chat .attach")).to_be_focused()
    outline = page.locator("support-chat .attach").evaluate(
        "e => [getComputedStyle(e).outlineStyle, getComputedStyle(e).outlineWidth]"
    )
    assert outline[0] != "none" and outline[1] != "0px", outline
    page.keyboard.press("Escape")
    expect(page.locator("support-chat .panel")).to_be_hidden()
    expect(launcher).to_be_focused()


def test_new_messages_land_in_a_polite_live_region(page: Page) -> None:
    open_shop(page)
    log = page.locator("support-chat .log")
    expect(log).to_have_attribute("role", "log")
    expect(log).to_have_attribute("aria-live", "polite")
    expect(log).to_have_attribute("aria-label", "Conversation")
    expect(page.locator("support-chat .panel")).to_have_attribute("role", "dialog")
