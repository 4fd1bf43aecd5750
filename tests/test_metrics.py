"""GET /metrics: the counters move with real turns over the socket, the outbox gauges come from
the database, prod wants the staff token, and N processes add up through the multiprocess
folder."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk
from prometheus_client.parser import text_string_to_metric_families

import metrics
from channels.summary import collect
from server import create_app
from services import build_services
from settings import Settings
from storage.tables import utcnow
from storage.tables_helpdesk import OutboxEntry
from tests.fakes import CannedKnowledge, MemoryStore, ScriptedChatModel, says
from tools import default_tools

STAFF_TOKEN = "k3Y9-qTz7Lw2Rb8Nf5Hd1Vc6Xm4Pj0Gs-AeUo"
ROOT = Path(__file__).resolve().parents[1]


def app_client(settings: Settings, embedder: Any, triager: Any) -> TestClient:
    async def build() -> Any:
        return await build_services(
            settings,
            embedder=embedder,
            triager=triager,
            store=MemoryStore(),
            knowledge=CannedKnowledge(),
        )

    return TestClient(create_app(settings, build=build))


@pytest.fixture
def client(settings: Settings, embedder: Any, triager: Any) -> Iterator[TestClient]:
    with app_client(settings, embedder, triager) as test_client:
        yield test_client


def parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value}"""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def scrape(client: TestClient) -> Callable[..., float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = parse(response.text)

    def value(name: str, **labels: str) -> float:
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    return value


def turn(ws: Any) -> list[dict[str, Any]]:
    frames = []
    while True:
        frames.append(ws.receive_json())
        if frames[-1]["type"] in ("message", "error"):
            return frames


def test_turns_tools_sockets_and_escalations_are_counted(client: TestClient) -> None:
    before = scrape(client)
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "message", "text": "where is my order?"})
        assert turn(ws)[-1]["type"] == "message"
        ws.send_json({"type": "message", "text": "#1001 ada@example.com"})
        assert turn(ws)[-1]["type"] == "message"
        ws.send_json({"type": "message", "text": "What is your return policy?"})
        assert turn(ws)[-1]["type"] == "message"
        during = scrape(client)
        assert during("support_open_sockets") == before("support_open_sockets") + 1
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "message", "text": "I want to talk to a person"})
        assert any(f["type"] == "escalated" for f in turn(ws))
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return after(name, **labels) - before(name, **labels)

    local = {"engine": "local"}
    assert moved("support_turn_seconds_count", kind="reply", **local) == 1  # asks for the number
    assert moved("support_turn_seconds_count", kind="order", **local) == 1
    assert moved("support_turn_seconds_count", kind="faq", **local) == 1
    assert moved("support_turn_seconds_count", kind="handoff", **local) == 1
    assert moved("support_turn_seconds_sum", kind="order", **local) > 0
    assert moved("support_tool_calls_total", tool="verify_customer") == 1
    assert moved("support_tool_calls_total", tool="get_order") == 1
    assert moved("support_tool_calls_total", tool="search_help_center") == 1
    assert moved("support_escalations_total", reason="customer_request") == 1
    assert after("support_open_sockets") == before("support_open_sockets")


def test_tool_failures_are_counted_by_decision(client: TestClient) -> None:
    before = scrape(client)
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "message", "text": "where is my order?"})
        turn(ws)
        ws.send_json({"type": "message", "text": "#1001 wrong@example.com"})
        assert turn(ws)[-1]["type"] == "message"
    after = scrape(client)
    refused = {"tool": "verify_customer", "decision": "refused"}
    assert after("support_tool_failures_total", **refused) == (
        before("support_tool_failures_total", **refused) + 1
    )


def test_outbox_gauges_read_the_database(client: TestClient) -> None:
    assert scrape(client)("support_outbox_depth") == 0
    services = client.app.state.services  # type: ignore[attr-defined]

    async def add_waiting_rows() -> None:
        async with services.sessions.begin() as session:
            for i, age in enumerate((600, 30)):
                session.add(
                    OutboxEntry(
                        kind="ticket.create",
                        target="builtin",
                        payload={},
                        idempotency_key=f"metrics-test-{i}",
                        # not due for an hour: the running outbox worker leaves them alone
                        next_attempt_at=utcnow() + timedelta(hours=1),
                        created_at=utcnow() - timedelta(seconds=age),
                    )
                )
            session.add(
                OutboxEntry(
                    kind="ticket.create",
                    target="builtin",
                    payload={},
                    idempotency_key="metrics-test-done",
                    status="delivered",
                    created_at=utcnow() - timedelta(days=3),
                )
            )

    client.portal.call(add_waiting_rows)  # type: ignore[union-attr]
    value = scrape(client)
    assert value("support_outbox_depth") == 2
    assert 590 <= value("support_outbox_oldest_age_seconds") < 3600


def test_prod_wants_the_staff_token(tmp_path: Path, embedder: Any, triager: Any) -> None:
    prod = Settings(
        env="prod",
        data_dir=tmp_path / "data",
        demo=False,
        secret_key="Zq8-xT3vLm1Np6Rb9Kd2Wc7Yf4Hj0Gs5AeUo",
        staff_token=STAFF_TOKEN,
    )
    with app_client(prod, embedder, triager) as client:
        refused = client.get("/metrics")
        assert refused.status_code == 401
        assert "support_turn_seconds" not in refused.text
        wrong = client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 38})
        assert wrong.status_code == 401
        allowed = client.get("/metrics", headers={"Authorization": f"Bearer {STAFF_TOKEN}"})
        assert allowed.status_code == 200
        assert "support_outbox_depth" in allowed.text


def test_turn_kinds_cover_every_tool() -> None:
    grouped = set().union(*(group for _, group in metrics.TURN_KINDS))
    assert {t.name for t in default_tools()} <= grouped
    assert metrics.turn_kind([]) == "reply"
    assert metrics.turn_kind(["verify_customer", "get_order"]) == "order"
    assert metrics.turn_kind(["verify_customer", "start_return"]) == "action"
    assert metrics.turn_kind(["search_help_center", "escalate_to_human"]) == "handoff"
    assert metrics.turn_kind(["something_new"]) == "other"


WORKER = textwrap.dedent(
    """
    import sys, metrics
    for seconds in [0.01] * int(sys.argv[1]):
        metrics.observe_turn(engine="local", tools=["get_order"], seconds=seconds)
    metrics.tool_called("get_order", "ok")
    metrics.escalation_opened("complaint")
    if sys.argv[2] == "hold":  # keeps one socket open until told to stop
        with metrics.socket_open():
            print("ready", flush=True)
            sys.stdin.readline()
    else:
        import asyncio
        sys.stdout.write(asyncio.run(metrics.render(None)).decode())
    """
)


def test_multiprocess_mode_adds_up_the_workers(tmp_path: Path) -> None:
    env: dict[str, str] = {"PATH": "/usr/bin:/bin"}
    folder = metrics.prepare_multiprocess_dir(tmp_path, env)
    assert env[metrics.MULTIPROC_ENV] == str(folder) and not any(folder.iterdir())
    command = [sys.executable, "-c", WORKER]
    holder = subprocess.Popen(
        [*command, "2", "hold"],
        env=env,
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        scraper = subprocess.run(
            [*command, "3", "scrape"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert scraper.returncode == 0, scraper.stderr
        seen = parse(scraper.stdout)
        order = (("engine", "local"), ("kind", "order"))
        assert seen[("support_turn_seconds_count", order)] == 5  # 2 + 3, from two processes
        assert seen[("support_tool_calls_total", (("tool", "get_order"),))] == 2
        assert seen[("support_escalations_total", (("reason", "complaint"),))] == 2
        assert seen[("support_open_sockets", ())] == 1  # the holder's socket, still open
    finally:
        holder.communicate("stop\n", timeout=60)
    assert holder.returncode == 0
    # the holder is gone: its socket leaves the sum (no live process reports the gauge), its
    # counts stay
    seen = parse(asyncio.run(metrics.render(None, multiproc_dir=folder)).decode())
    assert seen.get(("support_open_sockets", ()), 0) == 0
    assert not list(folder.glob("gauge_livesum_*.db"))
    assert seen[("support_turn_seconds_count", order)] == 5


def test_a_new_start_wipes_the_folder(tmp_path: Path) -> None:
    folder = metrics.prepare_multiprocess_dir(tmp_path, {})
    (folder / "counter_123.db").write_bytes(b"old run")
    again = metrics.prepare_multiprocess_dir(tmp_path, {})
    assert again == folder and list(folder.iterdir()) == []


def test_serve_hook_points_the_workers_at_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(metrics.MULTIPROC_ENV, "")  # restored (unset) after the test
    folder = metrics.prepare_multiprocess(Settings(env="test", data_dir=tmp_path / "data"))
    assert folder == (tmp_path / "data" / "metrics").resolve() and folder.is_dir()
    assert os.environ[metrics.MULTIPROC_ENV] == str(folder)


class UsageModel(ScriptedChatModel):
    """Reports token usage on its last chunk, as an OpenAI-compatible model does when streaming."""

    async def _astream(
        self, messages: list[Any], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        async for chunk in super()._astream(messages, stop, run_manager, **kwargs):
            yield chunk
        usage = {"input_tokens": 120, "output_tokens": 30, "total_tokens": 150}
        yield ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=usage))


async def test_model_tokens_are_counted_from_reported_usage(make_services: Any) -> None:
    services = await make_services(model=UsageModel(script=[says("Hello! How can I help?")]))
    before = parse((await metrics.render(None)).decode())
    result = await collect(services.runner.run_turn(text="hi", channel="web"))
    assert result.text == "Hello! How can I help?"
    after = parse((await metrics.render(None)).decode())

    def moved(direction: str) -> float:
        key = ("support_model_tokens_total", (("direction", direction), ("engine", "local")))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert moved("input") == 120 and moved("output") == 30
