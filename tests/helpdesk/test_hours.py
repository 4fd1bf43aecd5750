"""When a person will reply: the handoff notice (English, for the LLM path and the English
replies) and the same facts as data, which the offline engine words in the customer's language."""

from __future__ import annotations

from datetime import UTC, datetime

from agent.local.phrases import handoff_notice as notice_in
from agent.local.phrases import languages
from helpdesk.hours import handoff_notice, handoff_timing

HOURS = {"spec": "mon-fri 09:00-18:00", "timezone": "America/New_York", "usual_wait_minutes": 12}
TUESDAY_NOON_NY = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # 12:00 in New York
SATURDAY_NY = datetime(2026, 12, 5, 17, 0, tzinfo=UTC)


def test_in_hours_the_usual_wait() -> None:
    assert handoff_timing(TUESDAY_NOON_NY, **HOURS) == {"online": True, "wait_minutes": 12}
    assert "about 12 minutes" in handoff_notice(TUESDAY_NOON_NY, **HOURS)


def test_out_of_hours_the_next_opening_in_the_store_time_zone() -> None:
    timing = handoff_timing(SATURDAY_NY, **HOURS)
    assert timing == {"online": False, "back": "2026-12-07 09:00", "zone": "EST"}
    assert "Monday at 09:00 (EST)" in handoff_notice(SATURDAY_NY, **HOURS)


def test_the_notice_in_each_language_carries_the_facts_and_no_english() -> None:
    online = handoff_timing(TUESDAY_NOON_NY, **HOURS)
    offline = handoff_timing(SATURDAY_NY, **HOURS)
    english = handoff_notice(TUESDAY_NOON_NY, **HOURS)
    for code in languages():
        said_online = notice_in(code, online, english)
        said_offline = notice_in(code, offline, english)
        assert "12" in said_online and said_online != english, code
        assert "2026-12-07 09:00" in said_offline and "EST" in said_offline, code
        assert "our team" not in (said_online + said_offline).lower(), code
    assert notice_in("en", online, english) == english
    assert notice_in("es", None, english) == english  # an older tool result: as before
