"""The message mix of bench/load.py: what the simulated customers say, fixed here so that runs
compare.

A customer visit is one conversation on its own socket, one of four scripts, taken in a fixed
cycle of 20 visits (so every 20 visits hold exactly this mix):

| script    | visits | turns (kind of each)                                             |
|-----------|-------:|------------------------------------------------------------------|
| faq       |  8/20  | greeting, faq, faq, thanks                                       |
| order     |  7/20  | order_ask, order_verify (real demo order + its email), thanks    |
| return    |  3/20  | return x5: start, email, reason, resolution, "no" at the confirm |
| greeting  |  2/20  | greeting, thanks                                                 |

Per turn that is, over one cycle of 72 turns: greeting 10 (13.9 %), faq 16 (22.2 %), thanks 17
(23.6 %), order_ask 7 (9.7 %), order_verify 7 (9.7 %), return 15 (20.8 %). `TURN_SHARES` holds
those figures and a test checks them against the scripts. The return flow stops at "no", so the
store is left as it was and a run can be repeated on the same data dir.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

GREETINGS = ["hi", "hello", "hey there", "good morning"]
QUESTIONS = [
    "What is your return policy?",
    "how long does shipping take",
    "do you ship to canada?",
    "when will i get my refund",
    "can I pay with paypal",
    "how do I exchange for another size",
    "is there a warranty on boots",
    "do you have gift cards?",
]
THANKS = ["thanks!", "thank you", "great, thanks", "perfect, thank you"]
REASONS = ["it's the wrong size", "didn't fit", "changed my mind"]
RESOLUTIONS = ["refund to my card please", "store credit", "refund please"]
CYCLE = [
    "faq", "order", "faq", "return", "order", "faq", "greeting", "order", "faq", "order",
    "faq", "return", "order", "faq", "greeting", "order", "faq", "order", "return", "faq",
]  # fmt: skip
TURN_SHARES = {
    "greeting": 10 / 72,
    "faq": 16 / 72,
    "thanks": 17 / 72,
    "order_ask": 7 / 72,
    "order_verify": 7 / 72,
    "return": 15 / 72,
}
RETURN_WINDOW_DAYS = 25  # inside the demo policy's 30 days, with a margin for a long run


@dataclass(frozen=True)
class Turn:
    kind: str
    text: str


@dataclass(frozen=True)
class Script:
    name: str
    turns: tuple[Turn, ...]


class Mix:
    """Hands out visits in the fixed cycle; the wording and the orders vary with the seed."""

    def __init__(self, orders: list[dict[str, Any]], *, seed: int = 11) -> None:
        self._rng = random.Random(seed)
        self._status = [o for o in orders if o.get("email")]
        self._returns = returnable(orders)
        if not self._status or not self._returns:
            raise ValueError(
                f"the mix needs demo orders: {len(self._status)} with an email, "
                f"{len(self._returns)} returnable (delivered in the last {RETURN_WINDOW_DAYS} "
                "days, one item, not final sale, no return yet)"
            )
        self._next = 0

    def next_script(self) -> Script:
        name = CYCLE[self._next % len(CYCLE)]
        self._next += 1
        return getattr(self, f"_{name}")()

    def _pick(self, items: list[Any]) -> Any:
        return items[self._rng.randrange(len(items))]

    def _faq(self) -> Script:
        first, second = self._rng.sample(QUESTIONS, 2)
        return Script(
            "faq",
            (
                Turn("greeting", self._pick(GREETINGS)),
                Turn("faq", first),
                Turn("faq", second),
                Turn("thanks", self._pick(THANKS)),
            ),
        )

    def _order(self) -> Script:
        order = self._pick(self._status)
        return Script(
            "order",
            (
                Turn("order_ask", "where is my order?"),
                Turn("order_verify", f"{order['number']}, {order['email']}"),
                Turn("thanks", self._pick(THANKS)),
            ),
        )

    def _return(self) -> Script:
        order = self._pick(self._returns)
        steps = [
            f"Hi, I'd like to return something from order {order['number']}",
            order["email"],
            self._pick(REASONS),
            self._pick(RESOLUTIONS),
            "no, I'll keep it",
        ]
        return Script("return", tuple(Turn("return", text) for text in steps))

    def _greeting(self) -> Script:
        hello, thanks = self._pick(GREETINGS), self._pick(THANKS)
        return Script("greeting", (Turn("greeting", hello), Turn("thanks", thanks)))


def cycle_shares() -> dict[str, float]:
    """The share of each kind of turn over one cycle, counted from the scripts themselves."""
    mix = Mix(_SAMPLE_ORDERS)
    kinds = Counter(t.kind for _ in CYCLE for t in mix.next_script().turns)
    total = sum(kinds.values())
    return {kind: count / total for kind, count in kinds.items()}


def returnable(orders: list[dict[str, Any]], now: datetime | None = None) -> list[dict[str, Any]]:
    """Orders whose return flow reaches the confirmation: delivered recently, one returnable
    item, nothing returned yet."""
    since = (now or datetime.now(UTC)) - timedelta(days=RETURN_WINDOW_DAYS)
    found = []
    for order in orders:
        delivered = order.get("delivered_at")
        items = order.get("items") or []
        if order.get("status") != "delivered" or not delivered or order.get("returns"):
            continue
        if len(items) != 1 or items[0].get("final_sale") or items[0].get("quantity") != 1:
            continue
        if datetime.fromisoformat(delivered) >= since:
            found.append(order)
    return found


def load_orders(data_dir: Path, *, limit: int = 300) -> list[dict[str, Any]]:
    """The newest demo orders of a server's data dir, through `support-agent store orders
    --json` (the same reader the operator uses). The data dir must hold a demo store already:
    the command would otherwise generate one the server does not have."""
    if not (data_dir / "demo_store.db").exists():
        raise FileNotFoundError(f"no demo store in {data_dir} (give the server's --data-dir)")
    command = shutil.which("support-agent", path=str(Path(sys.executable).parent))
    base = [command] if command else [sys.executable, "-m", "cli"]
    env = {**os.environ, "SUPPORT_DATA_DIR": str(data_dir)}
    done = subprocess.run(
        [*base, "store", "orders", "--json", "--limit", str(limit)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return list(json.loads(done.stdout))


_SAMPLE_ORDERS: list[dict[str, Any]] = [
    {
        "number": "#1",
        "email": "a@example.com",
        "status": "delivered",
        "delivered_at": datetime.now(UTC).isoformat(),
        "items": [{"quantity": 1, "final_sale": False}],
        "returns": [],
    }
]
