"""run_turn: one customer message in, a stream of events out.

Order of work: the customer message is committed first (it is never lost); the bot runs only
if it owns the conversation; its reply is committed with a compare-and-set on the owner
version, and only then is the final event yielded. Tokens and tool statuses stream live as
progress; the final event is the acknowledgement."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.tools import BaseTool

import metrics
from agent import triggers
from agent.confirmation import answer_pending, say
from agent.events import (
    Accepted,
    Escalated,
    ToolCall,
    TurnEvent,
    TurnResult,
)
from agent.graph_stream import stream_events
from agent.guardrails import ReplyLinkStream
from agent.history import to_langchain, to_payload
from agent.turn_result import outcome_events, reply_citations, reply_flags, result_from_row
from agent.turn_start import HISTORY_WINDOW as HISTORY_WINDOW  # re-exported for callers
from agent.turn_start import Opened, open_turn
from agent.turns import TurnClaim, TurnOrder
from errors import ProtocolError, ToolError
from knowledge.links import TrustedLinks
from storage import fastpath, repo
from storage.tables import Conversation, Message, Owner, PendingAction, utcnow
from tools.context import SupportContext, ToolCallRecord, ToolDeps
from tools.escalation import escalate

log = logging.getLogger(__name__)

TRIAGE_CONTEXT = 2  # earlier customer messages a handoff's ticket triage may read
FALLBACK_REPLY = (
    "I'm sorry, something went wrong on my side. Please try again, or ask for a member of our team."
)


class Runner:
    def __init__(
        self,
        *,
        deps: ToolDeps,
        graph: Any,
        tools: list[BaseTool],
        llm: Any = None,
        announce: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
        live_tokens: bool = True,
    ) -> None:
        self._deps = deps
        self._live_tokens = live_tokens  # False: tokens cut from the reply (_stream_graph)
        # staff consoles hear of customer messages and new escalations (bus.py STAFF_TOPIC)
        self._announce = announce
        self._graph = graph
        # with a model provider: limits, fallback, guards around the graph (agent/llm_fallback.py)
        self._llm = llm
        self._tools = tools
        # hosts a reply may link to (agent/guardrails.py); everything else is removed
        self._links = TrustedLinks.from_settings(deps.settings)
        # across workers (they need Redis) the turn order is kept in the database as well
        self.turns = TurnOrder(deps.sessions, across_workers=bool(deps.settings.redis_url))

    async def _tell(self, event: dict[str, Any]) -> None:
        if self._announce is not None:
            await self._announce(event)

    @property
    def llm(self) -> Any:
        """The LLM path (agent/llm_fallback.py) when a provider is configured, else None."""
        return self._llm

    def validate(self, text: str) -> None:
        limit = self._deps.settings.max_message_chars
        if len(text) > limit:
            raise ProtocolError(
                "message_too_long", f"Messages are limited to {limit:,} characters."
            )
        if not text.strip():
            raise ProtocolError("empty_message", "The message is empty.")

    async def run_turn(
        self,
        *,
        text: str,
        channel: str,
        conversation_id: str | None = None,
        client_id: str | None = None,
        client_ip: str | None = None,  # from the connection, for per-IP limits in tools
    ) -> AsyncIterator[TurnEvent]:
        self.validate(text)
        started = time.perf_counter()  # the turn's latency includes waiting for the lease
        async with self.turns.turn(conversation_id) as claim:

            async def attempt() -> Opened | None:
                async with self._deps.sessions.begin() as session:
                    return await open_turn(
                        session, claim, conversation_id, channel, text, client_id
                    )

            opened = await self.turns.until_claimed(attempt)
            if not opened.run_bot:
                claim.settled()  # released by the transaction that just committed
            conversation, customer_msg, replay = opened.conversation, opened.message, opened.replay
            if replay is None:
                await self._tell(
                    {
                        "type": "message",
                        "conversation_id": conversation.id,
                        "id": customer_msg.id,
                        "role": "customer",
                        "owner": str(conversation.owner),
                        "created_at": customer_msg.created_at.isoformat(),
                    }
                )
            yield Accepted(
                conversation.id,
                customer_msg.id,
                client_id,
                conversation_id is None,
                conversation.owner,
            )
            if replay is not None:
                yield result_from_row(replay, conversation, client_id)
            elif not opened.run_bot:
                yield TurnResult(conversation.id, None, "", conversation.owner, utcnow(), client_id)
            else:
                async for event in self._run_bot(
                    conversation,
                    customer_msg,
                    opened.rows,
                    opened.pending,
                    client_id,
                    client_ip,
                    started=started,
                    claim=claim,
                    retried=opened.retried,
                ):
                    yield event

    async def _run_bot(
        self,
        conversation: Conversation,
        customer_msg: Message,
        rows: Sequence[Message],
        pending: PendingAction | None,
        client_id: str | None,
        client_ip: str | None = None,
        started: float | None = None,
        claim: TurnClaim | None = None,
        retried: bool = True,
    ) -> AsyncIterator[TurnEvent]:
        started = time.perf_counter() if started is None else started
        ctx = SupportContext(
            conversation_id=conversation.id,
            channel=conversation.channel,
            deps=self._deps,
            owner_version=conversation.owner_version,
            customer_id=conversation.verified_customer_id,
            failed_verifications=conversation.failed_verifications,
            customer_text=customer_msg.text,
            earlier_customer_texts=tuple(
                m.text for m in rows if m.role == "customer" and m.id != customer_msg.id
            )[-TRIAGE_CONTEXT:],
            engine_state=conversation.engine_state,
            client_ip=client_ip,
        )
        new_messages: list[BaseMessage] = []
        links = ReplyLinkStream(
            self._links, known_texts=[m.text for m in rows if m.role == "customer"]
        )
        # without a pending action only a message sent again can settle one (its first turn
        # died mid-execution); a message stored just now is named by no action: no lookup
        gate = (
            await answer_pending(
                self._deps,
                pending=pending,
                text=customer_msg.text,
                message_id=customer_msg.id,
                customer_id=conversation.verified_customer_id,
            )
            if pending is not None or retried
            else None
        )
        if gate is not None:
            # the customer answered a proposed action: settled in code, no model involved
            action = gate.action
            new_messages = [
                AIMessage(gate.text, response_metadata={"engine": {}, "action": action.id})
            ]
            ctx.tool_calls.append(
                ToolCallRecord(
                    "confirm_action",
                    {"action_id": action.id, "status": action.status},
                    ok=action.status not in ("failed", "expired"),
                )
            )
        elif (trigger := triggers.check(customer_msg.text, rows[:-1])).refuse:
            # a prompt-injection attempt: refused in code; no model, no tool, nobody paged
            log.info("refused in conversation %s: %s", conversation.id, trigger.summary)
            new_messages = [AIMessage(say("refused"))]
        elif trigger.tripped:
            # a handoff decided in code, before (and without) the model
            try:
                data = await escalate(ctx, trigger.reason, trigger.summary)
                text = say(
                    "handoff_already" if data["already"] else "handoff", notice=data["notice"]
                )
                ok = True
            except ToolError:
                text, ok = FALLBACK_REPLY, False
            ctx.tool_calls.append(
                ToolCallRecord(
                    "escalate_to_human", {"reason": trigger.reason, "trigger": "code"}, ok=ok
                )
            )
            if ctx.escalation:
                yield Escalated(*ctx.escalation)
            new_messages = [AIMessage(text, response_metadata={"engine": {}})]
        else:
            try:
                turn = (
                    self._llm.run(self._stream_graph, to_langchain(rows), ctx, new_messages, links)
                    if self._llm is not None
                    else self._stream_graph(to_langchain(rows), ctx, new_messages, links)
                )
                async for event in turn:
                    yield event
            except Exception:
                log.exception("turn failed in conversation %s", conversation.id)
                new_messages = [AIMessage(FALLBACK_REPLY)]

        final = next(
            (m for m in reversed(new_messages) if isinstance(m, AIMessage) and not m.tool_calls),
            AIMessage(FALLBACK_REPLY),
        )
        checked = links.check_final(str(final.content), conversation.id)
        if checked.tripped:  # no link outside the store is stored or sent
            final.content = checked.text
        citations = reply_citations(final, ctx)
        final.response_metadata["engine_flags"] = reply_flags(final, ctx)
        engine = (final.response_metadata or {}).get("engine", repo.KEEP)
        reply: Message | None = None
        latency_ms = int((time.perf_counter() - started) * 1000)
        async with self._deps.sessions.begin() as session:
            # the reply's statements go straight through the driver (storage/fastpath.py)
            if ctx.pending_audit:
                await fastpath.add_audit(session, [repo.audit_row(**e) for e in ctx.pending_audit])
            # kept on the conversation, not only in the message window: a long conversation
            # must not forget that the customer was verified or which flow was open
            last_seq = await fastpath.finish_turn(
                session,
                conversation.id,
                version=ctx.owner_version,
                engine_state=(engine or None) if engine is not repo.KEEP else repo.KEEP,
                release_holder=claim.lease_holder if claim is not None else None,
            )
            if last_seq is not None:
                rows_out: list[dict[str, Any]] = [
                    {"role": "tool", "text": "", "payload": to_payload(m)}
                    for m in new_messages
                    if m is not final
                ]
                rows_out.append(
                    {
                        "role": "assistant",
                        "text": str(final.content),
                        "reply_to": customer_msg.id,
                        "citations": [c.__dict__ for c in citations],
                        "payload": to_payload(final),
                    }
                )
                written = await fastpath.append_messages(
                    session, conversation.id, rows_out, after_seq=last_seq
                )
                reply = written[-1]
                await fastpath.add_outcomes(
                    session, outcome_events(conversation, customer_msg, ctx, final, latency_ms)
                )
            else:
                # a human took over while the bot was thinking: the bot stays silent
                if claim is not None:
                    await claim.release(session)
                silenced = (await repo.get_conversation(session, conversation.id)) or conversation
        if claim is not None:
            claim.settled()
        if reply is None:
            yield TurnResult(conversation.id, None, "", silenced.owner, utcnow(), client_id)
            return
        metrics.observe_turn(
            engine=self._deps.settings.llm_provider,
            tools=[c.name for c in ctx.tool_calls],
            seconds=time.perf_counter() - started,
            messages=new_messages,
        )
        owner = Owner.QUEUED if ctx.escalation else Owner.BOT
        escalation = Escalated(*ctx.escalation) if ctx.escalation else None
        await self._tell(
            {
                "type": "message",
                "conversation_id": conversation.id,
                "id": reply.id,
                "role": "assistant",
                "owner": str(owner),
                "created_at": reply.created_at.isoformat(),
            }
        )
        if ctx.escalation:
            await self._tell(
                {
                    "type": "escalation",
                    "action": "created",
                    "escalation_id": ctx.escalation[0],
                    "reason": ctx.escalation[1],
                    "conversation_id": conversation.id,
                }
            )
        elif gate is not None and gate.action.status == "awaiting_approval":
            await self._tell(  # the customer said yes; staff must decide
                {
                    "type": "escalation",
                    "action": "created",
                    "reason": "approval_required",
                    "action_id": gate.action.id,
                    "conversation_id": conversation.id,
                }
            )
        yield TurnResult(
            conversation_id=conversation.id,
            message_id=reply.id,
            text=reply.text,
            owner=owner,
            created_at=reply.created_at,
            client_id=client_id,
            citations=citations,
            tool_calls=[ToolCall(c.name, c.args, c.ok) for c in ctx.tool_calls],
            escalation=escalation,
        )

    async def _stream_graph(
        self,
        history: list[BaseMessage],
        ctx: SupportContext,
        out: list[BaseMessage],
        links: ReplyLinkStream,
        graph: Any = None,  # another graph for this turn: the LLM path's offline fallback
    ) -> AsyncIterator[TurnEvent]:
        # the offline engine's tokens are cut from its whole reply, without LangGraph's
        # per-token callbacks (a fifth of a verify turn); a model's tokens stream live
        live = graph is None and self._live_tokens
        async for event in stream_events(
            graph or self._graph, history, ctx, out, links, self._tools, live=live
        ):
            yield event
