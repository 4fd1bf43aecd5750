"""Browser fixtures for the staff console: the widget tests' Debian chromium (Playwright with
executable_path, never `playwright install`), the session's live server, and staff accounts
made through the admin API with the bearer token (the operator's key)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from settings import Settings
from tests.widget.conftest import VIEWPORT, chromium_browser, page  # noqa: F401  (fixtures)
from tests.widget.test_widget_browser import STAFF_TOKEN

BEARER = {"Authorization": f"Bearer {STAFF_TOKEN}"}
PASSWORD = "correct horse battery staple"
CONSOLE_VIEWPORT = {"width": 1280, "height": 800}


@dataclass(frozen=True)
class Member:
    id: str
    email: str
    name: str
    role: str
    password: str = PASSWORD


# throttle counts a test here adds for 127.0.0.1 that later tests on the same server must not see
SHARED_COUNTS = ("escalate:ip:", "staff-login:")


@pytest.fixture
def escalations_uncapped(
    live_server: str,  # noqa: ARG001  (its database must exist)
    live_settings: Settings,
) -> Iterator[None]:
    """Every test here opens escalations from 127.0.0.1, as the widget tests do on the same
    session-wide server: lift the per-IP cap (5 an hour) while it runs, and take the counts it
    added out again afterwards, so the widget tests meet the cap as they would alone."""
    from sqlalchemy import create_engine, delete, func, or_, select

    from storage.tables_security import ThrottleHit

    engine = create_engine(f"sqlite:///{live_settings.data_dir / 'support.db'}")
    with engine.connect() as conn:
        last = conn.execute(select(func.max(ThrottleHit.id))).scalar() or 0
    before = live_settings.escalations_per_client_per_hour
    live_settings.escalations_per_client_per_hour = 1_000
    yield
    live_settings.escalations_per_client_per_hour = before
    with engine.begin() as conn:
        conn.execute(delete(ThrottleHit).where(
            ThrottleHit.id > last,
            or_(*(ThrottleHit.key.startswith(prefix) for prefix in SHARED_COUNTS)),
        ))
    engine.dispose()


@pytest.fixture
def contexts(chromium_browser: Browser) -> Iterator[Callable[..., BrowserContext]]:  # noqa: F811
    """Fresh browser contexts (each its own cookies and storage), closed after the test."""
    made: list[BrowserContext] = []

    def new(**options: object) -> BrowserContext:
        viewport = options.pop("viewport", VIEWPORT)
        context = chromium_browser.new_context(viewport=viewport, **options)
        context.set_default_timeout(15_000)
        made.append(context)
        return context

    yield new
    for context in made:
        context.close()


@pytest.fixture
def staff_member(
    contexts: Callable[..., BrowserContext], live_server: str
) -> Callable[[str], Member]:
    """Adds a staff account with a unique email: `staff_member("agent")`."""
    api = contexts().request

    def add(role: str) -> Member:
        tag = uuid.uuid4().hex[:8]
        name = f"{'Alex' if role == 'agent' else 'Robin'} {tag[:3].upper()}"
        answer = api.post(
            f"{live_server}/api/staff/members",
            headers=BEARER,
            data={"email": f"{role}-{tag}@example.com", "role": role, "name": name,
                  "password": PASSWORD},
        )
        assert answer.status == 201, answer.text()
        body = answer.json()
        return Member(id=body["id"], email=body["email"], name=body["name"], role=body["role"])

    return add


def sign_in(tab: Page, base_url: str, member: Member) -> None:
    """Through the login form, as a person would."""
    tab.goto(f"{base_url}/console")
    tab.get_by_label("Email").fill(member.email)
    tab.get_by_label("Password").fill(member.password)
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.locator("header.top .who")).to_contain_text(member.name)
    expect(tab.locator("header.top .live")).to_have_text("Live")


@pytest.fixture
def console(
    contexts: Callable[..., BrowserContext], live_server: str
) -> Callable[[Member], Page]:
    """A console page signed in as `member`, at 1280 px."""

    def open_as(member: Member) -> Page:
        tab = contexts(viewport=CONSOLE_VIEWPORT).new_page()
        sign_in(tab, live_server, member)
        return tab

    return open_as
