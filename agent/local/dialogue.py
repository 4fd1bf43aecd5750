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

from agent.local import flows, products, requests, scope
from agent.local.entities import extract
from agent.local.intents import IntentClassifier
from agent.local.phrases import handoff_notice, language_name, languages, phrase, yes_or_no
from agent.local.replies import kb_reply, say
from agent.local.requests import FLOW_OF, HELP_CENTER
from agent.local.rules import wants_person
from agent.local.split import parts
from agent.local.state import ORDER_FLOWS, Decision, Known, Persona, State, call
from agent.local.understand import choose, gibberish, language_of, read

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
# a help-center passage about paying (its title or heading), quoted for a questioned charge
_ABOUT_PAYMENTS = re.compile(
    r"\b(pay|payment|payments|paying|charge|charged|charges|billing|bill|card|cards|invoice|"
    r"receipt|authori[sz]ation|tax|taxes)\b",
    re.IGNORECASE,
)
_PEOPLE_CAPACITY = re.compile(r"\b\d+\s*-?\s*(?:person|people|man)\b", re.IGNORECASE)
# A request for a person that no rule recognised, read by the classifier below this probability,
# gets an offer of a colleague instead of a handoff: injection probes and requests for other
# people's details were read as "human" at 0.2-0.3 and paged the staff (issue #9).
_HUMAN_GUESS_FLOOR = 0.5
# below this intent-topic cosine (knowledge/topics.py) the passage quoted for a delivery problem
# is about something else: its sentences are not quoted
_OFF_TOPIC_QUOTE = 0.3
# searched when the help center cannot say whether a way of paying is accepted
_METHODS_QUERY = "Which payment methods do you accept?"


def _question_part(text: str) -> str | None:
    """The last part of a message with context that asks the question ("I've got a trip in 9
    days and need a tent before then. What shipping speeds do you offer?"), or None."""
    pieces = parts(text)
    asked = [p for p in pieces if p.rstrip().endswith("?")] if len(pieces) > 1 else []
    return asked[-1] if asked and asked[-1].strip() != text.strip() else None


def _last_state(messages: list[BaseMessage], known: Known | None = None) -> State:
    """The engine's state: what this turn's earlier steps left, else what the conversation row
    keeps (`known`, loaded by the runner), else what the message window shows. Verification is
    the server's fact (the conversation's verified customer), never a guess from the window."""
    state: State | None = None
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            break  # earlier steps of this turn only
        if isinstance(message, AIMessage) and "engine" in (message.response_metadata or {}):
            state = State.load(message.response_metadata["engine"])
            break
    if state is None and known is not None:
        state = State.load(known.engine_state)
    if state is None:
        state = State()
        for message in reversed(messages):
            if isinstance(message, AIMessage) and "engine" in (message.response_metadata or {}):
                state = State.load(message.response_metadata["engine"])
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
        decision = _after_tool(last, state, tools, persona, intents)
    else:
        text = str(last.content) if isinstance(last, HumanMessage) else ""
        state.said, state.cited, state.closing = [], [], None  # a new turn
        decision = _after_customer(text, state, tools, intents, persona)
    return requests.follow_on(decision, tools, persona)


def _expecting(state: State) -> str | None:
    if state.flow not in ORDER_FLOWS or state.verified:
        return None
    if state.order_number and not state.credential:
        return "credential"
    if not state.order_number and state.email:
        return "order_or_postal"  # the email is known: a postcode verifies without the number
    return "order_number" if not state.order_number else None


def _after_customer(
    text: str, state: State, tools: set[str], intents: IntentClassifier, persona: Persona
) -> Decision:
    offer, state.offer = state.offer, None
    options, state.options = state.options, []
    found = extract(text, expecting=_expecting(state), formats=persona.order_formats)
    says_more = bool(found.leftover_words or not found.any)
    if offer == "human" and state.language:
        answer = yes_or_no(text, state.language)
        if answer == "yes":
            return _handoff(state, tools)
        if answer == "no":
            return Decision(state, text=phrase("declined", state.language))
    language = language_of(text) if says_more else "en"
    if language != "en" and language in languages():
        return _other_language(text, language, state, tools, persona)
    state.language = None
    if offer == "clarify" and options:
        chosen = choose(text, options, intents)
        if chosen is not None:
            asked, state.asked_about = state.asked_about or text, None
            found = extract(asked, formats=persona.order_formats)
            return requests.start(chosen, asked, state, found, tools, persona)

    if says_more and not found.any and gibberish(text, intents):
        return Decision(state, text=say("fallback"), flags={"misunderstood": True})
    reading = read(text, intents) if says_more else None
    classified = reading.requests[0] if reading else None
    intent = classified.name if classified else "details"
    if (
        state.awaiting
        and state.flow in ORDER_FLOWS
        and _answers_our_question(state.awaiting, text, found, classified)
    ):
        intent = "details"
    elif _general_question_about_orders(text, state, found, classified):
        intent = "question"
    else:
        intent, text = requests.redirect(intent, classified, text, found, state, offer)

    if intent == "human" and classified is not None and not classified.rule:
        if classified.score < _HUMAN_GUESS_FLOOR:
            # a weak guess from the embeddings ("tell me Ada's phone number" read as wanting a
            # person) offers a colleague; paging staff takes the customer's yes
            state.offer, state.question = "human", text
            return Decision(state, text=say("offer_human"))
    if intent == "human":
        summary = "The customer asked to talk to a person."
        return call(state, tools, "escalate_to_human", reason="customer_request", summary=summary)
    if offer == "human" and intent == "affirm":
        return _handoff(state, tools)
    if offer == "human" and intent == "deny":
        return Decision(state, text=say("declined_human"))
    if products.wants(text, state, bool(found.order_number), tools):
        return products.ask(state, text, tools)
    if intent == "details" or reading is None:
        if state.flow not in ORDER_FLOWS:
            if state.intent == "refund_question":
                # the order named after a question about refunds: its refund is looked at
                state.flow = state.intent = "refund_status"
            else:
                # the order named after a delivery question is looked at as a delivery problem
                keep = state.intent == "delivery_problem"
                state.flow = "order_status"
                state.intent = "delivery_problem" if keep else "order_status"
        return flows.order_flow(state, found, text, tools)
    # a new request: whatever an earlier message left queued gives way to it
    first, *later = reading.requests
    requests.queue(state, later)
    # a message that names an order goes ahead with the best guess: the flow shows the facts
    settled = requests.settle(first, state) if first.ambiguous else None
    alone = not later and intent == first.name and not found.any
    if settled is not None and alone:
        intent = settled
    elif first.ambiguous and not first.rule and alone:
        assert first.runner_up is not None
        state.offer, state.options = "clarify", [first.name, first.runner_up]
        state.asked_about = first.text
        described = intents.descriptions
        return Decision(
            state,
            text=phrase("clarify", first=described[first.name], second=described[first.runner_up]),
        )
    asked = first.text or text if intent == first.name else text  # redirected: as written
    return requests.start(intent, asked, state, found, tools, persona)


def _other_language(
    text: str, language: str, state: State, tools: set[str], persona: Persona
) -> Decision:
    """A message in another language: what the assistant can do and a person, in that language."""
    state.language, state.question, state.intent = language, text, None
    if wants_person(text, language):
        summary = f"The customer asked for a person, in {language_name(language)}: {text!r}."
        return call(state, tools, "escalate_to_human", reason="customer_request", summary=summary)
    state.offer = "human"
    return Decision(state, text=phrase("scope_offer", language, store=persona.store))


def _handoff(state: State, tools: set[str]) -> Decision:
    """The customer said yes to our offer of a person: why we offered says what to tell staff."""
    question, why = state.question, state.intent
    reason = "other"
    if state.language:
        summary = f"The customer wrote in {language_name(state.language)}: {question!r}."
    elif why == "complaint":
        reason, summary = "complaint", f"The customer has a complaint: {question!r}."
    elif why == "delivery_problem":
        order = f" with order {state.order_number}" if state.order_number else ""
        summary = f"The customer reported a delivery problem{order}: {question!r}."
    elif why == "billing_dispute":
        summary = f"The customer questions a charge: {question!r}."
    elif why == "order_change":
        summary = f"The customer wants to change an order: {question!r}."
    elif question:
        reason, summary = "unanswered", f"The help center had no answer to: {question!r}."
    else:
        reason, summary = "unanswered", "The customer accepted the offer of a human colleague."
    return call(state, tools, "escalate_to_human", reason=reason, summary=summary)


def _general_question_about_orders(text: str, state: State, found: Any, classified: Any) -> bool:
    """A weak order-flow guess for a general question, outside any flow, naming no order."""
    return (
        classified is not None
        and classified.name in FLOW_OF
        and not classified.rule
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
    if slot in ("variant", "change") and _PEOPLE_CAPACITY.search(text):
        return True  # "the 3-person one" is a tent's capacity, not a request for a person
    if slot == "change" and not question:
        # "swap the L tee for XL and remove the mug" answers "what would you like to change?"
        # even though its words read as an exchange or a return request
        return classified is None or classified.name != "human"
    if classified is None:
        return True
    if classified.name == "human" or classified.rule:
        return False
    return not (question and classified.name in HELP_CENTER)


def _after_tool(
    result: ToolMessage,
    state: State,
    tools: set[str],
    persona: Persona,
    intents: IntentClassifier | None = None,
) -> Decision:
    failed = result.status == "error"
    content = str(result.content)
    data: dict[str, Any] = {}
    if not failed:
        try:
            data = json.loads(content)
        except ValueError:
            data = {}
    name = result.name or ""
    if name == "get_product_details":
        return products.after_details(failed, data, state, tools)
    if name == "search_help_center":
        # a delivery problem or an order question with no order yet: the order is offered next
        delivery = state.intent in ("delivery_problem", "order_status") and state.flow is None
        refund = state.intent == "refund_question" and state.flow is None
        dispute = state.intent == "billing_dispute"
        method = state.intent == "payment_method"  # "do you accept venmo?" (requests.start)
        listed = state.intent == "payment_methods"  # the second search, for the accepted list
        unsure = state.intent in scope.READINGS
        if (
            not failed
            and not data.get("answerable")
            and not listed
            and (part := _question_part(state.question or ""))
        ):
            # the context around the question ("… leaving in 9 days …") pulled the search away
            # from an answer the question alone finds: asked once more, the question alone
            state.question = part
            return call(state, tools, "search_help_center", query=part)
        read_as = state.intent  # cleared below; the out-of-scope check needs it
        if method or listed or unsure:
            state.intent = None
        if unsure and (failed or not scope.answered(data, read_as)):
            state.question = None
            return Decision(state, text=phrase("out_of_scope"))
        if failed or not data.get("answerable") or not data.get("passages"):
            if method and not failed:
                # a way of paying the help center never names: what it accepts answers
                state.intent = "payment_methods"
                return call(state, tools, "search_help_center", query=_METHODS_QUERY)
            if delivery or refund:  # no general answer: the order itself is the way to help
                state.flow = "refund_status" if refund else "order_status"
                if refund:
                    state.intent = "refund_status"
                return flows.order_flow(state, extract(""), "", tools)
            state.offer = "human"
            return Decision(state, text=phrase("billing_check") if dispute else say("kb_unknown"))
        # quote what answers the question, scored with the embedder the intents use
        embed = intents.embedder.embed if intents is not None else None
        space = getattr(intents.embedder, "space", None) if intents is not None else None
        asked = _METHODS_QUERY if listed else state.question
        answer, cited = kb_reply(asked or "", data["passages"], embed=embed, space=space)
        quoted = next((p for p in data["passages"] if p.get("id") == cited), {})
        topic = quoted.get("topic")
        if delivery and topic is not None and topic < _OFF_TOPIC_QUOTE:
            # a delivery problem whose best sentences come from another topic ("got a size 8
            # shoe instead of my boots" -> footwear sizing): the order is the way to help
            state.question = None
            state.flow = "order_status"
            return flows.order_flow(state, extract(""), "", tools)
        state.question = None
        if listed:
            answer = f"{phrase('payment_unlisted')}\n\n{answer}"
        elif delivery:
            answer = f"{answer}\n\n{phrase('delivery_check')}"
        elif refund:  # state.intent stays: the order named next is looked at for its refund
            answer = f"{answer}\n\n{phrase('refund_check')}"
        elif dispute:  # a charge questioned: a person checks the payment if the answer does not
            state.offer, state.question = "human", asked
            if not _ABOUT_PAYMENTS.search(f"{quoted.get('title', '')} {quoted.get('heading', '')}"):
                # a passage about something else (delivery, promo codes) would only confuse
                return Decision(state, text=phrase("billing_check"))
            answer = f"{answer}\n\n{phrase('billing_check_after')}"
        elif state.flow in ORDER_FLOWS and state.awaiting and not state.closing:
            # back to what the flow asked (unless this turn's reply already ends on it)
            resume = flows.order_flow(state, extract(""), "", tools)
            if resume.tool is None and resume.text:
                answer = f"{answer}\n\n{resume.text}"
        return Decision(state, text=answer, citations=[cited])
    if name == "escalate_to_human":
        if failed:
            return Decision(
                state, text=say("escalation_failed", support_email=persona.support_email)
            )
        key = "escalated_already" if data.get("already") else "escalated"
        if state.language:
            # when a person will reply, in the customer's language too (not the English notice)
            notice = handoff_notice(state.language, data.get("timing"), data.get("notice", ""))
            return Decision(state, text=phrase(key, state.language, notice=notice))
        return Decision(state, text=say(key, notice=data.get("notice", "")).strip())
    return flows.after_order_tool(name, failed, content, data, state, tools)
