"""The offline engine's working state and the shape of its decisions."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from agent.local.replies import say
from commerce.models import OrderNumberFormat

ORDER_FLOWS = {
    "order_status",
    "return_request",
    "cancel_request",
    "address_change",
    "refund_status",
    "order_edit",  # items of an unshipped order: swap a variant, change a quantity, remove
}


@dataclass
class State:
    flow: str | None = None  # one of ORDER_FLOWS
    order_number: str | None = None
    email: str | None = None
    postal_code: str | None = None
    verified: bool = False
    offer: str | None = None  # "human": we offered a colleague; "clarify": we asked which intent
    question: str | None = None  # the last question the help center could not answer
    tried: list[str] = field(default_factory=list)  # verification attempts already made
    # order actions
    items: list[dict[str, Any]] = field(default_factory=list)  # the order's items (eligibility)
    chosen: list[dict[str, Any]] = field(default_factory=list)  # [{"item", "quantity"}]
    reason: str | None = None
    reason_note: str | None = None  # the customer's own words when the reason is "other"
    resolution: str | None = None
    variant: str | None = None
    asked: str | None = None  # the message that asked for an exchange, in the customer's words
    address: dict[str, Any] | None = None
    product: str | None = None  # the product a catalogue question was last about (its id)
    awaiting: str | None = None  # the slot we just asked for
    intent: str | None = None  # the request the flow serves (delivery_problem rides order_status)
    # understanding (agent/local/requests.py)
    language: str | None = None  # the customer's language when it is not English
    options: list[str] = field(default_factory=list)  # the two intents of a clarifying question
    asked_about: str | None = None  # the request a clarifying question is about
    queue: list[dict[str, str]] = field(default_factory=list)  # [{"intent", "text"}] still to do
    said: list[str] = field(default_factory=list)  # replies already composed in this turn
    cited: list[str] = field(default_factory=list)  # and the passages they cite
    closing: str | None = None  # said last in this turn ("Shall I go ahead?")

    @classmethod
    def load(cls, data: dict[str, Any] | None) -> State:
        """From a stored state (a conversation row or an older message): fields this version
        does not know are dropped, fields it added take their defaults."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})

    @property
    def credential(self) -> str | None:
        return self.email or self.postal_code

    def reset_action(self) -> None:
        self.items, self.chosen, self.address, self.awaiting = [], [], None, None
        self.reason = self.reason_note = self.resolution = self.variant = self.asked = None


@dataclass
class Decision:
    state: State
    text: str | None = None
    tool: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    citations: list[str] = field(default_factory=list)
    flags: dict[str, bool] = field(default_factory=dict)

    @property
    def metadata(self) -> dict[str, Any]:
        return {
            "engine": asdict(self.state),
            "citations": self.citations,
            "engine_flags": self.flags,
        }


@dataclass(frozen=True)
class Known:
    """What the server knows about the conversation, handed to the engine each step: its
    stored dialogue state and whether a customer is verified (conversations row)."""

    engine_state: dict[str, Any] | None
    verified: bool


@dataclass
class Persona:
    store: str
    support_email: str
    # the store's order-number formats for this run (the engine reads them from the backend);
    # None: numbers are read the generic '#digits' way
    order_formats: tuple[OrderNumberFormat, ...] | None = None


def call(state: State, tools: set[str], name: str, **args: Any) -> Decision:
    if name not in tools:
        return Decision(state, text=say("fallback"))
    return Decision(state, tool=name, args=args)
