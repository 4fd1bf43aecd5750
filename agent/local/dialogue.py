"""What the offline engine does next, read from the conversation so far.

The engine keeps its working state (active flow, filled slots, an open offer) in the
`response_metadata["engine"]` of each AIMessage it writes, so any worker can pick up any turn.
Whether the customer is verified is read from the conversation itself (a successful
verify_customer result), never assumed."""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agent.local import flows
from agent.local.entities import extract
from agent.local.intents import IntentClassifier
from agent.local.replies import passage_answer, say
from agent.local.state import ORDER_FLOWS, Decision, Known, Persona, State, call

_QUESTION_START = re.compile(
    r"^\s*(how|what|what's|whats|when|where|why|which|do you|does|can i|is there|are there)\b",
    re.IGNORECASE,
)


# "Can I pick up my order in person?" and "do you ship my order in plastic-free packaging?" are
# policy questions that mention an order: the embeddings put them near "track my order"
# (0.58–0.63) while real status requests in question form score 0.72–0.91 ("is there any news
# on my order", "can I see where my package is"). Below this line a general question form goes to
# the help center instead of starting an order flow.
_GENERAL_QUESTION = re.compile(
    r"^\s*(can i|can we|could i|do you|does|is it possible|is there|are there|are you)\b",
    re.IGNORECASE,
)
_ORDER_INTENT_FLOOR_FOR_QUESTIONS = 0.7


def _last_state(messages: list[BaseMessage], known: Known | None = None) -> State:
    """The engine's state: what this turn's earlier steps left, else what the conversation row
    keeps (`known`, loaded by the runner), else what the message window shows. Verification is
    the server's fact (the conversation's verified customer), never a guess from the window."""
    state: State | None = None
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            break  # earlier steps of this turn only
        if isinstance(message, AIMessage) and "engine" in (message.response_metadata or {}):
            state = State(**message.response_metadata["engine"])
            break
    if state is None and known is not None:
        state = State(**(known.engine_state or {}))
    if state is None:
        state = State()
        for message in reversed(messages):
            if isinstance(message, AIMessage) and "engine" in (message.response_metadata or {}):
                state = State(**message.response_metadata["engine"])
                break
    if known is not None:
        state.verified = known.verified
    else:
        state.verified = any(
            isinstance(m, ToolMessage) and m.name == "verify_customer" and m.status != "error"
            for m in messages
        )
    return state


def decide(
    messages: list[BaseMessage],
    *,
    tools: set[str],
    intents: IntentClassifier,
    persona: Persona,
    known: Known | None = None,
) -> Decision:
    state = _last_state(messages, known)
    last = messages[-1] if messages else None
    if isinstance(last, ToolMessage):
        return _after_tool(last, state, tools, persona)
    text = str(last.content) if isinstance(last, HumanMessage) else ""
    return _after_customer(text, state, tools, intents, persona)


def _expecting(state: State) -> str | None:
    if state.flow not in ORDER_FLOWS or state.verified:
        return None
    if state.order_number and not state.credential:
        return "credential"
    return "order_number" if not state.order_number else None


def _after_customer(
    text: str, state: State, tools: set[str], intents: IntentClassifier, persona: Persona
) -> Decision:
    offer, state.offer = state.offer, None
    found = extract(text, expecting=_expecting(state))
    classified = intents.classify(text) if found.leftover_words or not found.any else None
    intent = classified.name if classified else "details"
    if (
        state.awaiting
        and state.flow in ORDER_FLOWS
        and _answers_our_question(state.awaiting, text, found, classified)
    ):
        intent = "details"
    elif _general_question_about_orders(text, state, found, classified):
        intent = "question"

    if intent == "human_request":
        summary = "The customer asked to talk to a person."
        return call(state, tools, "escalate_to_human", reason="customer_request", summary=summary)
    if offer == "human" and intent == "affirm":
        summary = (
            f"The help center had no answer to: {state.question!r}."
            if state.question
            else ("The customer accepted the offer of a human colleague.")
        )
        return call(state, tools, "escalate_to_human", reason="unanswered", summary=summary)
    if offer == "human" and intent == "deny":
        return Decision(state, text=say("declined_human"))
    if intent in ORDER_FLOWS and intent != state.flow:
        state.flow = intent
        state.reset_action()
    mentions_order = found.order_number is not None and intent == "question"
    if intent in ORDER_FLOWS or intent == "details" or mentions_order:
        if state.flow not in ORDER_FLOWS:
            state.flow = "order_status"
        return flows.order_flow(state, found, text, tools)
    if intent == "greeting":
        return Decision(state, text=say("greeting", store=persona.store))
    if intent == "thanks":
        return Decision(state, text=say("thanks"))
    if intent == "goodbye":
        return Decision(state, text=say("goodbye", store=persona.store))
    if intent in ("affirm", "deny") or not text.strip():
        return Decision(state, text=say("fallback"), flags={"misunderstood": True})
    state.flow = None
    state.question = text
    return call(state, tools, "search_help_center", query=text)


def _general_question_about_orders(text: str, state: State, found: Any, classified: Any) -> bool:
    """A weak order-flow guess for a general question, outside any flow, naming no order."""
    return (
        classified is not None
        and classified.name in ORDER_FLOWS
        and classified.score < _ORDER_INTENT_FLOOR_FOR_QUESTIONS
        and state.flow not in ORDER_FLOWS
        and found.order_number is None
        and bool(_GENERAL_QUESTION.match(text))
    )


def _answers_our_question(slot: str, text: str, found: Any, classified: Any) -> bool:
    """Is this message the answer to the slot we asked for, or a change of subject? A clear
    question ("what is your return policy?") or a rule-matched request changes the subject; a
    weak guess from the embeddings does not (a refund please is an answer, not a new topic)."""
    question = text.strip().endswith("?") or bool(_QUESTION_START.match(text))
    if slot in ("order_number", "credential"):
        return found.any or (found.leftover_words <= 3 and not question)
    if classified is None:
        return True
    if classified.name == "human_request" or classified.score >= 1.0:
        return False
    return not (question and classified.name == "question")


def _after_tool(result: ToolMessage, state: State, tools: set[str], persona: Persona) -> Decision:
    failed = result.status == "error"
    content = str(result.content)
    data: dict[str, Any] = {}
    if not failed:
        try:
            data = json.loads(content)
        except ValueError:
            data = {}
    name = result.name or ""
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
            return Decision(
                state, text=say("escalation_failed", support_email=persona.support_email)
            )
        key = "escalated_already" if data.get("already") else "escalated"
        return Decision(state, text=say(key, notice=data.get("notice", "")).strip())
    return flows.after_order_tool(name, failed, content, data, state, tools)
