"""The staff console's defences in real headless Chromium against the real server: markup in a
transcript shown as text, the Content-Security-Policy, the admin pages an agent never sees,
signing out, and wrong passwords meeting the throttle."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.console_ui.conftest import Member, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("escalations_uncapped")]


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
