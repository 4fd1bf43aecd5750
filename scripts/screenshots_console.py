"""Screenshots of the staff console for docs/staff.md: the queue, a conversation and analytics.

    .venv/bin/python scripts/screenshots_console.py [--out docs/screenshots]

Starts the real server on a loopback port over a fresh demo data dir (demo store, demo help
center, offline engine), then makes a shift's worth of demo data through the public APIs:
three staff accounts and saved replies (bearer token), customers writing through /api/chat
(questions, orders, a damaged-item return that waits for approval, requests for a person), and
staff claiming, answering and resolving. Two things cannot come from the APIs and are written to
the database directly, both marked below: ratings (the widget's `csat` frame) and the spreading
of the demo conversations over the last two weeks (all of them are made within a minute). Then
Debian's chromium (Playwright, executable_path) signs in as an agent and takes the pictures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

CHROMIUM = "/usr/bin/chromium"
TOKEN = "screenshot-staff-token-0123456789"
PASSWORD = "correct horse battery staple"
VIEWPORT = {"width": 1280, "height": 800}

STAFF = [
    ("robin@northwind.example", "Robin Diaz", "admin"),
    ("sam@northwind.example", "Sam Okafor", "agent"),
    ("alex@northwind.example", "Alex Chen", "agent"),
]
SAVED_REPLIES = [
    ("Greeting", "Hi {{first_name}}, thanks for waiting. I'm looking at this now."),
    ("Refund timing", "Refunds reach the original payment method 5-10 business days after "
                      "the return arrives at our warehouse."),
    ("Carrier claim", "I've opened a claim with the carrier for order {{order_number}}; "
                      "you'll hear from us within 2 business days."),
]
# what customers write; the last line of each asks for a person unless it says otherwise
CHATS = [
    ["What is your return policy?"],
    ["How long does delivery take to Canada?"],
    ["Do you price match?", "I want to talk to a person"],
    ["My parcel says delivered but it is not here", "I need a human please"],
    ["Can I change the size of my order?", "Can I speak to someone"],
    ["Do you sell gift cards?"],
    ["Is the Trail Runner GTX waterproof?"],
    ["How do I use my rewards points?"],
    ["I was charged twice for my order!!", "agent please, this is urgent"],
    ["Where can I find my invoice?"],
    ["Do you ship to PO boxes?"],
    ["What are your opening hours?"],
    ["Can I pay with Klarna?"],
    ["How do I reset my password?"],
    ["Is there a student discount?"],
]


def serve(settings: Any) -> tuple[str, Any]:
    """The product on a free loopback port, in a thread with its own event loop."""
    import socket

    import uvicorn

    from server import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 300
    while not server.started:
        if time.monotonic() > deadline:
            raise SystemExit("the server did not start")
        time.sleep(0.1)
    return f"http://127.0.0.1:{port}", server


def chat(api: httpx.Client, text: str, conversation_id: str | None = None) -> dict[str, Any]:
    answer = api.post("/api/chat", json={"text": text, "conversation_id": conversation_id})
    answer.raise_for_status()
    return dict(answer.json())


def approval_orders(settings: Any, count: int) -> list[Any]:
    """Fresh delivered one-item orders worth $110-240 of different customers: damaged, each
    return needs staff approval."""
    from datetime import UTC, datetime

    from commerce.demo.store import DemoStore
    from commerce.models import OrderStatus

    async def find() -> list[Any]:
        store = DemoStore.open(settings.demo_store_path)
        found: dict[str, Any] = {}
        try:
            recent = datetime.now(UTC) - timedelta(days=20)
            for order in await store.list_orders(status=OrderStatus.DELIVERED, limit=500):
                item = order.line_items[0]
                if (len(order.line_items) == 1 and order.delivered_at
                        and order.delivered_at > recent and not item.final_sale
                        and item.returned_quantity == 0 and order.customer_id not in found
                        and item.quantity == 1 and 110 < item.unit_price < 240):
                    found[order.customer_id] = order
                if len(found) == count:
                    return list(found.values())
            raise SystemExit("not enough demo orders fit the approval example")
        finally:
            await store.close()

    return asyncio.run(find())


def damaged_return(api: httpx.Client, order: Any) -> str:
    """The return dialogue through /api/chat until the customer says yes."""
    turn = chat(api, f"My {order.line_items[0].name} from order {order.number} arrived "
                     f"damaged. {order.email}")
    cid = turn["conversation_id"]
    for _ in range(8):
        reply = turn["reply"]
        if "Shall I go ahead" in reply:
            chat(api, "Yes", cid)
            return str(cid)
        if "Which item" in reply:
            turn = chat(api, f"the {order.line_items[0].name}", cid)
        elif "reason" in reply.lower():
            turn = chat(api, "it arrived damaged, the seam is torn", cid)
        elif "refund" in reply.lower() or "store credit" in reply:
            turn = chat(api, "a refund please", cid)
        else:
            turn = chat(api, "I want to return it", cid)
    raise SystemExit(f"the return dialogue did not reach a confirmation: {turn['reply']}")


def seed(base: str, settings: Any) -> dict[str, Any]:
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    staff = httpx.Client(base_url=base, headers=bearer, timeout=120)
    members = {}
    for email, name, role in STAFF:
        made = staff.post("/api/staff/members",
                          json={"email": email, "name": name, "role": role, "password": PASSWORD})
        made.raise_for_status()
        members[name.split()[0].lower()] = made.json()
    for title, text in SAVED_REPLIES:
        staff.post("/api/staff/saved-replies",
                   json={"title": title, "text": text, "staff_id": members["robin"]["id"]}
                   ).raise_for_status()

    customer = httpx.Client(base_url=base, timeout=120)
    conversations = []
    for lines in CHATS:
        cid = None
        for line in lines:
            cid = chat(customer, line, cid)["conversation_id"]
        conversations.append(cid)
    shown_order, approved, rejected = approval_orders(settings, 3)
    shown = damaged_return(customer, shown_order)
    chat(customer, "Also, can I talk to someone about the replacement?", shown)
    decided = [damaged_return(customer, approved), damaged_return(customer, rejected)]
    waiting = staff.get("/api/staff/actions", params={"status": "awaiting_approval"}).json()
    mine = {a["conversation_id"] for a in waiting} & set(decided)
    if len(mine) != 2:
        every = staff.get("/api/staff/actions").json()
        raise SystemExit(f"returns not waiting for approval: {decided} {every}")
    for action in waiting:
        if action["conversation_id"] == decided[0]:
            staff.post(f"/api/staff/actions/{action['id']}/approve",
                       json={"staff_id": "alex"}).raise_for_status()
        elif action["conversation_id"] == decided[1]:
            staff.post(f"/api/staff/actions/{action['id']}/reject",
                       json={"staff_id": "alex", "note": "The photo shows wear, not damage."}
                       ).raise_for_status()

    queue = staff.get("/api/staff/queue").json()
    sam, alex = members["sam"]["id"], members["alex"]["id"]
    # Alex answered and resolved one; Sam holds another; the rest wait
    done = [i for i in queue if i["conversation_id"] not in (shown, *decided)]
    resolved = None
    if done:
        cid = resolved = done[-1]["conversation_id"]
        staff.post(f"/api/staff/conversations/{cid}/reply",
                   json={"staff_id": alex, "text": "Sorted: the duplicate charge is refunded."}
                   ).raise_for_status()
        staff.post(f"/api/staff/conversations/{cid}/resolve", json={"staff_id": alex})
    if len(done) > 1:
        staff.post(f"/api/staff/conversations/{done[0]['conversation_id']}/assign",
                   json={"staff_id": alex}).raise_for_status()
    staff.post(f"/api/staff/conversations/{shown}/notes",
               json={"staff_id": sam, "text": "Photo shows a torn seam. Approve if under $250."}
               ).raise_for_status()
    history(settings, conversations, resolved)
    return {"members": members, "shown": shown}


def history(settings: Any, conversations: list[str], by_staff: str | None) -> None:
    """Demo data only, written to the database directly: the conversations spread over the
    last 14 days (they were all made a minute ago), and ratings as the widget would store."""
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from storage.tables import Conversation, Escalation, Message, utcnow
    from storage.tables_widget import OutcomeEvent, OutcomeKind

    rng = random.Random(16)
    engine = create_engine(f"sqlite:///{settings.data_dir / 'support.db'}")
    now = utcnow()
    with Session(engine) as db, db.begin():
        queued = iter([7, 3 * 24 * 60, 25, 50, 2 * 60, 26 * 60])  # minutes ago
        for cid in conversations:
            waiting = db.scalars(select(Escalation).where(Escalation.conversation_id == cid)).all()
            # what still waits in the queue came in this morning or before the weekend; the
            # rest is spread over two weeks
            shift = (timedelta(minutes=next(queued, 15)) if waiting
                     else timedelta(days=rng.randint(1, 13), hours=rng.randint(0, 8)))
            rows: list[Any] = [db.get(Conversation, cid), *waiting]
            for table in (Message, OutcomeEvent):
                rows += db.scalars(select(table).where(table.conversation_id == cid)).all()
            for row in rows:
                row.created_at = row.created_at - shift
        for _ in range(24):
            db.add(OutcomeEvent(
                conversation_id=rng.choice(conversations), kind=OutcomeKind.CSAT,
                score=rng.choice([5, 5, 5, 4, 4, 4, 3, 2, 5, 4]),
                detail={"comment": None, "resolution": 1}, channel="web",
                created_at=now - timedelta(days=rng.randint(0, 13), hours=rng.randint(0, 20))))
        for score in [5, 4, 5, 5, 3, 5] if by_staff else []:  # after a staff member answered
            db.add(OutcomeEvent(conversation_id=by_staff, kind=OutcomeKind.CSAT, score=score,
                                detail={"comment": None, "resolution": 1}, channel="web",
                                created_at=now))
    engine.dispose()


def shoot(base: str, seeded: dict[str, Any], out: Path) -> list[Path]:
    from playwright.sync_api import expect, sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    shots = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_context(viewport=VIEWPORT).new_page()
        page.set_default_timeout(20_000)
        page.goto(f"{base}/console")
        page.get_by_label("Email").fill("sam@northwind.example")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("header.top .live")).to_have_text("Live")
        expect(page.locator("table.grid tbody tr").first).to_be_visible()

        def snap(name: str, *, full_page: bool = False) -> None:
            page.mouse.move(0, 0)
            page.wait_for_timeout(300)
            path = out / f"console-{name}.png"
            page.screenshot(path=path, full_page=full_page)
            shots.append(path)

        snap("queue")
        page.goto(f"{base}/console#/c/{seeded['shown']}")
        expect(page.locator(".actions-card .action").first).to_be_visible()
        page.get_by_label("Reply to the customer").fill(
            "Hi, Sam here. Sorry about the torn seam: I'm approving the return now.")
        snap("conversation")
        page.goto(f"{base}/console#/analytics")
        expect(page.locator("svg.chart").first).to_be_visible()
        snap("analytics", full_page=True)
        # knowledge as the admin, who writes the article an unanswered question asks for
        page.get_by_role("button", name="Sign out").click()
        page.get_by_label("Email").fill("robin@northwind.example")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"{base}/console#/knowledge")
        expect(page.locator("table.docs tbody tr").first).to_be_visible()
        page.get_by_role("button", name="Write an article for this").first.click()
        page.get_by_label("Answer (Markdown)").fill(
            "Yes: at checkout choose **Klarna** to pay in 4 interest-free instalments.")
        page.evaluate("window.scrollTo(0, 0)")
        snap("knowledge")
        browser.close()
    return shots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--size", default="1280x800", help="the browser window, WIDTHxHEIGHT")
    args = parser.parse_args()
    width, _, height = args.size.partition("x")
    VIEWPORT.update(width=int(width), height=int(height))
    from pydantic import SecretStr

    from settings import Settings

    data = Path(tempfile.mkdtemp(prefix="console-shots-"))
    settings = Settings(env="test", data_dir=data, demo=True, staff_token=SecretStr(TOKEN),
                        escalations_per_client_per_hour=1_000, messages_per_ip_per_min=10_000)
    base, server = serve(settings)
    try:
        seeded = seed(base, settings)
        for path in shoot(base, seeded, args.out):
            print(path)  # noqa: T201
    finally:
        server.should_exit = True


if __name__ == "__main__":
    main()
