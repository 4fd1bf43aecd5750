"""Leases in the database: one worker at a time runs a singleton job (the outbox poller, the
IMAP poller, notifications), and a conversation's bot turns run one at a time across workers.

A lease is taken with a single conditional UPDATE (free, lapsed, or already ours) or, the first
time, an INSERT that the primary key makes exclusive: the same on SQLite and PostgreSQL, with no
lock held between statements."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import fastpath
from storage.tables import utcnow
from storage.tables_security import Lease

log = logging.getLogger(__name__)


def worker_id() -> str:
    """This process, as it names itself in leases (host, pid and a random part)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


async def acquire(
    sessions: async_sessionmaker[AsyncSession],
    name: str,
    holder: str,
    *,
    ttl_s: float,
    now: datetime | None = None,
) -> bool:
    now = now or utcnow()
    until = now + timedelta(seconds=ttl_s)
    async with sessions.begin() as session:
        taken = await session.execute(
            update(Lease)
            .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < now))
            .values(holder=holder, expires_at=until)
        )
        if taken.rowcount:
            return True
    try:
        async with sessions.begin() as session:
            session.add(Lease(name=name, holder=holder, expires_at=until))
        return True
    except IntegrityError:  # someone else holds it
        return False


async def release(sessions: async_sessionmaker[AsyncSession], name: str, holder: str) -> None:
    async with sessions.begin() as session:
        await session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))


async def run_as_singleton(
    sessions: async_sessionmaker[AsyncSession],
    name: str,
    job: Callable[[asyncio.Event], Awaitable[None]],
    stop: asyncio.Event,
    *,
    holder: str,
    ttl_s: float = 30.0,
    renew_s: float = 10.0,
) -> None:
    """Runs `job(job_stop)` in this process while it holds the lease `name`; another worker
    takes over within `ttl_s` of this one dying. The job must return soon after job_stop is set."""
    running: asyncio.Task[None] | None = None
    job_stop = asyncio.Event()
    try:
        while not stop.is_set():
            try:
                held = await acquire(sessions, name, holder, ttl_s=ttl_s)
            except Exception:  # the database blinked: act as if the lease were lost
                log.warning("lease %s: renewal failed", name, exc_info=True)
                held = False
            if held and running is None:
                log.info("lease %s: taken by %s", name, holder)
                job_stop = asyncio.Event()
                running = asyncio.create_task(job(job_stop))
            elif not held and running is not None:
                log.warning("lease %s: lost, stopping the job here", name)
                job_stop.set()
                await asyncio.gather(running, return_exceptions=True)
                running = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), renew_s)
    finally:
        if running is not None:
            job_stop.set()
            await asyncio.gather(running, return_exceptions=True)
        with contextlib.suppress(Exception):
            await release(sessions, name, holder)


async def claim_turn(
    session: AsyncSession, conversation_id: str, holder: str, *, ttl_s: float
) -> bool:
    """Inside the caller's transaction: this worker may run the conversation's next bot turn
    (the lease is free, lapsed or already its own). Straight through the driver: it runs on
    every turn (storage/fastpath.py)."""
    return await fastpath.claim_turn(session, conversation_id, holder, ttl_s=ttl_s)


async def release_turn(session: AsyncSession, conversation_id: str, holder: str) -> None:
    await fastpath.release_turn(session, conversation_id, holder)
