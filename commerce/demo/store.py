"""DemoStore: the StoreBackend over the demo SQLite file, through SQLAlchemy async.

Reads and writes use separate engines: reads stay one plain statement each, and every write is
one BEGIN IMMEDIATE transaction that applies the change and records its idempotency key
together (applied.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from commerce.demo import order_writes, queries, returns
from commerce.demo.order_edits import OrderEditsMixin
from commerce.demo.applied import apply_once, make_writer_engine
from commerce.demo.generate import generate_demo_store
from commerce.demo.search import search_catalog
from commerce.demo.upgrade import upgrade_store_file
from commerce.models import (
    Address,
    Customer,
    Order,
    OrderNumberFormat,
    OrderStatus,
    Product,
    Resolution,
    ReturnLine,
    ReturnRecord,
    normalize_email,
    normalize_order_number,
    order_number_formats,
)
from errors import BackendError

if TYPE_CHECKING:
    from settings import Settings

M = TypeVar("M", Order, ReturnRecord)


class DemoStore(OrderEditsMixin):
    """The demo store. Reads are a handful of indexed queries per call (see queries.load_orders)."""

    name = "demo"

    def __init__(
        self,
        engine: AsyncEngine,
        path: Path | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._engine = engine
        self._writer = make_writer_engine(engine.url.render_as_string(hide_password=False))
        self._clock = clock or (lambda: datetime.now(UTC))
        self.path = path
        self._formats: list[OrderNumberFormat] | None = None

    @classmethod
    def open(cls, path: Path, *, clock: Callable[[], datetime] | None = None) -> DemoStore:
        """A store over an existing file, upgraded in place if it is an older format. A missing
        file is an error, not a new empty store."""
        path = Path(path)
        if not path.is_file():
            raise BackendError(f"demo store not found at {path}; run `support-agent store seed`")
        upgrade_store_file(path)
        return cls(create_async_engine(f"sqlite+aiosqlite:///{path}"), path, clock=clock)

    async def order_number_formats(self) -> list[OrderNumberFormat]:
        """The formats of the numbers in this store ("#{n}" for the generated demo), read once."""
        if self._formats is None:
            async with self._engine.connect() as conn:
                numbers = await conn.run_sync(queries.load_order_numbers)
            self._formats = order_number_formats(numbers)
        return self._formats

    async def find_order(self, number: str) -> Order | None:
        normalized = await self._normalize(number)
        if normalized is None:
            return None
        found = await self._orders({"number": normalized}, limit=1)
        return found[0] if found else None

    async def list_orders(
        self,
        *,
        customer_id: str | None = None,
        email: str | None = None,
        status: OrderStatus | None = None,
        limit: int = 20,
    ) -> list[Order]:
        filters: dict[str, str] = {}
        if customer_id is not None:
            filters["customer_id"] = customer_id
        if email is not None:
            filters["email"] = normalize_email(email)
        if status is not None:
            filters["status"] = OrderStatus(status).value
        return await self._orders(filters, limit=max(0, limit))

    async def get_customer(self, customer_id: str) -> Customer | None:
        async with self._engine.connect() as conn:
            return await conn.run_sync(queries.load_customer, customer_id)

    async def get_product(self, product_id: str) -> Product | None:
        async with self._engine.connect() as conn:
            found = await conn.run_sync(queries.load_products, product_id)
        return found[0] if found else None

    async def search_products(self, query: str, limit: int = 5) -> list[Product]:
        # the whole catalogue is a few hundred rows: read it and rank in Python (search.py)
        async with self._engine.connect() as conn:
            products = await conn.run_sync(queries.load_products)
        return search_catalog(products, query, limit=limit)

    # ---- writes: each idempotent on its key (applied.py); refusals raise BackendError.

    async def create_return(
        self,
        *,
        order_number: str,
        lines: list[ReturnLine],
        reason: str,
        resolution: Resolution,
        refund_amount: Decimal,
        restocking_fee: Decimal,
        idempotency_key: str,
    ) -> ReturnRecord:
        """Open an RMA: the items are marked as being returned; the refund waits for the parcel
        (see returns.py for the lifecycle)."""
        number = await self._number(order_number)
        now = self._clock()

        def operation(conn: Connection) -> ReturnRecord:
            return returns.create_return(
                conn,
                order_number=number,
                lines=lines,
                reason=reason,
                resolution=Resolution(resolution),
                refund_amount=Decimal(refund_amount),
                restocking_fee=Decimal(restocking_fee),
                idempotency_key=idempotency_key,
                now=now,
            )

        return await self._apply("return", idempotency_key, number, operation, ReturnRecord)

    async def list_returns(
        self, *, customer_id: str | None = None, order_number: str | None = None
    ) -> list[ReturnRecord]:
        filters: dict[str, str] = {}
        if customer_id is not None:
            filters["customer_id"] = customer_id
        if order_number is not None:
            number = await self._normalize(order_number)
            if number is None:
                return []
            filters["order_number"] = number
        async with self._engine.connect() as conn:
            return await conn.run_sync(lambda sync_conn: returns.load_returns(sync_conn, filters))

    async def receive_return(self, *, rma: str) -> ReturnRecord:
        """The warehouse checked the parcel in: refund (or close an exchange). Demo-only: a
        real platform does this in its own admin. Repeating it replays the first result."""
        now = self._clock()

        def operation(conn: Connection) -> ReturnRecord:
            return returns.receive_return(conn, rma=rma, now=now)

        return await self._apply("receive", f"receive:{rma}", rma, operation, ReturnRecord)

    async def advance_order(self, *, order_number: str, to: str, days: int = 3) -> Order:
        """Demo-only: move the order along (advance.py: ship it, a carrier scan, a delay), so
        notifications can be tried end to end. Each call is a new step, never replayed."""
        from commerce.demo.advance import advance_order

        number = await self._number(order_number)
        now = self._clock()

        def operation(conn: Connection) -> Order:
            return advance_order(conn, order_number=number, to=to, now=now, days=days)

        key = f"advance:{number}:{to}:{uuid.uuid4().hex}"
        return await self._apply("advance", key, number, operation, Order)

    async def cancel_order(self, *, order_number: str, reason: str, idempotency_key: str) -> Order:
        number = await self._number(order_number)
        now = self._clock()

        def operation(conn: Connection) -> Order:
            return order_writes.cancel_order(conn, order_number=number, reason=reason, now=now)

        return await self._apply("cancel", idempotency_key, number, operation, Order)

    async def update_shipping_address(
        self, *, order_number: str, address: Address, idempotency_key: str
    ) -> Order:
        number = await self._number(order_number)

        def operation(conn: Connection) -> Order:
            return order_writes.update_shipping_address(conn, order_number=number, address=address)

        return await self._apply("address_change", idempotency_key, number, operation, Order)

    async def ping(self) -> bool:
        try:
            async with self._engine.connect() as conn:
                await conn.execute(text("SELECT 1 FROM meta LIMIT 1"))
        except Exception:  # any failure means "not ready"; /readyz reports, it does not raise
            return False
        return True

    async def close(self) -> None:
        await self._writer.dispose()
        await self._engine.dispose()

    async def _normalize(self, text: str) -> str | None:
        """`text` as one of this store's numbers: in the store's formats, else as written."""
        return normalize_order_number(
            text, await self.order_number_formats()
        ) or normalize_order_number(text)

    async def _number(self, order_number: str) -> str:
        number = await self._normalize(order_number)
        if number is None:
            raise BackendError(f"'{order_number}' is not an order number")
        return number

    async def _apply(
        self,
        kind: str,
        key: str,
        target: str,
        operation: Callable[[Connection], M],
        result_type: type[M],
    ) -> M:
        return await apply_once(
            self._writer,
            kind=kind,
            key=key,
            target=target,
            now=self._clock(),
            operation=operation,
            result_type=result_type,
        )

    async def _orders(self, filters: dict[str, str], *, limit: int) -> list[Order]:
        async with self._engine.connect() as conn:
            return await conn.run_sync(
                lambda sync_conn: queries.load_orders(sync_conn, filters, limit=limit)
            )


def ensure_demo_store(settings: Settings) -> Path:
    """The demo store file, generated from the settings' seed and today's anchor if missing.

    An existing file (generated or imported) is kept as is: `store seed --force` regenerates."""
    path = settings.demo_store_path
    if not path.is_file():
        settings.ensure_data_dir()
        generate_demo_store(
            path,
            seed=settings.demo_seed,
            customers=settings.demo_customers,
            orders=settings.demo_orders,
        )
    return path
