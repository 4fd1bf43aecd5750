"""The product under test: build_services over a temporary data dir with the generated demo
store (default seed) and the demo help center, a pristine copy of the store to reset to before
every run, and the order pool that scenarios pick from."""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from commerce.backend import StoreBackend
from commerce.demo.store import DemoStore
from evals.scenarios.checks import OrderState, ReturnState, StoreState
from evals.scenarios.orders import OrderFacts
from settings import Settings
from storage import repo
from storage.tables import Escalation, PendingAction

# The eval plays hundreds of different customers from one process: per-client limits meant for
# one real visitor would stop it after a few scenarios.
EVAL_LIMITS = {
    "escalations_per_client_per_hour": 1_000_000,
    "messages_per_ip_per_min": 1_000_000,
    "ws_connections_per_ip_per_min": 1_000_000,
}


def eval_settings(data_dir: Path, **overrides: Any) -> Settings:
    """The environment's settings (the model provider, the embedder) over a private SQLite
    database, embedded Chroma and demo store in `data_dir`; never the deployment's own data."""
    fields = Settings.model_fields
    base: dict[str, Any] = {
        "data_dir": data_dir,
        "demo": True,
        "store_backend": "demo",
        "database_url": None,
        "redis_url": None,
        "chroma_url": None,
        "policy_path": None,
        "helpdesk": "builtin",
        "demo_seed": fields["demo_seed"].default,
        "demo_customers": fields["demo_customers"].default,
        "demo_orders": fields["demo_orders"].default,
        **{k: v for k, v in EVAL_LIMITS.items() if k in fields},
    }
    return Settings(**{**base, **overrides})


@dataclass
class EvalEnv:
    services: Any
    pristine: Path
    pool: list[OrderFacts]

    @classmethod
    async def open(cls, settings: Settings, **parts: Any) -> EvalEnv:
        """`parts` go to build_services (tests pass their session-wide embedder and triager)."""
        from services import build_services

        services = await build_services(settings, **parts)
        try:
            store = services.store
            if not isinstance(store, DemoStore) or store.path is None:
                raise RuntimeError("scenario evals run on the demo store")
            await store.close()  # release the file before copying it
            pristine = settings.data_dir / "demo_store.pristine.db"
            await asyncio.to_thread(shutil.copyfile, store.path, pristine)
            pool = await load_pool(store, services.deps.policy)
        except BaseException:
            await services.close()
            raise
        return cls(services, pristine, pool)

    @property
    def store(self) -> StoreBackend:
        return self.services.store

    async def reset_store(self) -> None:
        """Back to the generated store: each run starts from the same orders and no returns."""
        store = self.services.store
        await store.close()  # engines reconnect on next use
        await asyncio.to_thread(_restore, self.pristine, store.path)

    async def snapshot(self, numbers: list[str]) -> StoreState:
        orders: dict[str, OrderState] = {}
        names: dict[str, dict[str, str]] = {}  # order number -> line item id -> product name
        for number in numbers:
            order = await self.store.find_order(number)
            if order is None:
                continue
            a = order.shipping_address
            items = tuple(
                sorted(f"{i.quantity} × {i.name} ({i.variant_title})" for i in order.line_items)
            )
            orders[number] = OrderState(
                number, order.status.value, a.line1, a.city, a.postal_code, items
            )
        returns: dict[str, ReturnState] = {}
        for record in await self.store.list_returns():
            if record.order_number not in names:
                order = await self.store.find_order(record.order_number)
                names[record.order_number] = (
                    {li.id: li.name for li in order.line_items} if order else {}
                )
            items = tuple(
                sorted(
                    names[record.order_number].get(x.line_item_id, x.line_item_id)
                    for x in record.lines
                )
            )
            exchanges = tuple(sorted(x.exchange_sku for x in record.lines if x.exchange_sku))
            returns[record.rma] = ReturnState(
                record.rma, record.order_number, items, record.resolution.value, exchanges
            )
        return StoreState(orders, returns)

    async def conversation_state(
        self, conversation_id: str
    ) -> tuple[str, list[str], list[tuple[str, str]]]:
        """(owner, escalation reasons, (kind, status) of its actions)."""
        async with self.services.sessions() as session:
            conversation = await repo.get_conversation(session, conversation_id)
            escalations = (
                await session.scalars(
                    select(Escalation.reason)
                    .where(Escalation.conversation_id == conversation_id)
                    .order_by(Escalation.created_at)
                )
            ).all()
            actions = (
                await session.execute(
                    select(PendingAction.kind, PendingAction.status)
                    .where(PendingAction.conversation_id == conversation_id)
                    .order_by(PendingAction.created_at)
                )
            ).all()
        owner = str(conversation.owner) if conversation else ""
        return owner, list(escalations), [(str(k), str(s)) for k, s in actions]

    async def close(self) -> None:
        await self.services.close()


def _restore(pristine: Path, path: Path) -> None:
    for suffix in ("-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(pristine, path)


async def load_pool(store: StoreBackend, policy: Any) -> list[OrderFacts]:
    orders = await store.list_orders(limit=1_000_000)
    now = datetime.now(UTC)
    # returns in the last 90 days per customer, as the return tools count them
    since = now - timedelta(days=90)
    recent: Counter[str] = Counter(
        r.customer_id
        for r in await store.list_returns()
        if r.created_at.replace(tzinfo=r.created_at.tzinfo or UTC) >= since
    )
    customers: dict[str, tuple[str, str]] = {}
    for order in orders:
        if order.customer_id not in customers:
            customer = await store.get_customer(order.customer_id)
            customers[order.customer_id] = (
                (customer.first_name, customer.last_name) if customer else ("", "")
            )
    return [
        OrderFacts.of(
            o,
            now=now,
            policy=policy,
            first_name=customers[o.customer_id][0],
            last_name=customers[o.customer_id][1],
            frequent_returner=recent[o.customer_id] >= policy.approval.max_returns_90d,
        )
        for o in sorted(orders, key=lambda o: int(o.number.lstrip("#")))
    ]
