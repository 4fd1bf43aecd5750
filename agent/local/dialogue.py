"""What the offline engine does next, read from the conversation so far.

The engine keeps its working state (active flow, filled slots, an open offer) in the
`response_metadata["engine"]` of each AIMessage it writes, so any worker can pick up any turn."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agent.local.entities import extract
from agent.local.intents import IntentClassifier
from agent.local.replies import order_reply, passage_answer, say


@dataclass
class State:
    flow: str | None = None  # "order_status"
    order_number: str | None = None
    email: str | None = None
    postal_code: str | None = None
    verified_order: str | None = None
    offer: str | None = None  # "human" when we just offered a colleague
    question: str | None = None  # the last question the help center could not answer
    tried: list[str] = field(default_factory=list)  # verification attempts already made

    @property
    def credential(self) -> str | None:
        return self.email or self.postal_code


@dataclass
class Decision:
    state: State
    text: str | None = None
    tool: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    citations: list[str] = field(default_factory=list)

    @property
    def metadata(self) -> dict[str, Any]:
        return {"engine": asdict(self.state), "citations": self.citations}


@dataclass
class Persona:
    store: str
    support_email: str


def _last_state(messages: list[BaseMessage]) -> State:
    for message in reversed(messages):
        if isinstance(message, AIMessage):
            saved = (message.response_metadata or {}).get("engine")
            if saved:
                return State(**saved)
    return State()


def decide(
    messages: list[BaseMessage], *, tools: set[str], intents: IntentClassifier, persona: Persona
) -> Decision:
    state = _last_state(messages)
    last = messages[-1] if messages else None
    if isinstance(last, ToolMessage):
        return _after_tool(last, state, tools, persona)
    text = str(last.content) if isinstance(last, HumanMessage) else ""
    return _after_customer(text, state, tools, intents, persona)


def _after_customer(
    text: str, state: State, tools: set[str], intents: IntentClassifier, persona: Persona
) -> Decision:
    offer, state.offer = state.offer, None
    expecting = None
    if state.flow == "order_status":
        expecting = "credential" if state.order_number and not state.credential else None
        expecting = expecting or ("order_number" if not state.order_number else None)
    found = extract(text, expecting=expecting)
    intent = intents.classify(text).name if found.leftover_words or not found.any else "details"

    if intent == "human_request":
        summary = "The customer asked to talk to a person."
        return _call(state, tools, "escalate_to_human", reason="customer_request", summary=summary)
    if offer == "human" and intent == "affirm":
        summary = f"The help center had no answer to: {state.question!r}." if state.question else (
            "The customer accepted the offer of a human colleague."
        )
        return _call(state, tools, "escalate_to_human", reason="unanswered", summary=summary)
    if offer == "human" and intent == "deny":
        return Decision(state, text=say("declined_human"))
    mentions_order = found.order_number is not None and intent == "question"
    if intent in ("order_status", "details") or mentions_order or (
        state.flow == "order_status" and found.any
    ):
        return _order_flow(state, found, tools)
    if intent == "greeting":
        return Decision(state, text=say("greeting", store=persona.store))
    if intent == "thanks":
        return Decision(state, text=say("thanks"))
    if intent == "goodbye":
        return Decision(state, text=say("goodbye", store=persona.store))
    if intent in ("affirm", "deny") or not text.strip():
        return Decision(state, text=say("fallback"))
    state.flow = None
    state.question = text
    return _call(state, tools, "search_help_center", query=text)


def _order_flow(state: State, found: Any, tools: set[str]) -> Decision:
    if state.flow != "order_status":
        state.flow = "order_status"
    if found.order_number:
        state.order_number = found.order_number
    if found.email:
        state.email, state.postal_code = found.email, None
    elif found.postal_code:
        state.postal_code, state.email = found.postal_code, None
    if state.verified_order and state.order_number:
        return _call(state, tools, "get_order", order_number=state.order_number)
    if state.order_number and state.credential:
        attempt = f"{state.order_number}|{state.credential}"
        if attempt not in state.tried:
            state.tried.append(attempt)
            args: dict[str, Any] = {"order_number": state.order_number}
            args.update({"email": state.email} if state.email else {"postal_code": state.postal_code})
            return _call(state, tools, "verify_customer", **args)
    if state.order_number and state.credential:
        # same details as a failed attempt: ask for the part that may be wrong
        return Decision(state, text=say("verify_failed", error="Those details still don't match."))
    if state.order_number:
        return Decision(state, text=say("ask_credential", order_number=state.order_number))
    if state.credential:
        return Decision(state, text=say("ask_order_number"))
    return Decision(state, text=say("ask_order_and_credential"))


def _after_tool(result: ToolMessage, state: State, tools: set[str], persona: Persona) -> Decision:
    failed = result.status == "error"
    content = str(result.content)
    data: dict[str, Any] = {}
    if not failed:
        try:
            data = json.loads(content)
        except ValueError:
            data = {}
    name = result.name
    if name == "verify_customer":
        if failed:
            state.email = state.postal_code = None
            return Decision(state, text=say("verify_failed", error=content))
        state.verified_order = data.get("order_number")
        return _call(state, tools, "get_order", order_number=state.order_number)
    if name == "get_order":
        state.flow = None
        return Decision(state, text=say("order_error", error=content) if failed else order_reply(data))
    if name == "search_help_center":
        if failed or not data.get("answerable") or not data.get("passages"):
            state.offer = "human"
            return Decision(state, text=say("kb_unknown"))
        top = data["passages"][0]
        answer = say("kb_answer", answer=passage_answer(top["text"]), title=top["title"])
        state.question = None
        return Decision(state, text=answer, citations=[top["id"]])
    if name == "escalate_to_human":
        if failed:
            return Decision(state, text=say("escalation_failed", support_email=persona.support_email))
        return Decision(state, text=say("escalated_already" if data.get("already") else "escalated"))
    return Decision(state, text=say("tool_failed") if failed else say("fallback"))


def _call(state: State, tools: set[str], name: str, **args: Any) -> Decision:
    if name not in tools:
        return Decision(state, text=say("fallback"))
    return Decision(state, tool=name, args=args)
