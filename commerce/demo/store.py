"""DemoStore: the StoreBackend over the demo SQLite file, read through SQLAlchemy async."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from commerce.demo import queries
from commerce.demo.generate import generate_demo_store
from commerce.models import (
    Customer,
    Order,
    OrderStatus,
    Product,
    normalize_email,
    normalize_order_number,
)
from errors import BackendError

if TYPE_CHECKING:
    from settings import Settings


class DemoStore:
    """The demo store. Reads are a handful of indexed queries per call (see queries.load_orders)."""

    name = "demo"

    def __init__(self, engine: AsyncEngine, path: Path | None = None) -> None:
        self._engine = engine
        self.path = path

    @classmethod
    def open(cls, path: Path) -> DemoStore:
        """A store over an existing file. A missing file is an error, not a new empty store."""
        path = Path(path)
        if not path.is_file():
            raise BackendError(f"demo store not found at {path}; run `support-agent store seed`")
        return cls(create_async_engine(f"sqlite+aiosqlite:///{path}"), path)

    async def find_order(self, number: str) -> Order | None:
        normalized = normalize_order_number(number)
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

    async def ping(self) -> bool:
        try:
            async with self._engine.connect() as conn:
                await conn.execute(text("SELECT 1 FROM meta LIMIT 1"))
        except Exception:  # any failure means "not ready"; /readyz reports, it does not raise
            return False
        return True

    async def close(self) -> None:
        await self._engine.dispose()

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
