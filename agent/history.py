"""Stored message rows <-> LangChain messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    ToolMessage,
    message_to_dict,
    messages_from_dict,
)

from storage.tables import Message


def to_payload(message: BaseMessage) -> dict[str, Any]:
    return message_to_dict(message)


def to_langchain(rows: Sequence[Message]) -> list[BaseMessage]:
    messages: list[BaseMessage] = []
    for row in rows:
        if row.role == "customer":
            messages.append(HumanMessage(row.text, id=row.id))
        elif row.payload:
            messages.extend(messages_from_dict([row.payload]))
        elif row.role in ("assistant", "staff"):
            messages.append(AIMessage(row.text, id=row.id, name=row.role))
    return _drop_orphans(messages)


def _drop_orphans(messages: list[BaseMessage]) -> list[BaseMessage]:
    """A window that starts mid-exchange would leave tool results without their call."""
    while messages and isinstance(messages[0], ToolMessage):
        messages.pop(0)
    return messages
