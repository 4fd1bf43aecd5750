"""Masks personal data before it reaches the audit log."""

from __future__ import annotations

import re
from typing import Any

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+)")
_PERSONAL_KEYS = {"email", "postal_code", "phone", "address", "name", "line1", "line2"}


def mask_email(text: str) -> str:
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)


def mask_value(key: str, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: mask_value(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(key, v) for v in value]
    if not isinstance(value, str):
        return value
    if key == "email":
        return mask_email(value)
    if key in _PERSONAL_KEYS:
        return value[:1] + "*" * max(len(value) - 2, 1) + value[-1:] if len(value) > 2 else "**"
    return mask_email(value)


def mask_args(args: dict[str, Any]) -> dict[str, Any]:
    return {key: mask_value(key, value) for key, value in args.items()}
