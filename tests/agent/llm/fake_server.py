"""A scripted OpenAI-compatible server for the tests of the LLM path: a small FastAPI app that
speaks `/v1/chat/completions` (streaming and not), served by a real uvicorn on loopback, so the
real `ChatOpenAI` client and its HTTP stack are what the tests exercise.

Each request takes the next step of the test's script:
- `{"text": "..."}`: an assistant reply;
- `{"tool_calls": [{"name": ..., "arguments": {...} or "raw text", "id": ...}]}`;
- `{"status": 500}`: an HTTP error; `{"hang": 5.0}`: no answer for that long;
- `{"cut": 2}`: a stream that stops after two chunks without finishing (the connection drops);
- `{"garbage": True}`: a 200 whose body is not JSON (streamed: a broken event).
`usage` may override the reported tokens. Every request body is kept in `requests`; a request
past the end of the script gets HTTP 500 and is counted in `overrun`, so a test can see it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse

from tests.conftest import free_port


class ScriptedOpenAI:
    def __init__(self) -> None:
        self.script: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.overrun = 0
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = self._build()

    # ---- the app ----------------------------------------------------------------------------

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def completions(request: Request) -> Any:
            body = await request.json()
            self.requests.append(body)
            if not self.script:
                self.overrun += 1
                return JSONResponse({"error": {"message": "script exhausted"}}, status_code=500)
            step = self.script.pop(0)
            if step.get("hang"):
                await asyncio.sleep(float(step["hang"]))
            if step.get("status"):
                return JSONResponse(
                    {"error": {"message": "scripted failure", "type": "server_error"}},
                    status_code=int(step["status"]),
                )
            model = body.get("model", "scripted")
            if body.get("stream"):
                return StreamingResponse(_stream(step, model, body), media_type="text/event-stream")
            if step.get("garbage"):
                return PlainTextResponse("<html>bad gateway</html>", status_code=200)
            return JSONResponse(_completion(step, model, body))

        return app

    # ---- lifecycle --------------------------------------------------------------------------

    def start(self) -> ScriptedOpenAI:
        port = free_port()
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the scripted OpenAI server did not start")
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{port}/v1"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def assert_complete(self) -> None:
        assert not self.script, f"unused script steps: {self.script}"
        assert self.overrun == 0, f"{self.overrun} requests past the end of the script"


def _usage(step: dict[str, Any], body: dict[str, Any]) -> dict[str, int]:
    usage = step.get("usage") or {}
    prompt = usage.get("prompt_tokens", 10 * len(body.get("messages") or []))
    completion = usage.get("completion_tokens", 7)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _tool_calls(step: dict[str, Any]) -> list[dict[str, Any]]:
    calls = []
    for i, call in enumerate(step.get("tool_calls") or []):
        args = call.get("arguments", {})
        calls.append(
            {
                "id": call.get("id", f"call_{i + 1}"),
                "type": "function",
                "function": {
                    "name": call["name"],
                    "arguments": args if isinstance(args, str) else json.dumps(args),
                },
            }
        )
    return calls


def _completion(step: dict[str, Any], model: str, body: dict[str, Any]) -> dict[str, Any]:
    calls = _tool_calls(step)
    message: dict[str, Any] = {"role": "assistant", "content": step.get("text")}
    if calls:
        message["tool_calls"] = calls
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}
        ],
        "usage": _usage(step, body),
    }


def _pieces(text: str) -> Iterator[str]:
    """A reply in word-sized chunks, as providers stream it."""
    word = ""
    for ch in text:
        word += ch
        if ch == " ":
            yield word
            word = ""
    if word:
        yield word


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> str:
    data = {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(data)}\n\n"


async def _stream(step: dict[str, Any], model: str, body: dict[str, Any]) -> AsyncIterator[str]:
    if step.get("garbage"):
        yield "data: {this is not json\n\n"
        return
    events = [_chunk(model, {"role": "assistant", "content": ""})]
    events += [_chunk(model, {"content": piece}) for piece in _pieces(step.get("text") or "")]
    for i, call in enumerate(_tool_calls(step)):
        events.append(_chunk(model, {"tool_calls": [{"index": i, **call}]}))
    events.append(_chunk(model, {}, "tool_calls" if step.get("tool_calls") else "stop"))
    if (body.get("stream_options") or {}).get("include_usage"):
        usage = {
            "id": "chatcmpl-scripted",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [],
            "usage": _usage(step, body),
        }
        events.append(f"data: {json.dumps(usage)}\n\n")
    events.append("data: [DONE]\n\n")
    cut = step.get("cut")
    for n, event in enumerate(events):
        if cut is not None and n >= cut:
            # the provider dies mid-answer: the connection closes without the rest of the body
            raise ConnectionResetError("scripted cut")
        yield event
        await asyncio.sleep(0)
