"""Which piece of news an event is: the third part of a notification's key (order, event, news).

One order can give the same event more than once, and each time is news: a second parcel is
`shipped`, the estimate moves again (`delayed`), a second refund. The key names what changed:

    shipped, in_transit, out_for_delivery, delivered, exception   "<shipment id>"
    delayed, eta_passed                                           "<shipment id>@<estimated date>"
    no_scan                                                       "<shipment id>@<last scan time>"
    refunded                                                      "<refunded total>"

The poller knows the shipment and writes the full key. A webhook may not (a payload without
the fulfillment's id; a delay without the new date): its row starts with what it has, and the
runner completes it from the store before it is told (`resolve`), so a webhook and a poll
telling the same news meet on one key, and one notice goes out. A parcel's news whose shipment
the store does not show yet (the webhook came first) waits until it does (`shown`): told
without its shipment, it would not meet the poller's row for the same parcel, and go out twice."""

from __future__ import annotations

from datetime import datetime

from commerce.models import Order, Shipment

PER_SHIPMENT = frozenset(
    {"shipped", "in_transit", "out_for_delivery", "delivered", "exception", "delayed",
     "no_scan", "eta_passed"}
)  # fmt: skip
DATED = frozenset({"delayed", "eta_passed"})


def day(value: datetime) -> str:
    return value.date().isoformat()


def shipment_key(shipment_id: str, at: datetime | None = None) -> str:
    return f"{shipment_id}@{day(at)}" if at is not None else shipment_id


def shipment_of(news: str) -> str:
    """The shipment a key names ("" when it names none)."""
    return news.split("@", 1)[0]


def shown(order: Order, news: str) -> bool:
    """Whether the store shows the shipment this key names (a webhook can be ahead of it)."""
    wanted = shipment_of(news)
    return bool(wanted) and any(s.id == wanted for s in order.shipments)


def _latest(shipments: list[Shipment]) -> Shipment | None:
    return max(shipments, key=lambda s: s.shipped_at, default=None)


def _pick(order: Order, event: str) -> Shipment | None:
    """The shipment a webhook without a fulfillment id most likely speaks of."""
    shipments = list(order.shipments)
    if event in ("in_transit", "out_for_delivery", "delivered", "exception"):
        with_scan = [s for s in shipments if any(e.status == event for e in s.events)]
        return _latest(with_scan or shipments)
    if event == "delayed":
        waiting = [s for s in shipments if s.status != "delivered" and s.estimated_delivery]
        return _latest(waiting or shipments)
    return _latest(shipments)


def resolve(order: Order, event: str, news: str) -> str:
    """The full key of this news, from the store's order; `news` as it is when the store
    cannot complete it (no shipment yet)."""
    if event == "refunded":
        return news or str(order.refunded_amount)
    if event not in PER_SHIPMENT or "@" in news:
        return news
    shipment = next((s for s in order.shipments if s.id == news), None) if news else None
    if shipment is None and not news:
        shipment = _pick(order, event)
    if shipment is None:
        return news
    if event in DATED:
        return shipment_key(shipment.id, shipment.estimated_delivery)
    return shipment.id
