"""Personal data typed in chat ends up only in the conversation itself.

Known emails, phone numbers, postal codes (US, UK, Canadian) and a street address are typed
through the real runner over the tiny store: a verification with the right email, help-center
questions that carry postal codes and a third party's email, an address change confirmed and
carried out, and a request for a person that gives two phone numbers. Once with the offline
engine, once with a scripted model that takes every tool path. The helpdesk ticket is
delivered. Then every table and every DEBUG log line is searched for the typed values.

Where they may stay, by decision (docs/security.md, "Personal data"):
  - `messages` and the conversation's dialogue state (`conversations.engine_state`): the
    conversation itself, deleted by retention and erasure, included in the export;
  - the pending action of the verified customer's own address change: the store needs the new
    address to carry it out and staff review it (GET /api/staff/actions).
Nowhere else: not the audit log, escalations, the outbox, throttles, or the logs."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import MetaData, Table, inspect, select

from channels.summary import collect
from logs import configure_logging
from storage.tables import AuditEntry, Escalation
from tests.fakes import ScriptedChatModel, calls, says

VERIFY_EMAIL = "bob@example.com"  # the tiny store's customer c2, owner of unshipped #1003
THIRD_EMAIL = "carol.quinn@neighbours.example"
PHONE_US = "(503) 555-0142"
PHONE_INTL = "+44 20 7946 0958"
ZIP = "90210"
UK = "SW1A 1AA"
CANADA = "K1A 0B1"
STREET = "42 Evergreen Terrace"  # a 3-4 digit house number is read as an order number today
NEW_ZIP = "97477"
ADDRESS = f"{STREET}, Springfield, OR {NEW_ZIP}, US"

SEEDS = [VERIFY_EMAIL, THIRD_EMAIL, PHONE_US, "503-555-0142", PHONE_INTL, ZIP, UK, "SW1A1AA"]
SEEDS += [CANADA, "K1A0B1", STREET, NEW_ZIP, "5550142", "79460958"]
# the customer's own new address: kept where the action needs it
OWN_ADDRESS = {STREET, NEW_ZIP}

TURNS = [
    "hi, where is my order #1003?",
    VERIFY_EMAIL,
    "I need to change the shipping address of order #1003",
    ADDRESS,
    "yes",
    f"do you ship to {ZIP}? a friend there ({THIRD_EMAIL}) wants to order too",
    f"what is your return policy if I live at {UK} or {CANADA}?",
    f"I want to talk to a person, call me on {PHONE_US} or {PHONE_INTL}",
]  # the offline engine's turns; the scripted model's are in its test


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging("DEBUG", stream=stream)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def _squash(text: str) -> str:
    """Compared without case, spaces and punctuation, so '555-0142' is found as '5550142'."""
    return "".join(c for c in text.lower() if c.isalnum() or c == "@")


async def _all_cells(services: Any) -> list[tuple[str, str, str]]:
    """(table, column, text) for every cell of every table in the database."""
    cells: list[tuple[str, str, str]] = []
    async with services.engine.connect() as conn:
        names = await conn.run_sync(lambda c: inspect(c).get_table_names())
        metadata = MetaData()
        for name in names:
            table = await conn.run_sync(lambda c, n=name: Table(n, metadata, autoload_with=c))
            for row in (await conn.execute(select(table))).mappings():
                for column, value in row.items():
                    text = value if isinstance(value, str) else json.dumps(value, default=str)
                    cells.append((name, column, text))
    return cells


def _allowed(table: str, column: str, seed: str) -> bool:
    if table == "messages" or (table, column) == ("conversations", "engine_state"):
        return True
    return (
        table == "pending_actions"
        and column in ("args", "summary", "result")
        and (seed in OWN_ADDRESS)
    )


async def _converse(services: Any, turns: list[str]) -> list[tuple[str, bool]]:
    conversation_id = None
    called: list[tuple[str, bool]] = []
    for text in turns:
        result = await collect(
            services.runner.run_turn(text=text, channel="widget", conversation_id=conversation_id)
        )
        conversation_id = result.conversation_id
        called += [(c.name, c.ok) for c in result.tool_calls]
    assert await services.outbox.run_once() >= 1  # the ticket goes to the (built-in) helpdesk
    return called


async def _assert_only_in_the_conversation(
    services: Any, called: list[tuple[str, bool]], logs: str
) -> None:
    # the scenario did what it claims: verified, searched, changed the address, escalated
    done = {name for name, ok in called if ok}
    assert {"verify_customer", "search_help_center", "change_shipping_address"} <= done, called
    assert services.store.orders["#1003"].shipping_address.line1 == STREET
    async with services.sessions() as session:
        escalations = (await session.scalars(select(Escalation))).all()
        audit = (await session.scalars(select(AuditEntry))).all()
    assert [e.reason for e in escalations] == ["customer_request"]

    cells = await _all_cells(services)
    leaks = [
        (table, column, seed)
        for table, column, text in cells
        for seed in SEEDS
        if _squash(seed) in _squash(text) and not _allowed(table, column, seed)
    ]
    assert leaks == []
    # the seeds did reach the conversation (the search is not blind)
    in_messages = " ".join(_squash(text) for table, _c, text in cells if table == "messages")
    assert [seed for seed in SEEDS if _squash(seed) not in in_messages] == []

    # the capture is live: on SQLite the migrations run in the test and log at DEBUG
    # (statements are not logged per call any more: SQLite runs most of them inline, asyncpg
    # never logged them); on PostgreSQL the schema is already there and two lines come
    sqlite = services.settings.sqlalchemy_url.startswith("sqlite")
    assert len(logs.splitlines()) > (15 if sqlite else 1)
    # object addresses in library DEBUG lines ("at 0x7ffae7690210") are not data: left out,
    # or a random address holding "90210" fails the run
    logs = re.sub(r"0x[0-9a-fA-F]+", " ", logs)
    assert [seed for seed in SEEDS if _squash(seed) in _squash(logs)] == []

    # staff views still read the audit log: results parse, `answerable` and order numbers stay
    searches = [a for a in audit if a.tool == "search_help_center"]
    assert [json.loads(a.result)["answerable"] for a in searches] == [False, True]
    assert "[postal code]" in searches[0].args["query"]
    assert any(a.args.get("order_number") == "#1003" for a in audit)


async def test_offline_engine_keeps_typed_personal_data_in_the_conversation(
    make_services: Any, log_lines: io.StringIO
) -> None:
    services = await make_services()
    called = await _converse(services, TURNS)
    await _assert_only_in_the_conversation(services, called, log_lines.getvalue())


async def test_tool_paths_keep_typed_personal_data_in_the_conversation(
    make_services: Any, log_lines: io.StringIO
) -> None:
    """The same through every tool path a model may take (a scripted model's tool calls)."""
    turns = [
        f"hi, where is my order #1003? my email is {VERIFY_EMAIL}",
        TURNS[5],
        TURNS[6],
        f"please ship order #1003 to {ADDRESS} instead",
        "yes",
        TURNS[7],
    ]
    address = {"line1": STREET, "city": "Springfield", "region": "OR", "postal_code": NEW_ZIP}
    model = ScriptedChatModel(
        script=[
            calls("verify_customer", "c1", order_number="#1003", email=VERIFY_EMAIL),
            says("Thanks, you're verified."),
            calls("search_help_center", "c2", query=turns[1]),
            says("I couldn't find that. Shall I ask a colleague?"),
            calls("search_help_center", "c3", query=turns[2]),
            says("Returns are accepted within 30 days."),
            calls("change_shipping_address", "c4", order_number="#1003", country="US", **address),
            says("Reply yes to confirm the new address."),
        ]
    )
    services = await make_services(model=model)
    called = await _converse(services, turns)
    model.assert_complete()
    await _assert_only_in_the_conversation(services, called, log_lines.getvalue())
