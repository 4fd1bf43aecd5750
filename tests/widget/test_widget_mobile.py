"""The widget on a phone and on hostile pages: the bubble can be tapped and the open panel fits
the visual viewport (demo storefront, a page wider than the screen, a page under a zoom or an
on-screen keyboard), and a store's aggressive CSS changes nothing inside the widget."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.widget.fake_shop import open_shop

pytestmark = pytest.mark.browser

PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}
# What a store's own stylesheet might do to every element of its pages.
HOSTILE_CSS = """<style>
  * { all: unset; }
  html { font-size: 40px !important; line-height: 3 !important; letter-spacing: 4px; }
  body { display: block !important; transform: translateX(30px) scale(1.1);
    font-family: Impact, serif !important; color: #f0f !important; }
  div { display: none !important; }
  button { background: #f00 !important; width: 300px !important; padding: 40px !important; }
  * { box-sizing: content-box !important; pointer-events: auto !important; }
  support-chat { position: static; display: inline; transform: rotate(10deg); opacity: .2; }
</style>"""
# A page wider than the phone: the layout viewport grows, the visual one does not.
OVERFLOW = "<style>.bar .wrap { flex-wrap: nowrap !important; min-width: 640px; }</style>"


@pytest.fixture
def phone(chromium_browser: Browser) -> Page:
    context = chromium_browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page  # type: ignore[misc]
    context.close()


def visual_viewport(page: Page) -> dict[str, float]:
    return page.evaluate(
        "({x: visualViewport.offsetLeft, y: visualViewport.offsetTop, "
        "w: visualViewport.width, h: visualViewport.height})"
    )


def box(page: Page, selector: str) -> dict[str, float]:
    found = page.evaluate(
        "s => { const r = document.querySelector('support-chat').shadowRoot.querySelector(s)"
        ".getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width, h: r.height}; }",
        selector,
    )
    assert found["w"] > 0 and found["h"] > 0, f"{selector} has no box"
    return found


def inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["y"] >= outer["y"] - 0.5
        and inner["x"] + inner["w"] <= outer["x"] + outer["w"] + 0.5
        and inner["y"] + inner["h"] <= outer["y"] + outer["h"] + 0.5
    )


def assert_tappable_and_fits(page: Page) -> None:
    vv = visual_viewport(page)
    launcher = box(page, ".launcher")
    assert inside(launcher, vv), (launcher, vv)
    cx, cy = launcher["x"] + launcher["w"] / 2, launcher["y"] + launcher["h"] / 2
    # What a tap at the bubble's centre hits: the widget, and inside it the launcher.
    assert (
        page.evaluate("([x, y]) => document.elementFromPoint(x, y)?.tagName", [cx, cy])
        == "SUPPORT-CHAT"
    )
    assert page.evaluate(
        "([x, y]) => !!document.querySelector('support-chat').shadowRoot.elementFromPoint(x, y)"
        "?.closest('.launcher')",
        [cx, cy],
    )
    page.touchscreen.tap(cx, cy)
    expect(page.locator("support-chat .panel")).to_be_visible()
    vv = visual_viewport(page)
    panel = box(page, ".panel")
    assert inside(panel, vv) and panel["w"] >= vv["w"] - 1 and panel["h"] >= vv["h"] - 1, (
        panel,
        vv,
    )
    for part in ("header", ".close", "textarea", ".send"):
        assert inside(box(page, part), vv), part


def test_demo_storefront_on_a_phone(phone: Page, live_server: str) -> None:
    phone.goto(f"{live_server}/")
    expect(phone.locator("support-chat .launcher")).to_be_visible()
    # the demo page itself is responsive now: nothing wider than the screen
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert_tappable_and_fits(phone)


def test_page_wider_than_the_phone(phone: Page) -> None:
    open_shop(phone, head=OVERFLOW)
    assert phone.evaluate("document.documentElement.scrollWidth") > 600
    assert_tappable_and_fits(phone)
    # Scrolled sideways and down, the panel still covers exactly what is on screen.
    phone.locator("support-chat .close").click()
    phone.evaluate("window.scrollTo(200, 300)")
    phone.wait_for_timeout(100)
    assert_tappable_and_fits(phone)


def test_keyboard_and_zoom_shrink_the_visual_viewport(phone: Page) -> None:
    """An on-screen keyboard or a pinch zoom: the panel follows visualViewport's resize."""
    open_shop(phone)
    phone.locator("support-chat .launcher").tap()
    cdp = phone.context.new_cdp_session(phone)
    # A 2x pinch zoom into the page's lower right: the visual viewport is 195x422 CSS px.
    cdp.send("Emulation.setPageScaleFactor", {"pageScaleFactor": 2})
    phone.evaluate("window.scrollTo(100, 200)")
    phone.wait_for_function("visualViewport.scale === 2")
    phone.wait_for_timeout(100)
    vv = visual_viewport(phone)
    assert vv["w"] < 200
    panel = box(phone, ".panel")
    assert abs(panel["w"] - vv["w"]) < 1 and abs(panel["h"] - vv["h"]) < 1, (panel, vv)
    for part in ("header", ".send"):
        assert inside(box(phone, part), vv), part


WIDGET_PARTS = [
    ".launcher",
    ".panel",
    "header",
    "h2",
    ".close",
    ".scroll",
    "textarea",
    ".send",
    ".attach",
    ".quick button",
    ".msg.assistant .body",
]
STYLES = [
    "fontSize",
    "fontFamily",
    "lineHeight",
    "color",
    "backgroundColor",
    "display",
    "letterSpacing",
    "paddingTop",
    "width",
    "height",
    "boxSizing",
    "transform",
]


def snapshot(page: Page) -> dict[str, Any]:
    return page.evaluate(
        """([parts, styles]) => {
          const root = document.querySelector("support-chat").shadowRoot, out = {};
          for (const sel of parts) {
            const e = root.querySelector(sel), r = e.getBoundingClientRect();
            const cs = getComputedStyle(e);
            out[sel] = {box: [r.x, r.y, r.width, r.height].map(Math.round),
                        style: Object.fromEntries(styles.map((k) => [k, cs[k]]))};
          }
          return out;
        }""",
        [WIDGET_PARTS, STYLES],
    )


@pytest.mark.parametrize("size", [{"width": 1100, "height": 760}, {"width": 390, "height": 844}])
def test_aggressive_page_css_does_not_change_the_widget(page: Page, size: dict[str, int]) -> None:
    page.set_viewport_size(size)  # type: ignore[arg-type]
    snaps = []
    for head in ("", HOSTILE_CSS):
        open_shop(page, head=head)
        # Closed, the widget's full-viewport box lets clicks through to the page.
        assert page.evaluate("document.elementFromPoint(5, 5)?.tagName") != "SUPPORT-CHAT"
        page.locator("support-chat .launcher").click()
        expect(page.locator("support-chat .panel")).to_be_visible()
        snaps.append(snapshot(page))
    plain, hostile = snaps
    for sel in WIDGET_PARTS:
        assert hostile[sel] == plain[sel], sel
