"""The .eml fixtures (tests/channels/email/fixtures, written by build.py there): every robot is
suppressed, no human control is, the new text of quoted replies is extracted right, and the
instruction planted in every quote never survives extraction. The figures are printed (-s)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from channels.email.loops import check_loop
from channels.email.parse import parse_email

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED: dict[str, dict[str, str]] = json.loads((FIXTURES / "expected.json").read_text())
OURS = ["support@shop.test"]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _parse(name: str):  # noqa: ANN202 - test helper
    return parse_email((FIXTURES / name).read_bytes(), max_bytes=1 << 20)


def test_there_are_at_least_sixty_fixtures_of_both_classes() -> None:
    classes = [c["class"] for c in EXPECTED.values()]
    assert len(classes) >= 60
    assert classes.count("suppress") >= 30 and classes.count("human") >= 30
    assert all((FIXTURES / name).exists() for name in EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_loop_guard_verdict(name: str) -> None:
    verdict = check_loop(_parse(name), own_addresses=OURS)
    assert verdict.tripped == (EXPECTED[name]["class"] == "suppress"), verdict.reason


def test_reply_extraction_rate_and_no_quoted_instruction() -> None:
    replies = [n for n in EXPECTED if n.startswith("reply-")]
    right = [n for n in replies if _norm(_parse(n).text) == _norm(EXPECTED[n]["new_text"])]
    wrong = sorted(set(replies) - set(right))
    print(  # noqa: T201 - the figures, shown with -s
        f"\nreply extraction: {len(right)}/{len(replies)} right; wrong: {wrong}"
    )
    assert len(replies) >= 20
    assert len(right) / len(replies) >= 0.95, wrong
    for name in EXPECTED:
        parsed = _parse(name)
        assert "IGNORE ALL PREVIOUS" not in parsed.text, name


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if n.startswith("human-")))
def test_human_controls_new_text(name: str) -> None:
    assert _norm(_parse(name).text) == _norm(EXPECTED[name]["new_text"])


def test_attachments_are_listed() -> None:
    [attachment] = _parse("human-with-attachment.eml").attachments
    assert (attachment.filename, attachment.content_type) == ("boots.jpg", "image/jpeg")
    assert attachment.size > 0
