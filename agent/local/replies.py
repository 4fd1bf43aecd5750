"""Reply templates as data, and the composition of order-status replies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import yaml

from agent.local.passages import Answer, Embed, answer


@cache
def templates() -> dict[str, Any]:
    text = resources.files("agent.local").joinpath("replies.yaml").read_text("utf-8")
    return dict(yaml.safe_load(text))


def say(key: str, **values: Any) -> str:
    return str(templates()[key]).format(**values)


def _day(iso: str | None) -> str:
    if not iso:
        return "an unknown date"
    d = date.fromisoformat(iso)
    return f"{d.strftime('%B')} {d.day}, {d.year}"


def _items(names: list[str]) -> str:
    return ", ".join(names)


def money(amount: str | None, currency: str = "USD") -> str:
    """'$129.00' for dollars, '129.00 EUR' for anything else."""
    return f"${amount}" if currency == "USD" else f"{amount} {currency}"


def _totals(view: dict[str, Any]) -> list[str]:
    """The money of an order: total and its parts, how it was paid, what was refunded, and each
    return (older views without these fields get none of it)."""
    if "subtotal" not in view:
        return []
    currency = view.get("currency", "USD")
    paid = view.get("payment_method")
    lines = [
        say(
            "order_total",
            total=money(view["total"], currency),
            subtotal=money(view["subtotal"], currency),
            shipping=money(view["shipping"], currency),
            tax=money(view["tax"], currency),
            paid=say("order_paid_with", method=paid) if paid else "",
        )
    ]
    refunded_said = view["status"] in ("returned", "partially_refunded")
    if view.get("refunded") and float(view["refunded"]) > 0 and not refunded_said:
        lines.append(say("order_refunded", amount=money(view["refunded"], currency)))
    if view.get("amount_due") and float(view["amount_due"]) > 0:
        lines.append(say("order_amount_due", amount=money(view["amount_due"], currency)))
    for r in view.get("returns", []):
        items = _items([f"{i['quantity']} × {i['name']}" for i in r["items"]])
        exchange = r["resolution"] == "exchange"
        lines.append(
            say(
                "order_exchange" if exchange else "order_return",
                rma=r["rma"],
                items=items,
                status=r["status"].replace("_", " "),
                resolution=r["resolution"].replace("_", " "),
                amount=money(r["refund_amount"], currency),
            )
        )
    return lines


def order_reply(view: dict[str, Any]) -> str:
    order = templates()["order"]
    status = view["status"]
    reason = f" ({view['cancel_reason']})" if view.get("cancel_reason") else ""
    head = order[status].format(
        number=view["order_number"],
        placed=_day(view.get("placed_on")),
        delivered=_day(view.get("delivered_on")),
        cancelled=_day(view.get("cancelled_on")),
        reason=reason,
        refunded=view.get("refunded"),
        currency=view.get("currency", "USD"),
    )
    lines = [head]
    currency = view.get("currency", "USD")
    item_names = [
        f"{i['quantity']} × {i['name']} ({i['variant']})"
        + (f" {money(i['price'], currency)}" if i.get("price") else "")
        + (" each" if i.get("price") and i["quantity"] > 1 else "")
        for i in view["items"]
    ]
    lines.append(say("items", items=_items(item_names)))
    lines += _totals(view)
    shipped_names: set[str] = set()
    for shipment in view.get("shipments", []):
        names = shipment["items"]
        shipped_names.update(names)
        if shipment.get("delivered_on"):
            lines.append(
                say(
                    "shipment_delivered",
                    items=_items(names),
                    carrier=shipment["carrier"],
                    tracking_number=shipment["tracking_number"],
                    delivered=_day(shipment["delivered_on"]),
                )
            )
        else:
            eta = shipment.get("estimated_delivery")
            lines.append(
                say(
                    "shipment_transit",
                    items=_items(names),
                    carrier=shipment["carrier"],
                    shipped=_day(shipment.get("shipped_on")),
                    tracking_number=shipment["tracking_number"],
                    eta=say("eta", date=_day(eta)) if eta else "",
                )
            )
            if shipment.get("tracking_url"):
                lines.append(f"Track it here: {shipment['tracking_url']}")
    if status == "partially_shipped":
        waiting = [i["name"] for i in view["items"] if i["name"] not in shipped_names]
        if waiting:
            lines.append(say("not_shipped", items=_items(waiting)))
    return " ".join(lines[:1]) + "\n" + "\n".join(lines[1:])


def passage_answer(
    question: str,
    passages: Sequence[Mapping[str, Any]],
    *,
    embed: Embed | None = None,
    space: str | None = None,
) -> Answer:
    """The sentences, list items or table rows of the best passage that answer `question`."""
    return answer(question, passages, embed=embed, space=space)


def kb_reply(
    question: str,
    passages: Sequence[Mapping[str, Any]],
    *,
    embed: Embed | None = None,
    space: str | None = None,
) -> tuple[str, str]:
    """The help-center reply (safe Markdown) and the id of the passage it quotes."""
    found = passage_answer(question, passages, embed=embed, space=space)
    # a Q/A entry's heading is its question, which is also its title: name it once
    heading = found.heading if found.heading and found.heading != found.title else None
    source = f"{found.title} — {heading}" if heading else found.title
    return say("kb_answer", answer=found.text, title=source), found.passage_id


def refunds_reply(data: dict[str, Any], order_number: str | None = None) -> str:
    """The customer's returns and refunds; when they asked about one order, that order's only,
    or a plain "none on that order" before the others."""
    returns = data.get("returns", [])
    refunded = [
        o
        for o in data.get("refunded_orders", [])
        if o.get("status") != "returned"
        or not any(r["order_number"] == o["order_number"] for r in returns)
    ]
    if order_number:
        mine = [r for r in returns if r["order_number"] == order_number]
        mine_refunded = [o for o in refunded if o["order_number"] == order_number]
        if not (mine or mine_refunded):
            none = say("refunds_none_for_order", order_number=order_number)
            return f"{none}\n\n{refunds_reply(data)}" if returns or refunded else none
        returns, refunded = mine, mine_refunded
    if not returns and not refunded:
        return say("refunds_none")
    lines = [
        say(
            "refund_line",
            **{
                **r,
                "status": r["status"].replace("_", " "),
                "resolution": r["resolution"].replace("_", " "),
            },
        )
        for r in returns
    ]
    lines += [say("refunded_order_line", **o) for o in refunded]
    lines.append(say("refunds_footer"))
    return "\n".join(lines)
