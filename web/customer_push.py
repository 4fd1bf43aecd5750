"""Frames pushed to a customer's open widget from outside a turn, through the bus (so the
worker holding the socket delivers them). Shared by channels/ and console/."""

from __future__ import annotations

from typing import Any

from bus import conversation_topic


async def request_csat(services: Any, conversation_id: str) -> None:
    """Staff resolved the conversation or handed it back: the open widget asks for a rating."""
    await services.bus.publish(
        conversation_topic(conversation_id),
        {"type": "csat_request", "conversation_id": conversation_id},
    )
