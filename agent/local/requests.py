"""What the engine does for each intent (the table in docs/intents.md), and requests handled in
turn when one message holds several.

A message with two requests is answered in order: the first runs (an order flow, a help-center
search), and when it ends without waiting on the customer the next queued request runs in the same
turn, its reply joined to the first. A flow that waits for the customer (an order number, a
clarifying choice, an offer of a person) keeps the queue in the state until it is done; a flow
that ends on a proposed action ("Shall I go ahead?") answers the queued questions first and puts
that question last, because the customer's yes goes to the confirmation gate, not the engine."""

from __future__ import annotations

import re

from agent.local import flows, scope
from agent.local.entities import Entities, extract
from agent.local.intent_model import OUT_OF_SCOPE
from agent.local.intents import FLOW_INTENTS, Intent
from agent.local.phrases import phrase
from agent.local.replies import say
from agent.local.state import ORDER_FLOWS, Decision, Persona, State, call

# intent -> the order flow that serves it (agent/local/flows.py)
FLOW_OF = {
    "order_status": "order_status",
    "delivery_problem": "order_status",
    "return_request": "return_request",
    "exchange": "return_request",
    "refund_status": "refund_status",
    "cancel_order": "cancel_request",
    "order_change": "address_change",
}
assert set(FLOW_OF) == FLOW_INTENTS
# the help-center intents: answered from the help center, with citations
HELP_CENTER = frozenset(
    {
        "return_policy",
        "payment_billing",
        "promo_code",
        "product_question",
        "shipping_info",
        "international",
        "account_login",
        "privacy",
        "marketing",
    }
)
# "is there a phone number I can call?", "what are your opening hours?": the help center's
# contact page answers; the classifier reads them as wanting a person or as off-topic
# something a customer may cancel or change that is not an order: a store's subscriptions,
# memberships and bookings ("cancel autoship", "change my subscription frequency"). The order
# flows cannot do it; the help center says how
_NOT_AN_ORDER = re.compile(
    r"\b(subscriptions?|subscribe and save|auto-?ships?|auto[- ]ship|auto[- ]?(delivery|deliveries|"
    r"refill|renewal)|repeat (delivery|deliveries|orders?)|recurring (orders?|deliver(y|ies))|"
    r"memberships?|appointments?|bookings?)\b",
    re.IGNORECASE,
)
_CONTACT = re.compile(
    r"\b(phone|telephone|call (you|us|someone)|ring you|whatsapp|live chat|opening (hours|times)|"
    r"business hours|support hours|office hours|customer service hours|hours of (business|"
    r"operation)|what time do you (open|close)|when are you open|are you open|contact (details|"
    r"info|information)|how (can|do|should) i (contact|reach|email|call|get in touch with|"
    r"get hold of) (you|your|customer (service|support|care)|support|the (support )?team)|"
    r"(customer service|support|your|contact) (e-?mail( address)?|phone( number)?|number))\b",
    re.IGNORECASE,
)
# after a delivery problem on a named order, what asks for it to be put right
_REMEDY = re.compile(r"\b(refund|replace|replacement|return|money back|send (it|them) back|"
                     r"exchange|new one|another one)\b", re.IGNORECASE)  # fmt: skip
# readings that say nothing about an order a message names ("hi, was #1481 delivered?" read
# as a greeting, "where is #2042? email ..." as a newsletter question)
_NOT_ABOUT_ORDERS = frozenset({"greeting", "thanks", "goodbye", "feedback", OUT_OF_SCOPE})
_WEAK = 0.6
# asking to return something ("can I return ...", "is it possible to send it back?")
_CAN_I_RETURN = re.compile(
    r"\b(can|could|may) (i|we) (still )?(return|send\b.{0,20}\bback)\b"
    r"|\b(possible|allowed) to (return|send\b.{0,20}\bback)\b",
    re.IGNORECASE,
)
# what a return or an exchange costs ("do I have to pay for shipping if I exchange?", "is a
# return free?", "how much does it cost to send it back?"): the policy, not a request to make one.
# The fine-tuned embedder read the first as an exchange request (0.54 against 0.36)
_ASKS_COST = re.compile(
    r"\b(do|would|will|should|must) (i|we) (have to |need to )?pay\b"
    r"|\bhow much (does|do|will|would|is|are)\b.{0,40}\b(cost|charge|fee)"
    r"|\b(is|are) (it|that|they|exchanges?|returns?|shipping|postage)\b.{0,30}\bfree\b"
    r"|\b(any|a|extra) (charge|fee|cost)s?\b|\bwho pays\b|\bcosts? (anything|money|extra)\b",
    re.IGNORECASE,
)
_WANTS = re.compile(r"\b(i want|i'd like|i would like|i need|please|pls)\b", re.IGNORECASE)
# whether a way of paying is accepted ("do you accept venmo", "Sezzle or Affirm available?",
# "can I pay with klarna")
_ASKS_METHOD = re.compile(
    r"\b(accept|accepted|take|support|available|option|options)\b"
    r"|\b(pay|paying|checkout|check out)\b.{0,12}\b(with|by|using|via|through)\b"
    r"|\bbuy now\b|\bpay (later|in (\d|four|instal+ments))\b",
    re.IGNORECASE,
)
# ...or a way of paying named and nothing else ("sezzle??", "crypto? bitcoin?"): one or two
# words and a question mark, none of them about a charge ("card declined?" is not a method)
_NAMED_ALONE = re.compile(r"^\W*(\w+)\W+(?:(\w+)\W*)?$")
_ABOUT_A_CHARGE = frozenset("card declined charge charged refund invoice receipt tax".split())


def _asks_method(text: str) -> bool:
    if _ASKS_METHOD.search(text):
        return True
    alone = _NAMED_ALONE.match(text)
    words = {w.lower() for w in alone.groups() if w} if alone and "?" in text else set()
    return bool(words) and not words & _ABOUT_A_CHARGE


# the rules themselves ("exchange rules for gloves and hats", "what's the policy on exchanges"):
# the policy, as a cost question is
_ASKS_RULES = re.compile(r"\b(polic(y|ies)|rules?|terms|conditions|guidelines)\b", re.IGNORECASE)
# how refunds go in general ("how long till I get my money back after you receive a return?",
# "whats the refund timeline"): the policy answers it, and the reply offers to look at the order;
# "still", "yet", "haven't" and "where" ask about one refund that is late (refund_status)
_REFUND_IN_GENERAL = re.compile(
    r"\bhow (long|many (business )?days|soon|quickly|fast)\b|\btime ?(line|frame|scale)\b"
    r"|\b(usually|normally|typically|generally)\b|\b(card|paypal|store credit|original payment)\b",
    re.IGNORECASE,
)
_ONE_LATE_REFUND = re.compile(
    r"\b(still|yet|where|haven'?t|hasn'?t|have not|has not|never|not (showing|received|arrived|"
    r"back|seen|there)|missing|chase|chasing|ago|last (week|month))\b",
    re.IGNORECASE,
)
# a charge the customer questions (twice, more than at checkout, not theirs): the help center
# may explain it (authorisations, one charge per box), and a person is offered to check it
_DISPUTE = re.compile(
    r"\b(charged|billed|took|taken)( me)? (twice|two times|double|2x|again|too much|extra|"
    r"the wrong amount)\b|\bdouble[- ]?(charged|charge|charges|billed|payment)\b"
    r"|\b(two|2|duplicate|multiple|several) (charges|payments|transactions)\b|\bovercharg"
    r"|\b(unknown|unauthori[sz]ed|unrecogni[sz]ed|strange|weird|random|mystery) (charge|payment|"
    r"transaction)|\b(charge|payment|transaction)\b.{0,40}\b(don'?t|do not|didn'?t|did not|"
    r"never) (recogni[sz]e|order|make|buy|authori[sz]e)|\b(didn'?t|did not|never) (order|buy|"
    r"purchase)\b.{0,40}\b(charge|charged|payment)\b|\b(amount|total|price)\b.{0,30}\b("
    r"different|wrong|higher)\b|\bdifferent (amount|total|price)\b",
    re.IGNORECASE,
)
_ADDRESS = re.compile(r"\b(address|street|postcode|post code|zip|ship it to|send it to|deliver "
                      r"(it )?to|redirect|moved)\b", re.IGNORECASE)  # fmt: skip


def start(intent: str, text: str, state: State, found: Entities, tools: set[str],
          persona: Persona) -> Decision:  # fmt: skip
    """Begin serving one request (`text` is the request as read, typos fixed)."""
    if intent == "order_change" and not (_ADDRESS.search(text) or found.address):
        if "change_order_items" in tools:  # sizes, colours, quantities: flows.py order_edit
            if state.flow != "order_edit":
                state.flow = "order_edit"
                state.reset_action()
            state.intent, state.question = "order_change", text
            return flows.order_flow(state, found, text, tools)
        state.offer, state.intent, state.question = "human", "order_change", text
        return Decision(state, text=phrase("order_change_items"))
    if intent == "delivery_problem" and not (found.order_number or state.order_number):
        # "what happens if my parcel is lost?", "it came damaged, what do I do?": the help center
        # says how such problems are put right; looking at an order waits until one is named
        return _help_center_first(state, tools, "delivery_problem", text)
    if intent == "refund_question":
        # how refunds go, with no order named: the policy first, then the offer to look at the
        # refund (dialogue._after_tool); with no answer in the help center, the order is asked
        return _help_center_first(state, tools, "refund_question", text)
    if intent == "order_question":
        # a question close to both a help-center topic and "where is my order" ("as a guest, can
        # I track my order?"): the help center answers, then the reply offers to look at the
        # order (dialogue._after_tool), or asks for it when the help center has no answer
        return _help_center_first(state, tools, "order_status", text)
    if intent == "payment_billing" and _DISPUTE.search(text):
        # the help center's answer first, then a person offered (dialogue._after_tool)
        return _help_center_first(state, tools, "billing_dispute", text)
    if intent in scope.READINGS:
        # the help center may know what the reading does not (dialogue._after_tool answers
        # only when it answers well; else the out-of-scope reply)
        return _help_center_first(state, tools, intent, text)
    if intent == "remark":  # complaint or feedback, too close to tell
        state.offer, state.intent, state.question = "human", "complaint", text
        return Decision(state, text=say("remark"))
    if intent in FLOW_OF:
        flow = FLOW_OF[intent]
        if flow != state.flow:
            state.flow = flow
            state.reset_action()
        state.intent = intent
        if intent == "exchange" and not state.resolution:
            state.resolution = "exchange"
        if intent == "delivery_problem":
            state.question = text  # for the handoff summary
        return flows.order_flow(state, found, text, tools)
    state.intent = None
    if intent == "human":
        summary = "The customer asked to talk to a person."
        return call(state, tools, "escalate_to_human", reason="customer_request", summary=summary)
    if intent == "greeting":
        return Decision(state, text=say("greeting", store=persona.store))
    if intent == "thanks":
        return Decision(state, text=say("thanks"))
    if intent == "goodbye":
        return Decision(state, text=say("goodbye", store=persona.store))
    if intent == "out_of_scope":
        return Decision(state, text=phrase("out_of_scope"))
    if intent == "feedback":
        return Decision(state, text=phrase("feedback"))
    if intent == "complaint":
        state.offer, state.intent, state.question = "human", "complaint", text
        return Decision(state, text=phrase("complaint"))
    if intent in ("affirm", "deny") or not text.strip():
        return Decision(state, text=say("fallback"), flags={"misunderstood": True})
    if not (state.flow in FLOW_OF.values() and state.awaiting):
        state.flow = None  # a flow waiting on an answer resumes after the help center's
    state.question = text
    if intent == "payment_billing" and state.flow is None and _asks_method(text):
        # "do you accept venmo?": if the help center never names it, its list of the methods
        # accepted is the answer (dialogue._after_tool), not "I couldn't find an answer"
        state.intent = "payment_method"
    return call(state, tools, "search_help_center", query=text)


def _help_center_first(state: State, tools: set[str], intent: str, text: str) -> Decision:
    """The help center searched outside any flow; `intent` tells dialogue._after_tool what to
    add to its answer (the offer to look at the order, or of a person)."""
    state.flow, state.intent, state.question = None, intent, text
    state.reset_action()
    return call(state, tools, "search_help_center", query=text)


def redirect(intent: str, read: Intent | None, text: str, found: Entities, state: State,
             offer: str | None) -> tuple[str, str]:  # fmt: skip
    """The request to serve and its text, where the reading alone would do the wrong thing:
    a question about how to reach us goes to the help center; a message that names an order
    with a reading that is not about orders is about that order (a complaint with an order is a
    delivery problem: the order is shown with an apology); after a delivery problem, "refund
    please" asks to return the damaged item, not where a refund is."""
    if (
        intent in ("cancel_order", "order_change")
        and state.flow is None
        and not found.order_number
        and _NOT_AN_ORDER.search(text)
    ):
        return "question", text
    if read is None or read.rule:
        return intent, text
    if _CONTACT.search(text) and intent not in FLOW_OF:
        return "question", text
    if intent == OUT_OF_SCOPE and state.flow is None and not found.order_number:
        # an unsure reading, or one the store's own help center may cover: what is off-topic
        # depends on the trade ("how big should a dog crate be" is off-topic for the intent
        # examples' outdoor store, and a pet store's FAQ answers it)
        return scope.reading(read.score), text
    if (
        intent in ("exchange", "return_request")
        and not found.order_number
        and (_ASKS_COST.search(text) or _ASKS_RULES.search(text))
        and not _WANTS.search(text)
    ):
        return "return_policy", text
    if (
        intent == "refund_status"
        and not found.order_number
        and not state.order_number
        and state.flow is None
        and _REFUND_IN_GENERAL.search(text)
        and not _ONE_LATE_REFUND.search(text)
    ):
        return "refund_question", text
    if found.order_number and intent not in FLOW_OF:
        if intent == "return_policy" and _CAN_I_RETURN.search(text):
            # "can I return the gift card? order #1949": whether it can is that order's
            # eligibility check (the return flow), not the policy page or the order's status
            return "return_request", text
        if intent == "complaint":
            return "delivery_problem", text
        if intent in _NOT_ABOUT_ORDERS or intent == "human" or read.score < _WEAK:
            return "details", text
    if (
        offer == "human"
        and state.intent == "delivery_problem"
        and state.order_number
        and (intent in ("refund_status", "return_request", "exchange") or _REMEDY.search(text))
    ):
        return "return_request", f"{state.question or ''} {text}".strip()
    return intent, text


def settle(read: Intent, state: State) -> str | None:
    """The request to serve when the two close readings would be served the same way, so a
    clarifying question would only delay the answer: two help-center intents (the search reads
    the words, not the label), or a delivery problem with no order yet (its help-center answer
    comes first and offers to look at the order, which also serves "where is my order"); a
    complaint or feedback (one reply thanks, passes it on and offers a person); a help-center
    topic or "where is my order" with no order yet (the answer, then the offer to look at it)."""
    pair = {read.name, read.runner_up}
    if pair <= HELP_CENTER:
        return "question"
    if pair == {"complaint", "feedback"}:
        return "remark"  # one reply serves both: thanks, passed on, a person if they want one
    if "order_status" in pair and pair & HELP_CENTER and not state.order_number and not state.flow:
        return "order_question"
    if "delivery_problem" in pair and not state.order_number and state.flow is None:
        return "delivery_problem"
    if "refund_status" in pair and pair & HELP_CENTER and not state.order_number and not state.flow:
        return "refund_question"  # the policy, then the offer to look at the refund
    return None


def queue(state: State, later: list[Intent]) -> None:
    state.queue = [{"intent": i.name, "text": i.text} for i in later]


def follow_on(decision: Decision, tools: set[str], persona: Persona) -> Decision:
    """After a reply, the next queued request while nothing waits on the customer; then the
    replies of the turn joined in order."""
    state = decision.state
    if _answer_first(decision):
        # the order flow waits on the customer (an email, a postcode) and the next request is a
        # help-center question that needs nothing from them: it is answered now, and what the
        # flow said (its question) ends the reply
        state.closing = "\n\n".join(t for t in (state.closing, decision.text) if t) or None
        state.cited.extend(decision.citations)
        nxt = state.queue.pop(0)
        found = extract(nxt["text"], formats=persona.order_formats)
        return start(nxt["intent"], nxt["text"], state, found, tools, persona)
    while decision.tool is None and state.queue and _free(decision):
        if decision.flags.get("confirm"):
            state.closing = _split_confirmation(decision, state)
        elif decision.text:
            state.said.append(decision.text)
        state.cited.extend(decision.citations)
        nxt = state.queue.pop(0)
        found = extract(nxt["text"], formats=persona.order_formats)
        decision = start(nxt["intent"], nxt["text"], state, found, tools, persona)
    if decision.tool is not None:
        return decision
    if state.said or state.closing:
        text = "\n\n".join([*state.said, decision.text or "", state.closing or ""]).strip()
        decision = Decision(
            state, text=text, citations=[*state.cited, *decision.citations], flags=decision.flags
        )
        state.said, state.cited, state.closing = [], [], None
    return decision


def _answer_first(decision: Decision) -> bool:
    """The flow asks the customer for a detail while a help-center question waits in the queue."""
    state = decision.state
    return (
        decision.tool is None
        and bool(state.queue)
        and state.queue[0]["intent"] in HELP_CENTER
        and state.flow in ORDER_FLOWS
        and bool(state.awaiting)
        and not state.offer
        and not decision.flags.get("confirm")
    )


def _free(decision: Decision) -> bool:
    """Nothing waits on the customer but, perhaps, a yes to a proposed action."""
    state = decision.state
    if decision.flags.get("confirm"):
        return True
    return not (state.awaiting or state.offer or state.flow)


def _split_confirmation(decision: Decision, state: State) -> str:
    """Keep the proposal now, and its 'Shall I go ahead?' for the end of the turn."""
    ask = say("confirm_action", summary="").strip()
    text = decision.text or ""
    state.said.append(text[: -len(ask)].strip() if text.endswith(ask) else text)
    return ask
