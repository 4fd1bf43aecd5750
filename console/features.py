"""The routers of the console's work features (issue #16): the queue, the conversation view,
internal notes, saved replies, live events, analytics and the knowledge review. server.py
includes them all."""

from __future__ import annotations

from console import analytics, conversation, events, kb_review, notes, queue, replies

ROUTERS = [
    queue.router,
    conversation.router,
    notes.router,
    replies.router,
    events.router,
    analytics.router,
    kb_review.router,
]
