"""Each piece of news is told once, and a second one of the same kind too: a second parcel's
`shipped`, a second delay with a new date (notifications/news.py). Unit tests of the poller's
diff and of completing a webhook's news from the store, a Hypothesis property over random
store histories with repeated polls and duplicate webhooks, and the runner end to end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from commerce.models import Order, Shipment, TrackingEvent
from notifications.events import OrderEvent, changes, snapshot
from notifications.news import resolve, shipment_key, shipment_of
from notifications.rules import load_rules
from notifications.shopify import events_from
from tests.notifications.conftest import Env
from tests.notifications.test_runner import at_local, rows

T0 = datetime(2026, 11, 2, 17, 0, tzinfo=UTC)
RULES = load_rules(None)


def parcel(sid: str, *, eta_days: int = 4, scans: tuple[str, ...] = ()) -> Shipment:
    return Shipment(
        id=sid,
        carrier="UPS",
        tracking_number=f"1Z{sid}",
        shipped_at=T0 + timedelta(minutes=int(sid[1:])),  # s2 leaves after s1
        estimated_delivery=T0 + timedelta(days=eta_days),
        status=scans[-1] if scans else "in_transit",
        line_item_ids=["li1"],
        events=[
            TrackingEvent(at=T0 + timedelta(hours=i + 1), status=s, description=s)
            for i, s in enumerate(scans)
        ],
    )


def order(*shipments: Shipment, refunded: str = "0") -> Order:
    base = {
        "id": "o1",
        "number": "#1001",
        "customer_id": "c1",
        "email": "ada@example.com",
        "created_at": T0 - timedelta(days=2),
        "status": "shipped",
        "currency": "USD",
        "line_items": [],
        "subtotal": "10",
        "shipping_cost": "0",
        "tax": "0",
        "total": "10",
        "shipping_address": {
            "name": "Ada", "line1": "1 Main St", "city": "New York", "postal_code": "10001",
            "country": "US",
        },
        "shipments": list(shipments),
        "refunded_amount": Decimal(refunded),
    }  # fmt: skip
    return Order.model_validate(base)


def keys(found: list[OrderEvent]) -> set[tuple[str, str]]:
    return {(e.event, e.news) for e in found}


def diff(before: Order | None, after: Order, now: datetime = T0) -> set[tuple[str, str]]:
    seen = snapshot(before) if before is not None else None
    return keys(changes(after, seen, since=T0 - timedelta(days=1), now=now, rules=RULES))


def test_a_second_parcel_is_shipped_news_of_its_own() -> None:
    first = order(parcel("s1"))
    both = order(parcel("s1"), parcel("s2"))
    assert diff(None, first) == {("shipped", "s1")}
    assert diff(first, both) == {("shipped", "s2")}
    assert diff(both, both) == set()


def test_each_new_estimate_is_a_delay_once() -> None:
    on_time = order(parcel("s1", eta_days=4))
    late = order(parcel("s1", eta_days=7))
    later = order(parcel("s1", eta_days=9))
    one = diff(on_time, late)
    two = diff(late, later)
    assert one == {("delayed", shipment_key("s1", T0 + timedelta(days=7)))}
    assert two == {("delayed", shipment_key("s1", T0 + timedelta(days=9)))}
    assert one != two
    assert diff(later, later) == set()


def test_scans_and_refunds_name_what_changed() -> None:
    shipped = order(parcel("s1"), parcel("s2"))
    scanned = order(parcel("s1", scans=("delivered",)), parcel("s2", scans=("out_for_delivery",)))
    assert diff(shipped, scanned) == {("delivered", "s1"), ("out_for_delivery", "s2")}
    refunded = order(parcel("s1"), refunded="5.00")
    again = order(parcel("s1"), refunded="12.00")
    assert diff(order(parcel("s1")), refunded) == {("refunded", "5.00")}
    assert diff(refunded, again) == {("refunded", "12.00")}


def test_a_webhook_without_ids_is_completed_from_the_store() -> None:
    now = order(parcel("s1", scans=("delivered",)), parcel("s2", eta_days=6))
    assert resolve(now, "shipped", "") == "s2"  # the newest parcel
    assert resolve(now, "delivered", "") == "s1"  # the parcel with that scan
    assert resolve(now, "delayed", "") == shipment_key("s2", T0 + timedelta(days=6))
    assert resolve(now, "delayed", "s1") == shipment_key("s1", T0 + timedelta(days=4))
    assert resolve(now, "refunded", "") == "0"
    assert resolve(order(), "shipped", "") == ""  # nothing in the store to complete it with


def test_shopify_payloads_name_the_fulfillment_as_the_adapter_does() -> None:
    gid = "gid://shopify/Fulfillment/77"
    created = events_from("fulfillments/create", {"name": "#1001.1", "id": 77}, now=T0)
    assert [(e.event, e.news) for e in created] == [("shipped", gid)]
    event = events_from(
        "fulfillment_events/create",
        {"order_name": "#1001", "fulfillment_id": 77, "status": "delayed",
         "admin_graphql_api_id": "gid://shopify/FulfillmentEvent/5"},
        now=T0,
    )  # fmt: skip
    assert [(e.event, e.news) for e in event] == [("delayed", gid)]
    fulfilled = events_from(
        "orders/fulfilled",
        {"name": "#1001", "fulfillments": [{"id": 77}, {"admin_graphql_api_id": gid + "8"}]},
        now=T0,
    )
    assert [(e.event, e.news) for e in fulfilled] == [("shipped", gid), ("shipped", gid + "8")]


# ---- a property over random histories -------------------------------------------------------

STEP = st.one_of(
    st.just(("ship",)),
    st.tuples(st.just("delay"), st.integers(min_value=1, max_value=3)),
    st.just(("poll",)),
    st.just(("webhook",)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(STEP, min_size=1, max_size=25))
def test_every_piece_of_news_is_recorded_once(steps: list[tuple[Any, ...]]) -> None:
    """The store grows parcels and moves estimates; polls (repeated) and webhooks that name no
    shipment (completed from the store, as the runner does) meet on one key per piece of news:
    one `shipped` per parcel, a delay only for a date the parcel's estimate really took, the
    latest estimate told once the poller has seen it move, and never a key twice."""
    parcels: list[Shipment] = []
    recorded: list[tuple[str, str]] = []  # what the unique key let through, in order
    seen = snapshot(order())  # the poller's first pass learned the order before it shipped
    dates: dict[str, set[str]] = {}  # the estimates each parcel took after a delay
    first_polled_eta: dict[str, datetime] = {}
    delays: dict[str, int] = {}
    hooks: list[str] = []  # news a webhook will announce (Shopify may repeat it)

    def keep(found: set[tuple[str, str]]) -> None:
        recorded.extend(k for k in sorted(found) if k not in recorded)

    def poll() -> None:
        nonlocal seen
        now_order = order(*parcels)
        keep(diff_seen(seen, now_order))
        seen = snapshot(now_order)
        for p in parcels:
            assert p.estimated_delivery is not None
            first_polled_eta.setdefault(p.id, p.estimated_delivery)

    for step in steps:
        if step[0] == "ship":
            sid = f"s{len(parcels) + 1}"
            parcels.append(parcel(sid))
            hooks.append("shipped")
        elif step[0] == "delay" and parcels:
            last = parcels[-1]
            assert last.estimated_delivery is not None
            eta = last.estimated_delivery + timedelta(days=step[1])
            parcels[-1] = last.model_copy(update={"estimated_delivery": eta})
            dates.setdefault(last.id, set()).add(shipment_key(last.id, eta))
            delays[last.id] = delays.get(last.id, 0) + 1
            hooks.append("delayed")
        elif step[0] == "poll":
            poll()
        elif step[0] == "webhook" and hooks:
            event = hooks[-1]  # the latest news, told again and again
            keep({(event, resolve(order(*parcels), event, ""))})
    poll()  # a last pass sees everything the store did
    assert len(recorded) == len(set(recorded))
    assert {k for k in recorded if k[0] == "shipped"} == {("shipped", p.id) for p in parcels}
    for p in parcels:
        told = {n for e, n in recorded if e == "delayed" and shipment_of(n) == p.id}
        assert told <= dates.get(p.id, set())
        assert len(told) <= delays.get(p.id, 0)
        assert p.estimated_delivery is not None
        if p.estimated_delivery > first_polled_eta[p.id]:
            assert shipment_key(p.id, p.estimated_delivery) in told


def diff_seen(seen: dict[str, Any] | None, now: Order) -> set[tuple[str, str]]:
    return keys(changes(now, seen, since=T0 - timedelta(days=1), now=T0, rules=RULES))


# ---- the runner, end to end ----------------------------------------------------------------


async def test_a_second_delay_is_told_and_a_repeat_is_not(notify_env: Env) -> None:
    env = notify_env
    await env.run()
    at_local(env, 2, 10)
    await env.advance("#1001", "shipped")
    assert [s.event for s in (await env.run()).sent] == ["shipped"]
    at_local(env, 3, 10)
    await env.advance("#1001", "delayed", days=2)
    assert [s.event for s in (await env.run()).sent] == ["delayed"]
    assert (await env.run()).sent == []  # polled again: the same news
    at_local(env, 4, 10)
    await env.advance("#1001", "delayed", days=3)
    second = (await env.run()).sent
    assert [s.event for s in second] == ["delayed"]
    assert (await env.run()).sent == []
    sent = [r for r in await rows(env, "#1001") if r[2] == "sent"]
    assert [r[1] for r in sent] == ["shipped", "delayed", "delayed"]
    assert await env.deliver() == 3
    assert env.sink is not None and len(env.sink.sent) == 3


class _SecondParcel:
    """The demo store, with a second parcel added to one order (the demo store ships all
    that is left at once)."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.extra: dict[str, Shipment] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def _with(self, found: Order | None) -> Order | None:
        if found is None or found.number not in self.extra:
            return found
        return found.model_copy(update={"shipments": [*found.shipments, self.extra[found.number]]})

    async def find_order(self, number: str) -> Order | None:
        return self._with(await self._store.find_order(number))

    async def list_orders(self, **kwargs: Any) -> list[Order]:
        return [o for o in map(self._with, await self._store.list_orders(**kwargs)) if o]


async def test_a_second_parcel_is_announced_after_the_first_was_delivered(
    notify_env: Env,
) -> None:
    from notifications.runner import NotificationRunner

    env = notify_env
    store = _SecondParcel(env.store)
    runner = NotificationRunner(
        sessions=env.sessions, store=store, settings=env.settings, clock=env.clock
    )
    await runner.run_once()
    at_local(env, 2, 10)
    await env.advance("#1001", "shipped")
    assert [s.event for s in (await runner.run_once()).sent] == ["shipped"]
    at_local(env, 3, 10)
    await env.advance("#1001", "delivered")
    assert [s.event for s in (await runner.run_once()).sent] == ["delivered"]
    at_local(env, 4, 10)
    store.extra["#1001"] = parcel("s2").model_copy(update={"shipped_at": env.clock.now})
    second = (await runner.run_once()).sent
    assert [s.event for s in second] == ["shipped"]
    assert "1Zs2" in second[0].text  # the second parcel's own tracking number
    assert (await runner.run_once()).sent == []


def test_a_notice_speaks_of_its_own_parcel() -> None:
    from notifications.sending import _about

    both = order(parcel("s1"), parcel("s2"))
    assert [p.id for p in _about(both, "s1").shipments] == ["s2", "s1"]
    assert [p.id for p in _about(both, "s2").shipments] == ["s1", "s2"]
    assert _about(both, "") is both
