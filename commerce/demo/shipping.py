"""Carriers, tracking numbers in each carrier's own shape, and tracking-event histories that never
run past the anchor ("now") of the generated store."""

from __future__ import annotations

import random
import string
from datetime import datetime, timedelta

from commerce.models import Address, Shipment, TrackingEvent

WAREHOUSE = "Reno, NV"

_URLS = {
    "UPS": "https://www.ups.com/track?tracknum={}",
    "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "FedEx": "https://www.fedex.com/fedextrack/?trknbr={}",
    "DHL": "https://www.dhl.com/en/express/tracking.html?AWB={}",
}
_HUBS = {
    "UPS": ["Sparks, NV", "Salt Lake City, UT", "Louisville, KY", "Hodgkins, IL"],
    "USPS": ["Sacramento, CA", "Denver, CO", "Kansas City, MO", "Chicago, IL"],
    "FedEx": ["Reno, NV", "Memphis, TN", "Indianapolis, IN", "Oakland, CA"],
    "DHL": ["Cincinnati, OH", "Leipzig, DE", "East Midlands, GB", "Toronto, ON"],
}


def choose_carrier(rng: random.Random, country: str) -> str:
    if country != "US":
        return rng.choice(["DHL", "DHL", "UPS", "FedEx"])
    return rng.choices(["UPS", "USPS", "FedEx"], weights=[4, 4, 3])[0]


def tracking_number(rng: random.Random, carrier: str) -> str:
    def digits(n: int) -> str:
        return "".join(rng.choice(string.digits) for _ in range(n))

    if carrier == "UPS":  # 1Z + 6-character shipper number + 2-digit service + 8 digits
        shipper = "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(6))
        return f"1Z{shipper}{digits(10)}"
    if carrier == "USPS":  # 22 digits, Priority Mail prefix
        return f"9400{digits(18)}"
    if carrier == "FedEx":  # 12 digits
        return digits(12)
    return digits(10)  # DHL Express waybill


def tracking_url(carrier: str, number: str) -> str:
    return _URLS[carrier].format(number)


def _place(address: Address) -> str:
    return f"{address.city}, {address.region or address.country}"


def make_shipment(
    rng: random.Random,
    *,
    shipment_id: str,
    address: Address,
    line_item_ids: list[str],
    shipped_at: datetime,
    arrival: datetime,
    anchor: datetime,
    delayed: bool = False,
) -> Shipment:
    """A shipment whose history runs from `shipped_at` to delivery (if `arrival` is before
    `anchor`) or to the last scan before `anchor` otherwise. `delayed` (for shipments at least four
    days old) gives an estimate that has passed and an exception scan."""
    carrier = choose_carrier(rng, address.country)
    number = tracking_number(rng, carrier)
    delivered = arrival <= anchor and not delayed
    estimated = (arrival + timedelta(days=rng.choice([0, 0, 1]))).replace(
        hour=20, minute=0, second=0
    )
    if delayed:
        estimated = (shipped_at + timedelta(days=3)).replace(hour=20, minute=0, second=0)
    end = arrival if delivered else anchor

    events = [
        TrackingEvent(
            at=shipped_at,
            status="label_created",
            location=WAREHOUSE,
            description="Shipping label created",
        )
    ]
    at = shipped_at + timedelta(hours=rng.randint(3, 10))
    hubs = list(_HUBS[carrier])
    rng.shuffle(hubs)
    if at < end:
        events.append(
            TrackingEvent(
                at=at, status="in_transit", location=WAREHOUSE, description="Picked up by carrier"
            )
        )
    for hub in hubs[:3]:
        at += timedelta(hours=rng.randint(14, 30))
        if at >= end - timedelta(hours=8):
            break
        events.append(
            TrackingEvent(
                at=at, status="in_transit", location=hub, description="Arrived at carrier facility"
            )
        )
    status = "in_transit"
    if delayed and events[-1].at < anchor - timedelta(hours=2):
        at = anchor - timedelta(hours=rng.randint(2, 20))
        at = max(at, events[-1].at + timedelta(hours=1))
        events.append(
            TrackingEvent(
                at=at,
                status="exception",
                location=events[-1].location,
                description="Delayed: weather or operational issue",
            )
        )
        status = "exception"
    elif delivered:
        out = arrival - timedelta(hours=rng.randint(3, 6))
        if out > events[-1].at:
            events.append(
                TrackingEvent(
                    at=out,
                    status="out_for_delivery",
                    location=_place(address),
                    description="Out for delivery",
                )
            )
        events.append(
            TrackingEvent(
                at=arrival,
                status="delivered",
                location=_place(address),
                description="Delivered, left at front door",
            )
        )
        status = "delivered"
    return Shipment(
        id=shipment_id,
        carrier=carrier,
        tracking_number=number,
        tracking_url=tracking_url(carrier, number),
        shipped_at=shipped_at,
        estimated_delivery=estimated,
        delivered_at=arrival if delivered else None,
        status=status,
        line_item_ids=line_item_ids,
        events=events,
    )
