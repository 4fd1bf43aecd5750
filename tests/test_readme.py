"""The README is run, not just read (STYLE.md rule 13): every concrete `support-agent` command in
it runs against a fresh data dir and exits 0 (its --json output parsed and checked), every
command in the Commands table exists with the options it lists, the `POST /api/chat` example
answers 200 with the shape the README gives, and every staff endpoint it lists is served."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from settings import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
STAFF = {"Authorization": "Bearer dev-staff-token"}


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.S)


def shell_commands() -> list[str]:
    """Commands in ```bash blocks (continuation lines joined)."""
    found = []
    for block in code_blocks("bash"):
        for command in block.replace("\\\n", " ").splitlines():
            if command.strip():
                found.append(command.strip())
    return found


def concrete_cli_commands() -> list[list[str]]:
    """`.venv/bin/support-agent ...` as written, in code blocks and inline code."""
    inline = re.findall(r"`(\.venv/bin/support-agent [^`]+)`", README.replace("\n  ", " "))
    blocks = [c for c in shell_commands() if c.startswith(".venv/bin/support-agent ")]
    return [shlex.split(c)[1:] for c in dict.fromkeys([*blocks, *inline])]


def table_rows(heading: str) -> list[str]:
    section = README.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| `")]


def test_the_readme_names_what_this_test_runs() -> None:
    commands = concrete_cli_commands()
    assert ["store", "orders", "--json", "--status", "shipped", "--limit", "5"] in commands
    assert ["ask", "What is your return policy?", "--json"] in commands
    assert any(c.startswith("curl ") and "/api/chat" in c for c in shell_commands())


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    data = tmp_path_factory.mktemp("readme-data")
    return {
        **os.environ,
        "SUPPORT_DATA_DIR": str(data),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
    }


@pytest.mark.parametrize("args", concrete_cli_commands(), ids=" ".join)
def test_every_concrete_command_runs(args: list[str], cli_env: dict[str, str]) -> None:
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "support-agent"), *args],
        cwd=ROOT,
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    if "--json" not in args:
        return
    data = json.loads(result.stdout)
    if args[:2] == ["store", "orders"]:
        assert len(data) == 5
        # the README promises orders with tracking when it says --status shipped
        assert all(o["status"] == "shipped" and o["tracking"]["tracking_number"] for o in data)
    if args[0] == "ask":
        assert set(data) == {
            "conversation_id",
            "reply",
            "citations",
            "tool_calls",
            "owner",
            "escalation",
        }
        assert data["reply"] and data["citations"]


def _options(row: str) -> list[str]:
    return sorted(set(re.findall(r"(--[a-z][a-z-]*)", row.split("|")[1])))


@pytest.mark.parametrize("row", table_rows("Commands"), ids=lambda r: r.split("`")[1][:40])
def test_every_listed_command_exists_with_its_options(row: str) -> None:
    from cli import app

    for usage in re.findall(r"`support-agent ([^`]+)`", row.split("|")[1]):
        words = []
        for word in usage.split():
            if word.startswith(("-", "[")) or word.isupper() or not word.isidentifier():
                break
            words.append(word)
        result = CliRunner().invoke(app, [*words, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, f"support-agent {' '.join(words)}: {result.output}"
        for option in re.findall(r"(--[a-z][a-z-]*)", usage):
            for name in option.split("/"):
                assert name in result.output, f"support-agent {' '.join(words)}: no {name}"


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, embedder: Any, triager: Any
) -> Iterator[TestClient]:
    """The app over the tiny store and a real (empty) help center, so the knowledge routes are
    the real ones."""
    from server import create_app
    from services import build_services
    from tests.fakes import MemoryStore

    settings = Settings(env="test", data_dir=tmp_path_factory.mktemp("readme-http"), demo=False)

    async def build() -> Any:
        return await build_services(
            settings, embedder=embedder, triager=triager, store=MemoryStore()
        )

    with TestClient(create_app(settings, build=build)) as test_client:
        yield test_client


def curl_request(command: str) -> tuple[str, str, dict[str, str], bytes]:
    args = shlex.split(command)[1:]
    method, headers, body, url = "GET", {}, b"", ""
    while args:
        arg = args.pop(0)
        if arg == "-X":
            method = args.pop(0)
        elif arg == "-H":
            name, _, value = args.pop(0).partition(":")
            headers[name.strip()] = value.strip()
        elif arg == "-d":
            body = args.pop(0).encode()
            method = "POST" if method == "GET" else method
        elif not arg.startswith("-"):
            url = arg
    return method, re.sub(r"^https?://[^/]+", "", url), headers, body


def test_the_curl_examples_work(client: TestClient) -> None:
    curls = [c for c in shell_commands() if c.startswith("curl ")]
    assert curls
    for command in curls:
        method, path, headers, body = curl_request(command)
        response = client.request(method, path, headers=headers, content=body)
        assert response.status_code == 200, f"{command}: {response.text}"
        data = response.json()
        # the shape the README gives for a turn
        assert set(data) == {
            "conversation_id",
            "reply",
            "citations",
            "tool_calls",
            "owner",
            "escalation",
        }
        assert data["reply"]


def test_the_chat_body_as_documented(client: TestClient) -> None:
    first = client.post("/api/chat", json={"text": "hello"})
    assert first.status_code == 200
    conversation_id = first.json()["conversation_id"]
    again = client.post(
        "/api/chat",
        json={"text": "thanks", "conversation_id": conversation_id, "client_id": "c-1"},
    )
    assert again.status_code == 200 and again.json()["conversation_id"] == conversation_id
    refused = client.post("/api/chat", json={"message": "hi"})
    assert refused.status_code == 400 and set(refused.json()["error"]) == {"code", "message"}


def staff_endpoints() -> list[tuple[str, str]]:
    found = []
    for row in table_rows("Staff API"):
        first = row.split("|")[1]
        for method, path in re.findall(r"`(GET|POST|DELETE) (/[^`]+)`", first):
            found.append((method, path))
            base = path.rsplit("/", 1)[0]
            # "`POST /x/{id}/claim` · `reply` · `handback`": the same base, other last parts
            for other in re.findall(r"· `([a-z]+)`", first):
                found.append((method, f"{base}/{other}"))
    return found


def _shape(path: str) -> str:
    """Path parameters named alike: the README writes {id} where the route says {doc_id}."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def _pattern(route: str) -> str:
    """A route's path as a regex: a parameter matches one segment, or a README placeholder."""
    return "".join(
        "[^/]+" if part.startswith("{") else re.escape(part)
        for part in re.split(r"(\{[^}]*\})", route)
    )


def test_every_staff_endpoint_listed_is_served(client: TestClient) -> None:
    endpoints = staff_endpoints()
    assert len(endpoints) >= 15
    schema = client.app.openapi()  # type: ignore[attr-defined]
    routes = [(m.upper(), _pattern(path)) for path, ops in schema["paths"].items() for m in ops]
    for method, path in endpoints:
        listed = _shape(path.split("?", 1)[0])
        served = any(m == method and re.fullmatch(p, listed) for m, p in routes)
        assert served, f"{method} {path} is not a route"
        if method == "GET" and "{" not in path:
            url = path + ("returns" if path.endswith("q=") else "")
            response = client.get(url, headers=STAFF)
            assert response.status_code == 200, f"{method} {url}: {response.text}"
