"""Rules and templates as data: every event has a template in every language, the placeholders are
the ones the code fills, a fact the store lacks drops its line, quiet hours cross midnight."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from commerce.models import Address, LineItem, Order, OrderStatus, Shipment, TrackingEvent
from notifications.rules import EVENTS, QuietHours, load_rules
from notifications.texts import language_pack, languages, render

PLACEHOLDERS = {
    "store",
    "first_name",
    "order",
    "carrier",
    "tracking_number",
    "tracking_url",
    "eta",
    "shipped_on",
    "delivered_on",
    "location",
    "scan",
    "return_days",
    "refund_amount",
    "optout_url",
    "summary",
}
NY = ZoneInfo("America/New_York")


def order(*, tracking_url: str | None = "https://www.ups.com/track?tracknum=1Z1") -> Order:
    at = datetime(2026, 11, 2, 15, tzinfo=UTC)
    return Order(
        id="o1",
        number="#1043",
        customer_id="c1",
        email="ada@example.com",
        created_at=at,
        status=OrderStatus.SHIPPED,
        subtotal=Decimal("10"),
        shipping_cost=Decimal("0"),
        tax=Decimal("0"),
        total=Decimal("10"),
        refunded_amount=Decimal("4.50"),
        shipping_address=Address(
            name="Ada L", line1="1 Main", city="Lyon", postal_code="69001", country="FR"
        ),
        line_items=[
            LineItem(
                id="li1",
                product_id="p1",
                sku="S",
                name="Sock",
                variant_title="M",
                category="apparel",
                quantity=1,
                unit_price=Decimal("10"),
            )
        ],
        shipments=[
            Shipment(
                id="s1",
                carrier="UPS",
                tracking_number="1Z1",
                tracking_url=tracking_url,
                shipped_at=at,
                estimated_delivery=datetime(2026, 11, 6, 20, tzinfo=UTC),
                status="exception",
                line_item_ids=["li1"],
                events=[
                    TrackingEvent(
                        at=at, status="exception", location="Lyon, FR", description="Weather"
                    )
                ],
            )
        ],
    )


def test_every_event_has_a_rule_and_a_template_in_every_language() -> None:
    rules = load_rules()
    assert set(rules.events) == set(EVENTS)
    assert {"en", "es", "fr"} <= set(languages())
    for language in languages():
        pack = language_pack(language)
        assert set(pack["templates"]) == {r.template for r in rules.events.values()}
        for spec in pack["templates"].values():
            assert set(spec) == {"subject", "summary", "body"}


@pytest.mark.parametrize("language", ["en", "es", "fr"])
def test_placeholders_are_the_ones_the_code_fills(language: str) -> None:
    text = repr(language_pack(language))
    used = set(re.findall(r"\{(\w+)\}", text)) - {"weekday", "month", "day"}
    assert used <= PLACEHOLDERS


@pytest.mark.parametrize("language", ["en", "es", "fr"])
def test_every_template_renders_with_the_orders_facts(language: str) -> None:
    rules = load_rules()
    for event, rule in rules.events.items():
        out = render(
            order(),
            event,
            rule.template,
            language=language,
            store="Northwind",
            tz=NY,
            first_name="Ada",
            return_days=30,
            optout_url="https://x.test/o",
            offer_person=rule.offer_person,
        )
        assert "{" not in out.text and "{" not in out.subject and "{" not in out.sms
        assert "#1043" in out.subject and "https://x.test/o" in out.text
        assert len(out.sms) <= 320


def test_a_missing_fact_drops_its_line_and_dates_are_local_words() -> None:
    out = render(
        order(tracking_url=None),
        "delayed",
        "delayed",
        language="fr",
        store="Northwind",
        tz=NY,
        first_name="Ada",
        return_days=30,
        optout_url="https://x.test/o",
        offer_person=True,
    )
    assert "Suivez-la ici" not in out.text  # no link: no line
    assert "vendredi 6 novembre" in out.text
    assert "une personne" in out.text
    assert render(
        order(), "shipped", "shipped", language="xx", store="N", tz=NY, first_name=None,
        return_days=None, optout_url="u", offer_person=False,
    ).text.startswith("Hello,")  # fmt: skip


def test_quiet_hours_across_midnight() -> None:
    quiet = QuietHours(start=time(21), end=time(8))
    assert quiet.contains(time(23)) and quiet.contains(time(7, 59))
    assert not quiet.contains(time(8)) and not quiet.contains(time(20, 59))
    rules = load_rules()
    night = datetime(2026, 11, 3, 4, tzinfo=UTC)  # 23:00 in New York
    assert rules.next_allowed(night, NY) == datetime(2026, 11, 3, 13, tzinfo=UTC)
    assert rules.next_allowed(datetime(2026, 11, 3, 15, tzinfo=UTC), NY) is None
