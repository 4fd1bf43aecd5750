"""The widget in a real browser against the real server: the demo storefront at /, one chat turn,
a reload that resumes the conversation, and a screenshot checked pixel by pixel."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import FloatRect, Locator, Page, expect

pytestmark = pytest.mark.browser

QUESTION = "What is your return policy?"
REPLY_TIMEOUT_MS = 60_000  # the offline engine answers on CPU
STORAGE_KEY = "support-agent:conversation"

Rgb = tuple[int, int, int]
PixelAt = Callable[[int, int], Rgb]


def open_chat(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/")
    launcher = page.locator("support-chat .launcher")
    expect(launcher).to_be_visible()
    launcher.click()
    expect(page.locator("support-chat .panel")).to_be_visible()
    expect(page.get_by_role("textbox", name="Your message")).to_be_focused()


def last_assistant(page: Page) -> Locator:
    return page.locator("support-chat .log .msg.assistant").last


def ask(page: Page, text: str) -> Locator:
    """Send `text` with Enter and return the finished assistant reply."""
    before = page.locator("support-chat .log .msg.assistant").count()
    box = page.get_by_role("textbox", name="Your message")
    box.fill(text)
    box.press("Enter")
    expect(page.locator("support-chat .msg.customer .body").last).to_have_text(text)
    expect(page.locator("support-chat .log .msg.assistant")).to_have_count(
        before + 1, timeout=REPLY_TIMEOUT_MS
    )
    # The streamed bubble is gone: the final "message" frame replaced it.
    expect(page.locator("support-chat .live-reply .msg")).to_have_count(0)
    return last_assistant(page)


def expect_return_answer(reply: Locator) -> None:
    expect(reply.locator(".body")).to_contain_text(re.compile("return", re.I))
    expect(reply.locator(".sources")).to_contain_text("Sources:")
    expect(reply.locator(".sources .chip").first).to_be_visible()
    assert reply.locator(".sources .chip").first.inner_text().strip()


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/", "text/html"), ("/widget.js", "javascript"), ("/widget.css", "text/css")],
)
def test_server_serves_the_widget(
    page: Page, live_server: str, path: str, content_type: str
) -> None:
    response = page.request.get(f"{live_server}{path}")
    assert response.status == 200, f"GET {path} -> {response.status}"
    assert content_type in response.headers["content-type"]


def test_storefront_chat_answers_with_sources(page: Page, live_server: str) -> None:
    open_chat(page, live_server)
    expect(page.locator("support-chat h2")).to_have_text("Northwind Outfitters")

    reply = ask(page, QUESTION)

    expect_return_answer(reply)
    assert page.evaluate(f"localStorage.getItem('{STORAGE_KEY}')")
    expect(page.locator("support-chat .notice.error")).to_have_count(0)


def test_reload_resumes_the_conversation(page: Page, live_server: str) -> None:
    open_chat(page, live_server)
    ask(page, QUESTION)
    conversation_id = page.evaluate(f"localStorage.getItem('{STORAGE_KEY}')")

    page.reload()
    page.locator("support-chat .launcher").click()

    # The history comes back from the server's "conversation" frame after {"type": "resume"}.
    expect(page.locator("support-chat .msg.customer .body")).to_have_text([QUESTION])
    expect_return_answer(last_assistant(page))
    assert page.evaluate(f"localStorage.getItem('{STORAGE_KEY}')") == conversation_id

    # A visitor without the stored id sees only the greeting.
    fresh = page.context.browser.new_page()  # type: ignore[union-attr]
    try:
        open_chat(fresh, live_server)
        expect(fresh.locator("support-chat .log .msg")).to_have_count(1)
    finally:
        fresh.close()


def test_screenshot_of_open_panel(page: Page, live_server: str, tmp_path: Path) -> None:
    open_chat(page, live_server)
    ask(page, QUESTION)
    page.mouse.move(0, 0)  # no hover effect on the launcher
    shot = tmp_path / "widget-open.png"
    page.screenshot(path=shot)

    width, height, pixel = read_png(shot.read_bytes())
    accent = css_rgb(
        page.locator("support-chat .launcher").evaluate("e => getComputedStyle(e).backgroundColor")
    )

    # The launcher: a 60px disc of the accent colour in the bottom-right corner.
    corner = [pixel(x, y) for x in range(width - 100, width) for y in range(height - 100, height)]
    assert sum(close_to(p, accent) for p in corner) > 1500, f"launcher colour {accent} missing"

    # The panel above it: an accent header over a light message area.
    box = page.locator("support-chat .panel").bounding_box()
    assert box and box["x"] + box["width"] <= width and box["y"] >= 0
    header = page.locator("support-chat header").bounding_box()
    assert header
    header_px = sample(pixel, header)
    assert sum(close_to(p, accent) for p in header_px) > 0.6 * len(header_px)
    scroll = page.locator("support-chat .scroll").bounding_box()
    assert scroll
    body_px = sample(pixel, scroll)
    assert sum(min(p) > 225 for p in body_px) > 0.6 * len(body_px)


# ---- replies in the safe Markdown subset ------------------------------------------------------

STAFF_TOKEN = "dev-staff-token"  # the test settings' default
INJECTED = '<img src=x onerror="window.pwned = 1">'
STAFF_REPLY = (
    "Here are your options:\n\n- **Exchange** for another size\n- Refund to your card\n\n"
    "| Size | Chest |\n| --- | --- |\n| M | 38–40 in |\n| L | 41–44 in |\n\n"
    f"{INJECTED} and [a link](javascript:window.pwned=2) and <script>window.pwned=3</script>"
)
PARITY_SAMPLES = [
    STAFF_REPLY,
    "We accept:\n\n- Visa\n- PayPal\n\n3. third\n4. fourth\n   continued",
    "# Heading\nline one\nline two with order_number and _em_ and *em* and **strong**",
    "See [the policy](https://shop.example/r?a=1&b=2) or https://shop.example/faq. \\*literal\\*",
    "| a \\| b | c |\n|---|:--:|\n| 1 | 2 | 3 |\n| only |",
    '[x](https://a.example/"onmouseover="alert(1)) [y](mailto:help@shop.example) [z](//evil)',
    "<b>bold?</b> &amp; &lt;i&gt; • bullet-looking\n• real bullet",
]


def test_widget_renders_markdown_like_the_server(page: Page, live_server: str) -> None:
    """widget.js and markdown_safe.py implement one grammar: same DOM for the same text."""
    from markdown_safe import to_html

    page.goto(f"{live_server}/")
    expect(page.locator("support-chat .launcher")).to_be_visible()
    for sample in PARITY_SAMPLES:
        # The widget adds one thing the server does not: each table cell's data-label (its
        # column header, for the narrow-screen layout); checked, then removed for the comparison.
        widget_html = page.evaluate(
            """text => { const d = document.createElement("div");
                d.append(customElements.get("support-chat").renderMarkdown(text));
                for (const td of d.querySelectorAll("td")) {
                  const th = td.closest("table").querySelectorAll("th")[td.cellIndex];
                  if (td.getAttribute("data-label") !== th.textContent) return "bad data-label";
                  td.removeAttribute("data-label");
                }
                return d.innerHTML; }""",
            sample,
        )
        # the server's HTML, read back by the same browser so both are serialised alike
        server_html = page.evaluate(
            "html => { const t = document.createElement('template'); t.innerHTML = html; "
            "const d = document.createElement('div'); d.append(t.content); return d.innerHTML; }",
            to_html(sample),
        )
        assert widget_html == server_html, sample
    assert page.evaluate("window.pwned") is None


def test_staff_reply_with_a_list_and_a_table(page: Page, live_server: str) -> None:
    open_chat(page, live_server)
    ask(page, QUESTION)
    conversation_id = page.evaluate(f"localStorage.getItem('{STORAGE_KEY}')")
    response = page.request.post(
        f"{live_server}/api/staff/conversations/{conversation_id}/reply",
        headers={"Authorization": f"Bearer {STAFF_TOKEN}"},
        data={"staff_id": "sam", "text": STAFF_REPLY},
    )
    assert response.status == 200, response.text()

    body = page.locator("support-chat .msg.staff .body")
    expect(body.locator("li")).to_have_count(2)
    expect(body.locator("li").first).to_have_text("Exchange for another size")
    expect(body.locator("li strong")).to_have_text("Exchange")
    expect(body.locator("table")).to_have_count(1)
    expect(body.locator("table th")).to_have_text(["Size", "Chest"])
    expect(body.locator("table td")).to_have_text(["M", "38–40 in", "L", "41–44 in"])
    # the injected markup is shown as text and never becomes an element or runs
    expect(body).to_contain_text(INJECTED)
    assert page.locator("support-chat img").count() == 0
    assert page.locator("support-chat script").count() == 0
    assert body.locator("a").count() == 0  # the javascript: link keeps only its words
    assert page.evaluate("window.pwned") is None


def test_assistant_reply_with_a_list(page: Page, live_server: str) -> None:
    """A help-center answer that is a list arrives streamed, then is drawn as a list."""
    open_chat(page, live_server)
    reply = ask(page, "What payment methods do you accept?")
    items = reply.locator(".body li")
    expect(items.first).to_be_visible()
    assert items.count() >= 3
    expect(reply.locator(".body")).to_contain_text("PayPal")
    expect(reply.locator(".sources .chip").first).to_be_visible()


# ---- a small PNG reader (8-bit RGB/RGBA, not interlaced: what Chromium writes) -----------------


def read_png(data: bytes) -> tuple[int, int, PixelAt]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, "unsupported PNG layout"
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    rows: list[bytearray] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, row = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        unfilter(kind, row, prev, bpp)
        rows.append(row)
        prev = row

    def pixel(x: int, y: int) -> Rgb:
        i = x * bpp
        return rows[y][i], rows[y][i + 1], rows[y][i + 2]

    return width, height, pixel


def unfilter(kind: int, row: bytearray, prev: bytearray, bpp: int) -> None:
    for i in range(len(row)):
        left = row[i - bpp] if i >= bpp else 0
        up = prev[i]
        if kind == 1:
            row[i] = (row[i] + left) & 0xFF
        elif kind == 2:
            row[i] = (row[i] + up) & 0xFF
        elif kind == 3:
            row[i] = (row[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            up_left = prev[i - bpp] if i >= bpp else 0
            p = left + up - up_left
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
            pred = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
            row[i] = (row[i] + pred) & 0xFF


def css_rgb(value: str) -> Rgb:
    match = re.match(r"rgba?\((\d+), (\d+), (\d+)", value)
    assert match, value
    r, g, b = (int(v) for v in match.groups())
    return r, g, b


def close_to(p: Rgb, q: Rgb, tolerance: int = 10) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(p, q, strict=True))


def sample(pixel: PixelAt, box: FloatRect, step: int = 4) -> list[Rgb]:
    x0, y0 = int(box["x"]) + 2, int(box["y"]) + 2
    x1, y1 = int(box["x"] + box["width"]) - 2, int(box["y"] + box["height"]) - 2
    return [pixel(x, y) for x in range(x0, x1, step) for y in range(y0, y1, step)]
