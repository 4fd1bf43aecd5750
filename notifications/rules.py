"""The notification rules as data (rules.yaml): which events notify, on which channels, with which
template; quiet hours; the one-notice-a-day cap and what is exempt from it."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

EVENTS = (
    "shipped",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "exception",
    "delayed",
    "no_scan",
    "eta_passed",
    "refunded",
)
# the delivery stages in order: a notice for an earlier stage is stale once a later one is known
STAGES = {"shipped": 1, "in_transit": 2, "out_for_delivery": 3, "delivered": 4}
# problems a delivery makes moot
PROBLEMS = frozenset({"exception", "delayed", "no_scan", "eta_passed"})

Channel = Literal["email", "widget", "sms"]


class _Rules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EventRule(_Rules):
    notify: bool = True
    channels: list[Channel] = Field(default_factory=lambda: ["email"])
    template: str
    offer_person: bool = False


class QuietHours(_Rules):
    start: time
    end: time

    def contains(self, local: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # across midnight


class Rules(_Rules):
    quiet_hours: QuietHours | None = None
    max_per_order_per_day: int = Field(default=1, ge=1)
    daily_cap_exempt: list[str] = Field(default_factory=lambda: ["exception"])
    no_scan_days: int = Field(default=3, ge=1)
    default_language: str = "en"
    languages_by_country: dict[str, str] = Field(default_factory=dict)
    events: dict[str, EventRule]

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: dict[str, EventRule]) -> dict[str, EventRule]:
        unknown = sorted(set(value) - set(EVENTS))
        if unknown:
            raise ValueError(f"unknown events {unknown}; known: {', '.join(EVENTS)}")
        return value

    def rule(self, event: str) -> EventRule | None:
        return self.events.get(event)

    def language_for(self, country: str | None) -> str:
        return self.languages_by_country.get((country or "").upper(), self.default_language)

    def next_allowed(self, now: datetime, tz: ZoneInfo) -> datetime | None:
        """None when `now` is outside quiet hours; otherwise when they end (UTC)."""
        if self.quiet_hours is None:
            return None
        local = now.astimezone(tz)
        if not self.quiet_hours.contains(local.time()):
            return None
        end = local.replace(
            hour=self.quiet_hours.end.hour,
            minute=self.quiet_hours.end.minute,
            second=0,
            microsecond=0,
        )
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(now.tzinfo)

    def next_day(self, now: datetime, tz: ZoneInfo) -> datetime:
        """The start of the next local day (then quiet hours still apply)."""
        local = now.astimezone(tz)
        midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight.astimezone(now.tzinfo)

    def day_start(self, now: datetime, tz: ZoneInfo) -> datetime:
        local = now.astimezone(tz)
        return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(now.tzinfo)


def load_rules(path: Path | None = None) -> Rules:
    """The rules at `path`, or the packaged notifications/rules.yaml."""
    if path is None:
        text = resources.files("notifications").joinpath("rules.yaml").read_text("utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    return Rules.model_validate(yaml.safe_load(text))
