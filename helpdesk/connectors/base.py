"""What every helpdesk connector shares: the ticket we hand over, the reference we get back, the
one error type the outbox understands, and the HTTP plumbing that maps helpdesk answers onto it.

Error mapping (the outbox acts on `DeliveryError.retryable` and `retry_after`):

    timeouts, connection errors, 408, 409, 425, 429, 5xx   retryable (429/503 honour Retry-After)
    every other 4xx (bad credentials, invalid field)        not retryable: dead letter at once
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Protocol, runtime_checkable

import httpx
from pydantic import BaseModel, ConfigDict, Field

from errors import SupportAgentError

Priority = Literal["low", "normal", "high", "urgent"]

# Appended to everything we post into a helpdesk, so an inbound webhook carrying our own words
# back is recognised and dropped (the loop guard in helpdesk/webhooks.py).
LOOP_MARKER = "[via support-agent]"

MAX_TICKET_CHARS = 30_000
_RETRYABLE_STATUS = frozenset({408, 409, 425, 429})


class TranscriptLine(BaseModel):
    role: str  # customer | assistant | staff | system
    text: str
    at: datetime | None = None


class TicketPayload(BaseModel):
    """Everything a human needs to pick the case up without asking the customer again."""

    model_config = ConfigDict(extra="forbid")

    escalation_id: str
    conversation_id: str
    subject: str = Field(min_length=1, max_length=250)
    summary: str
    requester_name: str | None = None  # None: anonymous chat visitor
    requester_email: str | None = None
    transcript: list[TranscriptLine] = Field(default_factory=list)
    category: str = "other"
    priority: Priority = "normal"
    tags: list[str] = Field(default_factory=list)
    channel: str | None = None  # widget | email | ...


class TicketRef(BaseModel):
    external_id: str
    url: str | None = None


class DeliveryError(SupportAgentError):
    """A helpdesk call failed. `retryable` tells the outbox whether to try again; `retry_after`
    (seconds) is the helpdesk's own request to wait."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


@runtime_checkable
class Connector(Protocol):
    name: str

    async def create_ticket(self, ticket: TicketPayload, idempotency_key: str) -> TicketRef:
        """Files the ticket, or returns the one already filed under this key."""
        ...

    async def add_comment(
        self, external_id: str, body: str, public: bool, *, idempotency_key: str | None = None
    ) -> None: ...


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def error_for_response(response: httpx.Response, *, what: str) -> DeliveryError:
    status = response.status_code
    detail = response.text[:500].strip()
    retryable = status in _RETRYABLE_STATUS or status >= 500
    return DeliveryError(
        f"{what}: HTTP {status}{': ' + detail if detail else ''}",
        retryable=retryable,
        retry_after=parse_retry_after(response.headers.get("retry-after")) if retryable else None,
        status=status,
    )


async def send(
    client: httpx.AsyncClient, method: str, url: str, *, what: str, **kwargs: Any
) -> httpx.Response:
    """One HTTP call; anything but a 2xx becomes a DeliveryError."""
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.UnsupportedProtocol as exc:
        raise DeliveryError(f"{what}: {exc}", retryable=False) from exc
    except httpx.TransportError as exc:  # timeouts, refused connections, resets
        raise DeliveryError(f"{what}: {type(exc).__name__}: {exc}", retryable=True) from exc
    if not response.is_success:
        raise error_for_response(response, what=what)
    return response


def response_json(response: httpx.Response, *, what: str) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        # the helpdesk may have acted; the retry's lookup-by-key finds the ticket if so
        raise DeliveryError(f"{what}: response is not JSON", retryable=True) from exc


def normalise_tags(tags: Iterable[str]) -> list[str]:
    """Lower-case, no spaces (helpdesks split tags on spaces), no duplicates, order kept."""
    seen: dict[str, None] = {}
    for tag in tags:
        clean = "_".join(tag.strip().lower().split())[:50]
        if clean:
            seen.setdefault(clean, None)
    return list(seen)


def _requester_line(ticket: TicketPayload) -> str:
    if ticket.requester_email:
        name = ticket.requester_name or ticket.requester_email
        return f"{name} <{ticket.requester_email}>"
    return ticket.requester_name or "anonymous chat visitor"


def _transcript_lines(ticket: TicketPayload, budget: int) -> list[str]:
    """The newest lines that fit in the budget; older ones are counted, not shown."""
    rendered = []
    for line in ticket.transcript:
        stamp = f"[{line.at.astimezone(UTC):%Y-%m-%d %H:%M} UTC] " if line.at else ""
        rendered.append(f"{stamp}{line.role}: {line.text}")
    kept: list[str] = []
    used = 0
    for text in reversed(rendered):
        if used + len(text) + 1 > budget:
            break
        kept.append(text)
        used += len(text) + 1
    kept.reverse()
    omitted = len(rendered) - len(kept)
    return ([f"({omitted} earlier messages omitted)"] if omitted else []) + kept


def ticket_sections(ticket: TicketPayload) -> tuple[list[str], list[str]]:
    """(header lines, transcript lines) in plain text; each connector formats them."""
    header = [
        ticket.summary.strip(),
        "",
        f"Category: {ticket.category} · Priority: {ticket.priority}",
        f"Customer: {_requester_line(ticket)}",
        f"Conversation: {ticket.conversation_id} · Escalation: {ticket.escalation_id}",
    ]
    budget = MAX_TICKET_CHARS - sum(len(line) + 1 for line in header)
    return header, _transcript_lines(ticket, max(budget, 1000))


def render_ticket_text(ticket: TicketPayload) -> str:
    header, transcript = ticket_sections(ticket)
    return "\n".join([*header, "", "Transcript:", *transcript, "", LOOP_MARKER])


def render_ticket_html(ticket: TicketPayload) -> str:
    header, transcript = ticket_sections(ticket)

    def para(lines: list[str]) -> str:
        return "<p>" + "<br>".join(html.escape(line) for line in lines) + "</p>"

    summary, details = header[0], header[2:]
    return "".join(
        [
            para(summary.splitlines() or [""]),
            para(details),
            "<p><strong>Transcript</strong></p>",
            para(transcript),
            para([LOOP_MARKER]),
        ]
    )


def with_marker(body: str) -> str:
    return f"{body.rstrip()}\n\n{LOOP_MARKER}"
