"""Business hours, so the handoff notice tells the customer when a person will actually reply."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_SPEC = re.compile(r"^\s*(\w{3})-(\w{3})\s+(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})\s*$", re.I)


def parse_hours(spec: str) -> tuple[set[int], time, time]:
    """'mon-fri 09:00-18:00' -> (weekdays, opening, closing)."""
    match = _SPEC.match(spec)
    if not match:
        raise ValueError(f"business hours look like 'mon-fri 09:00-18:00', not {spec!r}")
    first, last = _DAYS.index(match.group(1).lower()), _DAYS.index(match.group(2).lower())
    days = {d % 7 for d in range(first, last + 1 if last >= first else last + 8)}
    opens = time(int(match.group(3)), int(match.group(4)))
    closes = time(int(match.group(5)), int(match.group(6)))
    return days, opens, closes


def next_opening(now: datetime, spec: str, timezone: str) -> datetime | None:
    """None while the team is in; otherwise when it next opens (in the store's time zone)."""
    days, opens, closes = parse_hours(spec)
    local = now.astimezone(ZoneInfo(timezone))
    if local.weekday() in days and opens <= local.time() < closes:
        return None
    for ahead in range(0, 8):
        day = (local + timedelta(days=ahead)).date()
        start = datetime.combine(day, opens, tzinfo=local.tzinfo)
        if day.weekday() in days and start > local:
            return start
    return None


def handoff_timing(
    now: datetime, *, spec: str, timezone: str, usual_wait_minutes: int
) -> dict[str, Any]:
    """When a person will reply, as data (for a notice in the customer's language):
    {"online": True, "wait_minutes": N}, or {"online": False, "back": "YYYY-MM-DD HH:MM",
    "zone": "CET"} in the store's time zone."""
    opening = next_opening(now, spec, timezone)
    if opening is None:
        return {"online": True, "wait_minutes": usual_wait_minutes}
    return {
        "online": False,
        "back": opening.strftime("%Y-%m-%d %H:%M"),
        "zone": opening.tzname() or timezone,
    }


def handoff_notice(now: datetime, *, spec: str, timezone: str, usual_wait_minutes: int) -> str:
    opening = next_opening(now, spec, timezone)
    if opening is None:
        return (
            f"A member of our team will reply right here; the usual wait is about "
            f"{usual_wait_minutes} minutes."
        )
    when = opening.strftime("%A at %H:%M") + f" ({opening.tzname()})"
    return (
        f"Our team is offline right now and back on {when}. A member of the team will "
        "reply right here then; you can close this window, your conversation is saved."
    )


def _open_spans(
    start: datetime, end: datetime, spec: str, timezone: str
) -> Iterator[tuple[datetime, datetime]]:
    """The business-hours spans (local, aware) that overlap [start, end)."""
    days, opens, closes = parse_hours(spec)
    zone = ZoneInfo(timezone)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    day = local_start.date()
    while day <= local_end.date():
        if day.weekday() in days:
            span_start = datetime.combine(day, opens, tzinfo=zone)
            span_end = datetime.combine(day, closes, tzinfo=zone)
            lo, hi = max(span_start, local_start), min(span_end, local_end)
            if lo < hi:
                yield lo, hi
        day += timedelta(days=1)


def business_minutes_between(start: datetime, end: datetime, *, spec: str, timezone: str) -> float:
    """Minutes of business hours between two instants (0 when end is not after start)."""
    if end <= start:
        return 0.0
    return sum((hi - lo).total_seconds() for lo, hi in _open_spans(start, end, spec, timezone)) / 60


def add_business_minutes(start: datetime, minutes: float, *, spec: str, timezone: str) -> datetime:
    """The instant `minutes` of business hours after `start` (a clock that runs only while the
    team is in): a first-response deadline. Returned in UTC."""
    days, opens, closes = parse_hours(spec)
    if not days or opens >= closes:
        raise ValueError(f"business hours {spec!r} never open")
    zone = ZoneInfo(timezone)
    left = timedelta(minutes=minutes)
    cursor = start.astimezone(zone)
    while True:
        day = cursor.date()
        span_start = datetime.combine(day, opens, tzinfo=zone)
        span_end = datetime.combine(day, closes, tzinfo=zone)
        if day.weekday() in days and cursor < span_end:
            lo = max(cursor, span_start)
            if lo + left <= span_end:
                return (lo + left).astimezone(UTC)
            left -= span_end - lo
        cursor = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=zone)
