"""Prompts are data files, loaded with importlib.resources.

The system prompt is filled from the store's own configuration: its name, its voice and a
summary generated from the policy file (commerce/policy.py), so a merchant who edits the
policy changes what the model is told as well as what the tools enforce.
"""

from __future__ import annotations

import string
from datetime import UTC, datetime
from importlib import resources

from langchain_core.messages import BaseMessage, HumanMessage

from commerce.policy import StorePolicy, load_policy

DATA_OPEN = '<data source="{source}" trust="untrusted">'
DATA_CLOSE = "</data>"
DEFAULT_VOICE = "warm, brief and concrete; plain words, no jargon"
EMAIL_SOURCE = "customer email"
# channels whose customer messages are a document from outside (a mail body, with whatever was
# pasted or forwarded into it) rather than typed into the store's own chat
DOCUMENT_CHANNELS = frozenset({"email"})


def load_prompt(name: str) -> str:
    return resources.files("agent").joinpath("prompts", f"{name}.md").read_text("utf-8")


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def render_prompt(name: str, **values: str) -> str:
    return load_prompt(name).format(**values)


def _statuses(values: list[str]) -> str:
    return " or ".join(str(v).replace("_", " ") for v in values)


def policy_summary(policy: StorePolicy) -> str:
    """Bullet lines generated from the policy file: windows, exclusions, approvals."""
    r, a = policy.returns, policy.approval
    lines = [
        f"- Returns: within {r.window_days} days of delivery; refunds to "
        f"{' or '.join(m.replace('_', ' ') for m in r.refund_methods)}"
        + ("; exchanges possible." if r.exchanges_allowed else "; no exchanges."),
    ]
    excluded = [*r.final_sale_categories, *r.non_returnable_categories]
    if excluded:
        lines.append(f"- Not returnable: final-sale items and {', '.join(excluded)}.")
    photo = [reason.label.lower() for reason in r.reasons.values() if reason.needs_photo]
    if photo:
        lines.append(f"- A photo is needed for: {'; '.join(photo)}.")
    if r.restocking_fee.percent:
        exempt = [r.reasons[k].label.lower() for k in r.restocking_fee.exempt_reasons]
        lines.append(
            f"- Restocking fee: {r.restocking_fee.percent}% of the returned items"
            + (f", none for: {'; '.join(exempt)}." if exempt else ".")
        )
    lines.append(
        f"- Returns worth more than {a.auto_approve_max_value} and exception requests are "
        "reviewed by staff before they are final."
    )
    for name, rule in (
        ("Cancellation", policy.cancellation),
        ("Address change", policy.address_change),
    ):
        when = f" (within {rule.window_hours} hours)" if rule.window_hours is not None else ""
        lines.append(f"- {name}: only while the order is {_statuses(rule.allowed_statuses)}{when}.")
    return "\n".join(lines)


def system_prompt(
    *,
    store_name: str,
    policy: StorePolicy | None = None,
    voice: str = DEFAULT_VOICE,
    today: str | None = None,
) -> str:
    return render_prompt(
        "system",
        store_name=store_name,
        voice=voice,
        today=today or datetime.now(UTC).date().isoformat(),
        policy_summary=policy_summary(policy or load_policy()),
    )


def data_block(source: str, text: str) -> str:
    """`text` inside a delimited, untrusted data block; a closing tag inside it is defused so
    the data cannot end the block early and speak as instructions."""
    body = text.replace("</data", "<\\/data")
    return f"{DATA_OPEN.format(source=source)}\n{body}\n{DATA_CLOSE}"


def model_view(history: list[BaseMessage], channel: str) -> list[BaseMessage]:
    """The conversation as the model is shown it: on the email channel each customer message
    (the mail body) goes inside an untrusted data block, which the system prompt describes.
    The stored messages and the offline engine's view are unchanged."""
    if channel not in DOCUMENT_CHANNELS:
        return history
    return [
        HumanMessage(data_block(EMAIL_SOURCE, m.text), id=m.id)
        if isinstance(m, HumanMessage)
        else m
        for m in history
    ]
