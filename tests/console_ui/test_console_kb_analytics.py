"""The staff console's knowledge and analytics pages in real headless Chromium against the real
server: an article written for an unanswered question becomes searchable, and the analytics
charts draw the day's conversation."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.console_ui.conftest import BEARER, Member

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("escalations_uncapped")]


def test_write_an_article_for_an_unanswered_question(
    console: Callable[[Member], Page],
    staff_member: Callable[[str], Member],
    contexts: Callable[..., BrowserContext],
    live_server: str,
) -> None:
    api = contexts().request
    # the demo help center lists the methods it takes, Venmo not among them, and says nothing
    # about it: unanswered with either embedder ("Can I pay with Klarna?" now gets the list)
    question = "Do you accept Venmo?"
    asked = api.post(f"{live_server}/api/chat", data={"text": question})
    assert asked.status == 200, asked.text()

    admin = console(staff_member("admin"))
    admin.locator("header.top nav").get_by_role("link", name="Knowledge").click()
    entry = admin.locator("ol.unanswered li", has_text=question)
    expect(entry).to_be_visible()
    entry.get_by_role("button", name="Write an article for this").click()
    title = admin.get_by_label("Title (the question it answers)")
    expect(title).to_have_value(re.compile("Venmo"))
    expect(admin.get_by_label("Answer (Markdown)")).to_be_focused()
    admin.get_by_label("Answer (Markdown)").fill(
        "Yes. At checkout choose Venmo and approve the payment in the Venmo app.")
    admin.get_by_role("button", name="Publish article").click()
    row = admin.locator("table.docs tr[data-doc='do-you-accept-venmo.md']")
    expect(row).to_be_visible()

    found = api.get(f"{live_server}/api/staff/kb/search", params={"q": question},
                    headers=BEARER).json()
    assert found["answerable"] and found["results"][0]["source"] == "do-you-accept-venmo.md"

    # and out again, so the session's other tests see the demo help center as it was
    admin.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)


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
