"""The chat protocol: typed JSON frames on /ws/chat. `widget/widget.js` mirrors the type names
(a test checks the two lists match). Documented in docs/protocol.md."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

# ---- client -> server -------------------------------------------------------------------------


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid")


MAX_ATTACHMENTS = 3
MAX_CSAT_COMMENT = 1000


class ClientMessage(_Frame):
    type: Literal["message"]
    text: str
    client_id: str | None = Field(default=None, max_length=100)
    # ids from POST /api/attachments for this same conversation
    attachments: list[Annotated[str, Field(max_length=32)]] = Field(
        default_factory=list, max_length=MAX_ATTACHMENTS
    )


class ClientResume(_Frame):
    type: Literal["resume"]
    conversation_id: str = Field(max_length=100)


class ClientPing(_Frame):
    type: Literal["ping"]


class ClientIdentify(_Frame):
    """The storefront's signed login (channels/identify.py); a bad token is ignored silently."""

    type: Literal["identify"]
    token: str = Field(max_length=300)


class ClientCsat(_Frame):
    type: Literal["csat"]
    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=MAX_CSAT_COMMENT)


ClientFrame = Annotated[
    ClientMessage | ClientResume | ClientPing | ClientIdentify | ClientCsat,
    Field(discriminator="type"),
]
client_frame_adapter: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)
CLIENT_FRAME_TYPES = ("message", "resume", "ping", "identify", "csat")

# ---- server -> client -------------------------------------------------------------------------


class Citation(BaseModel):
    id: str
    title: str
    source: str | None = None
    # the article at a stable URL (GET /help/articles/{id}): absolute with SUPPORT_PUBLIC_URL
    url: str | None = None


class AttachmentRef(BaseModel):
    id: str
    url: str
    content_type: str


class HistoryItem(BaseModel):
    id: str
    role: Literal["customer", "assistant", "staff", "system"]
    text: str
    citations: list[Citation] = Field(default_factory=list)
    attachments: list[AttachmentRef] = Field(default_factory=list)  # customer messages only
    created_at: datetime


class ServerConversation(_Frame):
    """Sent after a resume (or the first message): the conversation and what was said so far."""

    type: Literal["conversation"] = "conversation"
    conversation_id: str
    owner: str
    messages: list[HistoryItem] = Field(default_factory=list)


class ServerAck(_Frame):
    """The customer's message is committed (sent before any reply)."""

    type: Literal["ack"] = "ack"
    conversation_id: str
    message_id: str
    client_id: str | None = None


class ServerToken(_Frame):
    type: Literal["token"] = "token"
    text: str


class ServerTokenReset(_Frame):
    """The tokens streamed so far are void (the model failed mid-reply); others follow."""

    type: Literal["token_reset"] = "token_reset"


class ServerToolStatus(_Frame):
    type: Literal["tool_status"] = "tool_status"
    tool: str
    status: Literal["started", "finished", "failed"]
    label: str  # what the customer sees: "Looking up your order..."


class ServerEscalated(_Frame):
    type: Literal["escalated"] = "escalated"
    escalation_id: str
    reason: str


class ServerMessage(_Frame):
    """Ends every turn: the whole reply, committed before it is sent."""

    type: Literal["message"] = "message"
    id: str
    conversation_id: str
    role: Literal["assistant", "staff", "system"] = "assistant"
    text: str
    citations: list[Citation] = Field(default_factory=list)
    owner: str
    created_at: datetime
    client_id: str | None = None  # echoes the customer message this answers
    # ["Yes", "No"] when the reply asks the customer to confirm a pending action
    quick_replies: list[str] = Field(default_factory=list)


class ServerError(_Frame):
    type: Literal["error"] = "error"
    code: str
    message: str
    # with code "rate_limited": whole seconds before the next message will be taken (left out
    # of the other errors)
    retry_after: int | None = Field(default=None, exclude_if=lambda v: v is None)


class ServerPong(_Frame):
    type: Literal["pong"] = "pong"


class ServerIdentified(_Frame):
    """The signed login was accepted: the conversation is (or will be) bound to the customer."""

    type: Literal["identified"] = "identified"
    first_name: str


class ServerCsatRequest(_Frame):
    """The conversation was resolved or handed back to the bot: ask for a 1-5 rating."""

    type: Literal["csat_request"] = "csat_request"
    conversation_id: str


class ServerCsatSaved(_Frame):
    type: Literal["csat_saved"] = "csat_saved"


ServerFrame = Annotated[
    ServerConversation
    | ServerAck
    | ServerToken
    | ServerTokenReset
    | ServerToolStatus
    | ServerEscalated
    | ServerMessage
    | ServerError
    | ServerPong
    | ServerIdentified
    | ServerCsatRequest
    | ServerCsatSaved,
    Field(discriminator="type"),
]
SERVER_FRAME_TYPES = (
    "conversation",
    "ack",
    "token",
    "token_reset",
    "tool_status",
    "escalated",
    "message",
    "error",
    "pong",
    "identified",
    "csat_request",
    "csat_saved",
)
