"""Notification texts: one YAML file per language under notifications/templates/, in the store's
voice (its name, a signature), every fact (carrier, tracking link, dates, amounts) read from the
store backend's order at send time, dates in the business time zone and the customer's language.

A line whose placeholder has no value (no tracking link yet, no estimate) is left out rather
than printed half empty."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from commerce.models import Order

_FIELD = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str  # the message in the conversation and the email body (Markdown subset)
    sms: str
    language: str


@cache
def language_pack(language: str) -> dict[str, Any]:
    name = f"{language}.yaml"
    folder = resources.files("notifications").joinpath("templates")
    if not folder.joinpath(name).is_file():
        name = "en.yaml"
    return dict(yaml.safe_load(folder.joinpath(name).read_text("utf-8")))


def languages() -> list[str]:
    folder = resources.files("notifications").joinpath("templates")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def fill(text: str, values: dict[str, Any]) -> str | None:
    """`text` with its placeholders filled; None when one of them has no value."""
    missing = False

    def one(match: re.Match[str]) -> str:
        nonlocal missing
        value = values.get(match.group(1))
        if value is None or value == "":
            missing = True
            return ""
        return str(value)

    out = _FIELD.sub(one, text)
    return None if missing else out


def _lines(text: str, values: dict[str, Any]) -> str:
    kept = [line for line in (fill(raw, values) for raw in text.splitlines()) if line is not None]
    return "\n".join(kept).strip()


def format_date(when: datetime | None, pack: dict[str, Any], tz: ZoneInfo) -> str | None:
    if when is None:
        return None
    local = when.astimezone(tz)
    return str(pack["date"]).format(
        weekday=pack["weekdays"][local.weekday()],
        month=pack["months"][local.month - 1],
        day=local.day,
    )


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:.2f} {currency}"


def facts(
    order: Order,
    event: str,
    *,
    pack: dict[str, Any],
    tz: ZoneInfo,
    first_name: str | None,
    return_days: int | None,
) -> dict[str, Any]:
    """Every value a template may use, from the order as the store backend returned it."""
    shipment = order.shipments[-1] if order.shipments else None
    values: dict[str, Any] = {
        "order": order.number,
        "first_name": first_name,
        "return_days": return_days,
        "refund_amount": _money(order.refunded_amount, order.currency)
        if order.refunded_amount
        else None,
    }
    if shipment is not None:
        wanted = {"delivered": "delivered", "exception": "exception"}.get(event)
        scans = [e for e in shipment.events if wanted is None or e.status == wanted]
        scan = scans[-1] if scans else (shipment.events[-1] if shipment.events else None)
        values.update(
            carrier=shipment.carrier,
            tracking_number=shipment.tracking_number,
            tracking_url=shipment.tracking_url,
            eta=format_date(shipment.estimated_delivery, pack, tz),
            shipped_on=format_date(shipment.shipped_at, pack, tz),
            delivered_on=format_date(shipment.delivered_at, pack, tz),
            location=scan.location if scan else None,
            scan=scan.description if scan else None,
        )
    return values


def render(
    order: Order,
    event: str,
    template: str,
    *,
    language: str,
    store: str,
    tz: ZoneInfo,
    first_name: str | None,
    return_days: int | None,
    optout_url: str,
    offer_person: bool,
) -> Rendered:
    pack = language_pack(language)
    spec = pack["templates"][template]
    values = facts(order, event, pack=pack, tz=tz, first_name=first_name, return_days=return_days)
    values.update(store=store, optout_url=optout_url)
    greeting = fill(pack["greeting"], values) or pack["greeting_anonymous"]
    parts = [greeting, _lines(spec["body"], values)]
    if offer_person:
        parts.append(pack["offer_person"])
    parts += [pack["reply_hint"], fill(pack["signature"], values) or store]
    parts.append(fill(pack["optout"], values) or "")
    summary = _lines(spec["summary"], values) or (fill(spec["subject"], values) or "")
    return Rendered(
        subject=fill(spec["subject"], values) or order.number,
        text="\n\n".join(p for p in parts if p),
        sms=(fill(pack["sms"], {**values, "summary": summary}) or summary)[:320],
        language=str(pack["language"]),
    )
