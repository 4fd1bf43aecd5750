"""The reply format: structure survives, and nothing in a reply can become markup or script in the
HTML rendering (email) or the plain-text one. The widget's own renderer is checked against this
one in tests/widget/test_widget_browser.py."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from markdown_safe import escape, to_html, to_text

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "ul",
    "ol",
    "li",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "a",
}


class Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Collect()
    parser.feed(html)
    return parser.tags


def assert_safe(html: str) -> None:
    for tag, attrs in tags_of(html):
        assert tag in ALLOWED_TAGS, f"<{tag}> in {html!r}"
        allowed = {"href", "rel", "target"} if tag == "a" else {"start"} if tag == "ol" else set()
        assert set(attrs) <= allowed, f"<{tag} {attrs}> in {html!r}"
        if tag == "a":
            assert re.match(r"^(https?://|mailto:)", attrs["href"] or "", re.I), attrs
            assert attrs["rel"] == "nofollow noopener noreferrer" and attrs["target"] == "_blank"


def test_lists_tables_and_emphasis_keep_their_structure() -> None:
    text = (
        "We accept:\n\n- Visa and **Mastercard**\n- PayPal\n\n"
        "1. Ask the assistant\n   with your order number\n2. Use the *returns page*\n\n"
        "| Destination | Delivery |\n| --- | --- |\n| Canada | 5–10 business days |\n\n"
        "Line one\nline two"
    )
    html = to_html(text)
    assert html == (
        "<p>We accept:</p>"
        "<ul><li>Visa and <strong>Mastercard</strong></li><li>PayPal</li></ul>"
        "<ol><li>Ask the assistant with your order number</li>"
        "<li>Use the <em>returns page</em></li></ol>"
        "<table><thead><tr><th>Destination</th><th>Delivery</th></tr></thead>"
        "<tbody><tr><td>Canada</td><td>5–10 business days</td></tr></tbody></table>"
        "<p>Line one<br>line two</p>"
    )
    assert to_text(text) == (
        "We accept:\n\n- Visa and Mastercard\n- PayPal\n\n"
        "1. Ask the assistant with your order number\n2. Use the returns page\n\n"
        "Destination | Delivery\nCanada | 5–10 business days\n\nLine one\nline two"
    )


def test_numbered_list_keeps_its_start_and_headings_turn_bold() -> None:
    assert to_html("3. third\n4. fourth") == '<ol start="3"><li>third</li><li>fourth</li></ol>'
    assert to_html("## Returns") == "<p><strong>Returns</strong></p>"


def test_links_http_https_mailto_and_bare_urls() -> None:
    html = to_html(
        "See [the policy](https://shop.example/returns?a=1&b=2), "
        "mail [us](mailto:help@shop.example) or https://shop.example/faq."
    )
    assert_safe(html)
    hrefs = [a["href"] for tag, a in tags_of(html) if tag == "a"]
    assert hrefs == [
        "https://shop.example/returns?a=1&b=2",
        "mailto:help@shop.example",
        "https://shop.example/faq",
    ]
    assert "&amp;b=2" in html  # the attribute is escaped, the parser reads it back
    assert to_text("[the policy](https://shop.example/r)") == "the policy (https://shop.example/r)"


@pytest.mark.parametrize(
    "attack",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "<a href='javascript:alert(1)'>x</a>",
        "[click me](javascript:alert(1))",
        "[click me](JavaScript:alert`1`)",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[x](vbscript:msgbox)",
        "[x](//evil.example/a)",
        "[x](/relative/path)",
        '[x](https://a.example/"onmouseover="alert(1))',
        "[x](https://a.example/'onmouseover='alert(1))",
        '[x](https://a.example/?q="><script>alert(1)</script>)',
        "https://a.example/<script>alert(1)</script>",
        '**<b onclick="x()">bold</b>**',
        "| <svg onload=alert(1)> | x |\n| --- | --- |\n| <iframe src=javascript:alert(1)> | y |",
        "- <style>*{}</style>\n- &lt;script&gt;",
        "&#106;avascript:alert(1) [x](&#106;avascript:alert(1))",
        "_<script>_ *<script>*",
    ],
)
def test_no_markup_or_script_gets_through(attack: str) -> None:
    html = to_html(attack)
    assert_safe(html)
    lowered = html.lower()
    assert "<script" not in lowered and "<img" not in lowered and "<svg" not in lowered
    assert "javascript:" not in " ".join(str(a.get("href")) for _, a in tags_of(html))
    assert "onerror=" not in re.sub(r"&[a-z]+;|&#\d+;", "", "".join(re.findall(r"<[^>]*>", html)))


def test_unsafe_link_keeps_its_words_and_drops_the_target() -> None:
    assert to_html("[click me](javascript:alert)") == "<p>click me</p>"
    assert to_text("[click me](javascript:alert)") == "click me"


def test_link_policy_hook() -> None:
    only_shop = lambda url: url.startswith("https://shop.example/")  # noqa: E731
    html = to_html("[a](https://shop.example/x) [b](https://evil.example/y)", allow_link=only_shop)
    assert [a["href"] for tag, a in tags_of(html) if tag == "a"] == ["https://shop.example/x"]
    assert "b" in html and "evil" not in html


def test_snake_case_is_not_emphasis_and_escapes_are_literal() -> None:
    assert to_html("order_number and _this_") == "<p>order_number and <em>this</em></p>"
    assert to_html(r"\*not bold\* and 2 \* 3") == "<p>*not bold* and 2 * 3</p>"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=80))
def test_escaped_store_text_shows_exactly_as_written(value: str) -> None:
    line = value.strip()
    assert to_text(escape(line)) == line
    assert_safe(to_html(escape(line)))


@given(st.text(max_size=200))
def test_any_text_renders_to_safe_html(value: str) -> None:
    assert_safe(to_html(value))
