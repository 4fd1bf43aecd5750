"""/ws/chat: typed JSON frames in, streamed frames out. A bad frame gets an `error` frame and
the socket stays usable."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import ValidationError

import metrics
from agent.events import Accepted, Escalated, Token, TokenReset, ToolStatus, TurnResult
from bus import conversation_topic
from channels import widget_frames
from channels.protocol import (
    CLIENT_FRAME_TYPES,
    Citation,
    ClientCsat,
    ClientIdentify,
    ClientMessage,
    ClientPing,
    ClientResume,
    HistoryItem,
    ServerAck,
    ServerConversation,
    ServerCsatRequest,
    ServerError,
    ServerEscalated,
    ServerMessage,
    ServerPong,
    ServerToken,
    ServerTokenReset,
    ServerToolStatus,
    client_frame_adapter,
)
from channels.rates import refuse_socket, too_fast
from errors import ProtocolError
from knowledge.articles_http import article_url
from storage import repo
from web.invalid import has_lone_surrogate

log = logging.getLogger(__name__)
VISIBLE_ROLES = ("customer", "assistant", "staff", "system")
TOKEN_FRAME_S = 0.05


class _TokenBuffer:
    """Streamed text gathered into at most one `token` frame per TOKEN_FRAME_S."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._sent_at = 0.0

    @property
    def pending(self) -> bool:
        return bool(self._parts)

    def add(self, text: str) -> bool:
        """True when the gathered text should go out now."""
        self._parts.append(text)
        return time.monotonic() - self._sent_at >= TOKEN_FRAME_S

    def take(self) -> str:
        self._sent_at = time.monotonic()
        text, self._parts = "".join(self._parts), []
        return text


class ChatSession:
    def __init__(self, websocket: WebSocket, services: Any) -> None:
        self.ws = websocket
        self.services = services
        self.conversation_id: str | None = None
        self.client_ip = services.rates.client_ip(websocket)
        self._send_lock = asyncio.Lock()
        self._follower: asyncio.Task[None] | None = None
        self.identified_customer: str | None = None  # from a good `identify` token
        # set once a send fails (the client left, or the server is shutting down): the turn in
        # flight still runs to its commit, so its reply is there when the customer reconnects
        self.gone = False

    async def send(self, frame: Any) -> None:
        await self.send_text(frame.model_dump_json())

    async def send_text(self, text: str) -> None:
        if self.gone:
            return
        async with self._send_lock:
            try:
                await self.ws.send_text(text)
            except (WebSocketDisconnect, RuntimeError, OSError):
                self.gone = True

    def follow(self, conversation_id: str) -> None:
        """Messages that arrive outside a turn (approval outcomes, staff replies) are pushed
        to this socket while it shows this conversation."""
        if self.conversation_id == conversation_id and self._follower is not None:
            return
        self.conversation_id = conversation_id
        if self._follower is not None:
            self._follower.cancel()
        self._follower = asyncio.create_task(self._forward(conversation_id))

    async def _forward(self, conversation_id: str) -> None:
        async with self.services.bus.subscribe(conversation_topic(conversation_id)) as queue:
            while True:
                event = await queue.get()
                if event.get("type") == "csat_request":
                    await self.send(ServerCsatRequest.model_validate(event))
                else:
                    await self.send(ServerMessage.model_validate(event))

    async def error(self, code: str, message: str) -> None:
        await self.send(ServerError(code=code, message=message))

    async def serve(self) -> None:
        rates = self.services.rates
        admitted = await rates.admit_socket(self.client_ip)
        if not admitted.allowed:  # too many sockets from this IP: refused at the handshake
            await refuse_socket(self.ws, admitted)
            return
        try:
            await self.ws.accept()
            with metrics.socket_open():
                await self._loop()
        finally:
            rates.release_socket(self.client_ip)
            if self._follower is not None:
                self._follower.cancel()

    async def _loop(self) -> None:
        while True:
            try:
                received = await self.ws.receive()
            except WebSocketDisconnect:
                return
            if received["type"] == "websocket.disconnect":
                return
            text = received.get("text")
            if text is None:
                await self.error("invalid_frame", "Frames must be JSON text.")
                continue
            try:
                await self.handle(text)
            except ProtocolError as exc:
                await self.error(exc.code, exc.message)
            except WebSocketDisconnect:
                return
            except Exception:
                log.exception("chat frame failed")
                await self.error("internal", "Something went wrong. Please try again.")

    async def handle(self, raw: str) -> None:
        limit = self.services.settings.max_frame_bytes
        if len(raw.encode("utf-8")) > limit:
            raise ProtocolError("frame_too_large", f"Frames are limited to {limit:,} bytes.")
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ProtocolError("bad_json", "The frame is not valid JSON.") from exc
        if has_lone_surrogate(data):  # "\ud800" parses, but no database can store it
            raise ProtocolError("bad_json", "The frame contains text that is not valid Unicode.")
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            raise ProtocolError("invalid_frame", 'A frame is a JSON object with a "type".')
        if data["type"] not in CLIENT_FRAME_TYPES:
            raise ProtocolError("unknown_type", f"Unknown frame type {data['type'][:40]!r}.")
        try:
            frame = client_frame_adapter.validate_python(data)
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(p) for p in problem["loc"])
            code = "bad_frame" if data["type"] == "csat" else "invalid_frame"
            raise ProtocolError(code, f"{where}: {problem['msg']}") from exc
        if isinstance(frame, ClientPing):
            await self.send(ServerPong())
        elif isinstance(frame, ClientResume):
            await self.resume(frame.conversation_id)
        elif isinstance(frame, ClientMessage):
            await self.message(frame)
        elif isinstance(frame, ClientIdentify):
            await widget_frames.identify(self, frame)
        elif isinstance(frame, ClientCsat):
            await widget_frames.csat(self, frame)

    async def resume(self, conversation_id: str) -> None:
        async with self.services.sessions() as session:
            conversation = await repo.get_conversation(session, conversation_id)
            if conversation is None:
                raise ProtocolError("conversation_not_found", "That conversation does not exist.")
            rows = await repo.history(session, conversation_id)
        self.follow(conversation_id)
        if self.identified_customer and conversation.verified_customer_id is None:
            await widget_frames.bind(self, conversation_id, self.identified_customer)
        photos = await widget_frames.history_attachments(self, conversation_id)
        items = [
            HistoryItem(
                id=row.id,
                role=row.role,  # type: ignore[arg-type]
                text=row.text,
                citations=[self.citation(c) for c in row.citations],
                attachments=photos.get(row.id, []),
                created_at=row.created_at,
            )
            for row in rows
            if row.role in VISIBLE_ROLES and row.text
        ]
        await self.send(
            ServerConversation(
                conversation_id=conversation_id, owner=conversation.owner, messages=items
            )
        )

    def citation(self, data: dict[str, Any]) -> Citation:
        citation = Citation(**data)
        citation.url = article_url(self.services.settings, citation.id)
        return citation

    async def message(self, frame: ClientMessage) -> None:
        photos = await widget_frames.check_attachments(self, frame.attachments)
        verdict = await self.services.rates.message(self.client_ip)
        if not verdict.allowed:  # refused before anything is stored or acknowledged
            await self.send(
                ServerError(
                    code="rate_limited", message=too_fast(verdict), retry_after=verdict.retry_after
                )
            )
            return
        if self.conversation_id is None and self.identified_customer is not None:
            await widget_frames.start_identified(self)
        runner = self.services.runner
        events = runner.run_turn(
            text=frame.text,
            channel="web",
            conversation_id=self.conversation_id,
            client_id=frame.client_id,
            client_ip=self.client_ip,
        )
        tokens = _TokenBuffer()
        async for event in events:
            if isinstance(event, Token):
                # one frame per TOKEN_FRAME_S at most: fewer frames, same text
                if tokens.add(event.text):
                    await self.send(ServerToken(text=tokens.take()))
                continue
            if isinstance(event, TokenReset):
                tokens.take()  # held back, never sent: nothing to take back
                await self.send(ServerTokenReset())
                continue
            if tokens.pending:
                await self.send(ServerToken(text=tokens.take()))
            if isinstance(event, Accepted):
                self.follow(event.conversation_id)
                await widget_frames.attach(self, event.conversation_id, event.message_id, photos)
                if event.created:
                    await self.send(
                        ServerConversation(conversation_id=event.conversation_id, owner=event.owner)
                    )
                await self.send(
                    ServerAck(
                        conversation_id=event.conversation_id,
                        message_id=event.message_id,
                        client_id=event.client_id,
                    )
                )
            elif isinstance(event, ToolStatus):
                await self.send(
                    ServerToolStatus(tool=event.tool, status=event.status, label=event.label)  # type: ignore[arg-type]
                )
            elif isinstance(event, Escalated):
                await self.send(
                    ServerEscalated(escalation_id=event.escalation_id, reason=event.reason)
                )
            elif isinstance(event, TurnResult) and event.message_id is not None:
                replies = await widget_frames.quick_replies(
                    self, event.conversation_id, [c.name for c in event.tool_calls]
                )
                await self.send(
                    ServerMessage(
                        id=event.message_id,
                        conversation_id=event.conversation_id,
                        text=event.text,
                        citations=[self.citation(c.__dict__) for c in event.citations],
                        owner=event.owner,
                        created_at=event.created_at,
                        client_id=event.client_id,
                        quick_replies=replies,
                    )
                )
