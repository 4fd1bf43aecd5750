"""One email in, one decision out: reply | draft | suppress | ignore.

    parse (oversize, malformed -> ignore) -> seen before? (ignore: duplicate)
      -> loop guard (suppress) -> new text empty? (ignore)
      -> thread (In-Reply-To / References / [#token], same sender) or a new conversation
      -> daily caps per thread and per sender (suppress + staff alert)
      -> the inbound row, committed before the agent runs (a crash resumes on the same thread)
      -> Runner.run_turn(channel="email", client_id from the Message-ID: a rerun replays)
      -> the gate: reply automatically, or escalate with the reply as a draft for staff
      -> the outbound row + outbox entry, in the transaction that records the decision

The sender's address is one factor, never proof: the agent still asks for the order number and
the order's email, exactly as in chat. Spoofing is assumed, so a verified conversation's reply is
held as a draft when the mail did not come from the order's own address."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agent.events import TurnResult
from channels.email.attachments import Kept, note, prepare
from channels.email.loops import check_loop
from channels.email.outbound import enqueue_reply
from channels.email.parse import BadEmail, ParsedEmail, parse_email
from channels.email.threads import DAY, auto_replies_since, find_thread, sender_hash
from channels.summary import collect
from helpdesk.alerts import raise_alert
from helpdesk.escalations import open_escalation
from masking import mask_text
from storage import repo
from storage.tables import ActionStatus, Escalation, Message, PendingAction, utcnow
from storage.tables_email import EmailDirection, EmailRecord
from storage.tables_widget import Attachment

log = logging.getLogger(__name__)

_GENERIC_SUBJECTS = {"", "hi", "hello", "help", "question", "support", "no subject", "(no subject)"}


@dataclass(frozen=True)
class Outcome:
    message_id: str | None
    action: str  # reply | draft | suppress | ignore
    reason: str
    conversation_id: str | None = None
    reply: str | None = None  # the bot's text (sent, or held as the draft)
    sent_message_id: str | None = None  # our reply's Message-ID when one was queued

    def as_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "action": self.action,
            "reason": self.reason,
            "conversation_id": self.conversation_id,
            "reply": self.reply,
        }


class EmailChannel:
    """Handles raw messages from any source (IMAP, the SMTP receiver, the CLI)."""

    def __init__(
        self, services: Any, *, clock: Any = utcnow, files_root: Path | None = None
    ) -> None:
        """`files_root`: where attachment files go (the data dir; a dry run's scratch folder)."""
        self._services = services
        self._files_root = files_root or services.settings.data_dir
        self._settings = services.settings
        self._sessions = services.sessions
        self._clock = clock
        self._secret = self._settings.secret_key.get_secret_value().encode()

    @property
    def own_addresses(self) -> list[str]:
        s = self._settings
        return [a.lower() for a in [s.email_address, s.imap_user, *s.email_also_ignore] if a]

    async def handle(self, raw: bytes) -> Outcome:
        try:
            parsed = parse_email(raw, max_bytes=self._settings.email_max_bytes)
        except BadEmail as exc:
            log.warning("email refused (%s): %s", exc.code, mask_text(str(exc)))
            return Outcome(None, "ignore", exc.code)
        async with self._sessions() as session:
            seen = await session.scalar(
                select(EmailRecord).where(EmailRecord.message_id == parsed.message_id)
            )
        if seen is not None and (seen.direction == EmailDirection.OUT or seen.action != "received"):
            return Outcome(parsed.message_id, "ignore", "duplicate", seen.conversation_id)
        verdict = check_loop(parsed, own_addresses=self.own_addresses)
        if verdict.tripped:
            return await self._record_only(parsed, "suppress", verdict.reason)
        if not parsed.text.strip():
            return await self._record_only(parsed, "ignore", "no_new_text")
        digest = sender_hash(parsed.sender, self._secret)
        kept: list[Kept] = []
        if seen is not None:  # received before a crash: resume on the same conversation
            conversation_id, created = seen.conversation_id, False
        else:
            kept = await asyncio.to_thread(
                prepare,
                parsed.attachments,
                conversation_id="",
                settings=self._settings,
                root=self._files_root,
            )
            claimed = await self._claim_thread(parsed, digest, kept)
            if isinstance(claimed, Outcome):
                await asyncio.to_thread(self._unlink, kept)
                return claimed
            conversation_id, created = claimed
        assert conversation_id is not None
        client_id = "email:" + hashlib.sha256(parsed.message_id.encode()).hexdigest()[:40]
        result = await collect(
            self._services.runner.run_turn(
                text=self._agent_text(parsed, created, kept),
                channel="email",
                conversation_id=conversation_id,
                client_id=client_id,
            )
        )
        if any(k.row is not None for k in kept):
            await self._link(conversation_id, client_id, kept)
        return await self._decide(parsed, result)

    def _unlink(self, kept: list[Kept]) -> None:
        for k in kept:
            if k.row is not None:
                (self._files_root / k.row.path).unlink(missing_ok=True)

    async def _link(self, conversation_id: str, client_id: str, kept: list[Kept]) -> None:
        """The stored attachments point to the customer's message the turn recorded."""
        ids = [k.row.id for k in kept if k.row is not None]
        async with self._sessions.begin() as session:
            message_id = await session.scalar(
                select(Message.id).where(
                    Message.conversation_id == conversation_id, Message.client_id == client_id
                )
            )
            if message_id is not None:
                await session.execute(
                    update(Attachment).where(Attachment.id.in_(ids)).values(message_id=message_id)
                )

    def _agent_text(self, parsed: ParsedEmail, created: bool, kept: list[Kept]) -> str:
        text = parsed.text.strip()
        subject = parsed.subject.strip()
        if created and subject.lower() not in _GENERIC_SUBJECTS and subject not in text:
            text = f"{subject}\n\n{text}"
        if kept:
            text += "\n\n" + note(kept)
        elif parsed.attachments:  # a resumed mail: its files were kept on the first pass
            names = ", ".join(a.filename for a in parsed.attachments[:10])
            text += f"\n\n(attached: {names})"
        return text[: self._settings.max_message_chars]

    async def _record_only(self, parsed: ParsedEmail, action: str, reason: str) -> Outcome:
        """A mail that gets no turn: only its Message-ID is kept (no address, no text)."""
        async with self._sessions.begin() as session:
            await self._record(session, parsed, action=action, reason=reason, conversation_id=None)
        log.info("email %s: %s (%s)", mask_text(parsed.message_id), action, reason)
        return Outcome(parsed.message_id, action, reason)

    async def _record(
        self,
        session: AsyncSession,
        parsed: ParsedEmail,
        *,
        action: str,
        reason: str,
        conversation_id: str | None,
    ) -> None:
        session.add(
            EmailRecord(
                message_id=parsed.message_id,
                direction=EmailDirection.IN,
                conversation_id=conversation_id,
                address=parsed.sender if conversation_id else None,
                sender_hash=sender_hash(parsed.sender, self._secret) if parsed.sender else None,
                subject=mask_text(parsed.subject)[:300],
                action=action,
                reason=reason,
                created_at=self._clock(),
            )
        )
        await session.flush()

    async def _claim_thread(
        self, parsed: ParsedEmail, digest: str, kept: list[Kept]
    ) -> tuple[str, bool] | Outcome:
        cap = self._settings.email_max_auto_replies_per_day
        async with self._sessions.begin() as session:
            conversation_id = await find_thread(session, parsed, digest)
            thread, sender = await auto_replies_since(
                session, since=self._clock() - DAY, conversation_id=conversation_id, digest=digest
            )
            if thread >= cap or sender >= cap:
                await self._record(
                    session, parsed, action="suppress", reason="reply_cap", conversation_id=None
                )
                await raise_alert(
                    session,
                    "email_reply_cap",
                    f"Automatic email replies stopped: {cap} a day reached for a sender or "
                    "thread (a mail loop or an insistent sender). Their mail waits in the inbox "
                    "folder for a person.",
                    {"conversation_id": conversation_id, "sender": mask_text(parsed.sender)},
                )
                log.warning("email %s: reply cap reached", mask_text(parsed.message_id))
                return Outcome(parsed.message_id, "suppress", "reply_cap", conversation_id)
            created = conversation_id is None
            if created:
                conversation_id = (await repo.create_conversation(session, channel="email")).id
            await self._record(
                session, parsed, action="received", reason="", conversation_id=conversation_id
            )
            for k in kept:  # the files are written: the rows go with the inbound record
                if k.row is not None:
                    k.row.conversation_id = conversation_id
                    session.add(k.row)
        assert conversation_id is not None
        return conversation_id, created

    async def _gate(self, session: AsyncSession, parsed: ParsedEmail, result: TurnResult) -> str:
        """'' when the reply may go out by itself; otherwise why a person must look first."""
        if result.escalation is not None:
            return "escalated"
        if any(not call.ok for call in result.tool_calls):
            return "tool_failed"
        waiting = await session.scalar(
            select(PendingAction.id)
            .where(
                PendingAction.conversation_id == result.conversation_id,
                PendingAction.status == ActionStatus.AWAITING_APPROVAL,
            )
            .limit(1)
        )
        if waiting is not None:
            return "pending_approval"
        conversation = await repo.get_conversation(session, result.conversation_id)
        if conversation is not None and conversation.verified_customer_id:
            customer = await self._services.store.get_customer(conversation.verified_customer_id)
            if customer is None or customer.email.strip().lower() != parsed.sender:
                return "not_order_address"  # order data only to the order's own address
        for call in result.tool_calls:
            if call.name == "search_help_center":
                query = str(call.args.get("query") or parsed.text)
                found = await asyncio.to_thread(self._services.knowledge.search, query)
                if found.confidence < self._settings.email_min_confidence:
                    return "low_confidence"
        return ""

    async def _decide(self, parsed: ParsedEmail, result: TurnResult) -> Outcome:
        cid = result.conversation_id
        if result.message_id is None:  # a person owns the conversation: the bot stays silent
            action, reason = "ignore", "staff_owns"
            sent = None
        else:
            sent = None
            async with self._sessions.begin() as session:
                reason = await self._gate(session, parsed, result)
                if reason:
                    action = "draft"
                    await self._hold_draft(session, parsed, result, reason)
                else:
                    action = "reply"
                    sent = await enqueue_reply(
                        session,
                        settings=self._settings,
                        conversation_id=cid,
                        reply_id=result.message_id,
                        text=result.text,
                        to=parsed.sender,
                        subject=parsed.subject,
                        in_reply_to=parsed.message_id,
                        references=parsed.references,
                        auto=True,
                        now=self._clock(),
                    )
                await _finish(session, parsed.message_id, action, reason)
            self._services.outbox.notify()
        if result.message_id is None:
            async with self._sessions.begin() as session:
                await _finish(session, parsed.message_id, action, reason)
        log.info("email %s: %s %s", mask_text(parsed.message_id), action, reason)
        return Outcome(parsed.message_id, action, reason, cid, result.text or None, sent)

    async def _hold_draft(
        self, session: AsyncSession, parsed: ParsedEmail, result: TurnResult, reason: str
    ) -> None:
        """The bot's reply becomes the escalation's suggested reply; staff edit and send it
        (POST /api/staff/conversations/{id}/reply goes out by email)."""
        escalation = await repo.open_escalation(session, result.conversation_id)
        if escalation is None:
            conversation = await repo.get_conversation(session, result.conversation_id)
            assert conversation is not None
            escalation = await open_escalation(
                session,
                conversation_id=conversation.id,
                expected_version=conversation.owner_version,
                reason="email_draft",
                model_summary=f"Email reply held for review ({reason}).",
                channel="email",
                helpdesk=self._settings.helpdesk,
                triage=self._services.deps.triage(parsed.text),
            )
        _draft(escalation, result.text, reason)


def _draft(escalation: Escalation, text: str, reason: str) -> None:
    if reason != "escalated":  # a handoff notice is no draft: the helpdesk's opener stays
        escalation.suggested_reply = text
    escalation.details = {**(escalation.details or {}), "email_draft_reason": reason}


async def _finish(session: AsyncSession, message_id: str, action: str, reason: str) -> None:
    row = await session.scalar(select(EmailRecord).where(EmailRecord.message_id == message_id))
    if row is not None:
        row.action, row.reason = action, reason[:60]
