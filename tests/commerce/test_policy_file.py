"""The policy file: the packaged demo policy and the consistency checks on any policy."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from commerce.models import OrderStatus
from commerce.policy import StorePolicy, load_policy
from tests.commerce.policy_builders import POLICY


def test_packaged_policy_values() -> None:
    assert POLICY.returns.window_days == 30
    assert POLICY.returns.refund_methods == ["original_payment", "store_credit"]
    assert POLICY.returns.exchanges_allowed is True
    assert POLICY.approval.auto_approve_max_value == Decimal("250.00")
    assert POLICY.approval.exception_reasons == ["exception"]
    assert POLICY.returns.reasons["damaged"].needs_photo is True
    assert POLICY.returns.reasons["exception"].needs_human is True
    assert POLICY.cancellation.allowed_statuses == [OrderStatus.PENDING_PAYMENT, OrderStatus.PAID]


def test_policy_file_must_be_consistent(tmp_path: Path) -> None:
    data = POLICY.model_dump(mode="json")
    data["approval"]["damaged_reasons"] = ["smashed"]
    with pytest.raises(ValidationError, match="smashed"):
        StorePolicy.model_validate(data)
    data = POLICY.model_dump(mode="json")
    data["returns"]["window"] = 30  # a typo must not be ignored
    with pytest.raises(ValidationError, match="window"):
        StorePolicy.model_validate(data)
    path = tmp_path / "policy.yaml"
    path.write_text("returns: {window_days: 7}\n", encoding="utf-8")
    with pytest.raises(ValidationError):
        load_policy(path)


def test_documented_example_is_a_valid_policy() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "policy.md"
    block = re.search(r"```yaml\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    assert block is not None
    policy = StorePolicy.from_yaml(block.group(1))
    assert policy.returns.window_days == POLICY.returns.window_days
    assert policy.approval == POLICY.approval.model_copy(update={"damaged_reasons": ["damaged"]})
    assert policy.cancellation == POLICY.cancellation
