"""The one way to make a tool: LangChain's @tool with parsed docstrings, a READ/WRITE tag, the
runtime context injected (never model-filled), ToolError turned into an error ToolMessage, and
every call written to the audit log."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

from langchain.tools import ToolRuntime
from langchain_core.tools import BaseTool, StructuredTool, ToolException, tool
from pydantic_core import to_jsonable_python

import metrics
from errors import ToolError
from masking import mask_args, mask_result
from storage import repo
from tools.context import SupportContext, ToolCallRecord

log = logging.getLogger(__name__)


class ToolKind(StrEnum):
    READ = "read"
    WRITE = "write"


ToolFn = Callable[..., Awaitable[dict[str, Any]]]


def support_tool(kind: ToolKind, *, label: str) -> Callable[[ToolFn], BaseTool]:
    """Decorates `async def name(..., runtime: ToolRuntime[SupportContext]) -> dict`.

    The dict becomes the ToolMessage content (JSON the model reads) and its artifact (for the
    runner). `label` is what the customer sees while the tool runs."""

    def decorate(fn: ToolFn) -> BaseTool:
        made = tool(fn, parse_docstring=True, response_format="content_and_artifact")
        assert isinstance(made, StructuredTool) and made.coroutine is not None
        _skip_runtime_in_dumps(made)
        inner = made.coroutine

        async def guarded(*args: Any, runtime: ToolRuntime[SupportContext], **kwargs: Any) -> Any:
            ctx = runtime.context
            shown = to_jsonable_python(
                {k: v for k, v in kwargs.items() if v is not None}, fallback=str
            )
            ok, decision = True, "ok"
            try:
                result = await inner(*args, runtime=runtime, **kwargs)
                content = json.dumps(result, default=str, ensure_ascii=False)
            except ToolError as exc:
                ok, decision, content, result = False, "refused", str(exc), None
            except Exception:
                log.exception("tool %s failed", made.name)
                ok, decision, result = False, "error", None
                content = "This tool failed unexpectedly. Apologise and offer a human colleague."
            ctx.tool_calls.append(ToolCallRecord(name=made.name, args=shown, ok=ok))
            metrics.tool_called(made.name, decision)
            await _audit(ctx, made.name, kind, shown, ok=ok, decision=decision, content=content)
            if not ok:
                raise ToolException(content)
            return content, result

        made.coroutine = guarded
        made.func = None
        made.handle_tool_error = True
        made.metadata = {"kind": kind.value, "label": label}
        return made

    return decorate


def _skip_runtime_in_dumps(made: StructuredTool) -> None:
    """LangChain validates a call's input against the tool's schema and dumps it to a dict
    before it re-adds the injected runtime. Dumped, the runtime is the whole graph state and
    context (every message of the conversation, the services): a tenth of a verify turn's
    time, growing with the conversation, thrown away. The field is left out of dumps; the
    runtime still reaches the tool."""
    schema = made.args_schema
    field = getattr(schema, "model_fields", {}).get("runtime")
    if field is not None and isinstance(schema, type):
        field.exclude = True
        schema.model_rebuild(force=True)


async def _audit(
    ctx: SupportContext,
    name: str,
    kind: ToolKind,
    args: dict[str, Any],
    *,
    ok: bool,
    decision: str,
    content: str,
) -> None:
    actor = f"customer:{ctx.customer_id}" if ctx.customer_id else "bot"
    entry = {
        "conversation_id": ctx.conversation_id,
        "actor": actor,
        "tool": name,
        "kind": kind.value,
        "args": mask_args(args),
        "ok": ok,
        "decision": decision,
        # JSON stays JSON (staff views parse it); personal fields and free text masked here,
        # outside the transaction that writes it
        "result": mask_result(content),
        "masked": True,
    }
    if kind is ToolKind.READ:
        ctx.pending_audit.append(entry)
        return
    async with ctx.deps.sessions.begin() as session:
        await repo.add_audit(session, **entry)


def tool_kind(t: BaseTool) -> ToolKind:
    return ToolKind((t.metadata or {}).get("kind", "read"))


def tool_label(name: str, tools: list[BaseTool]) -> str:
    for t in tools:
        if t.name == name:
            return str((t.metadata or {}).get("label", "Working on it..."))
    return "Working on it..."
