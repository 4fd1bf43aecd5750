"""Helpdesk connectors: where an escalation becomes a ticket. The built-in queue is always
present (offline default); at most one external helpdesk is configured next to it."""

from __future__ import annotations

from typing import Literal, Protocol

import httpx
from pydantic import SecretStr

from errors import ConfigurationError
from helpdesk.connectors.base import (
    Connector,
    DeliveryError,
    Priority,
    TicketPayload,
    TicketRef,
    TranscriptLine,
)
from helpdesk.connectors.builtin import BuiltinQueueConnector
from helpdesk.connectors.freshdesk import FreshdeskConnector
from helpdesk.connectors.webhook import WebhookConnector
from helpdesk.connectors.zendesk import ZendeskConnector

__all__ = [
    "BuiltinQueueConnector",
    "Connector",
    "DeliveryError",
    "FreshdeskConnector",
    "HelpdeskSettings",
    "Priority",
    "TicketPayload",
    "TicketRef",
    "TranscriptLine",
    "WebhookConnector",
    "ZendeskConnector",
    "build_connectors",
]


class HelpdeskSettings(Protocol):
    """The settings this package reads (`SUPPORT_*` variables of the same names)."""

    helpdesk: Literal["builtin", "zendesk", "freshdesk", "webhook"]
    zendesk_subdomain: str | None
    zendesk_email: str | None
    zendesk_api_token: SecretStr | None
    freshdesk_domain: str | None
    freshdesk_api_key: SecretStr | None
    freshdesk_fallback_email: str | None
    freshdesk_category_field: str | None
    helpdesk_webhook_url: str | None
    helpdesk_webhook_secret: SecretStr | None
    support_email: str


def _secret(value: SecretStr | str | None) -> str:
    if value is None:
        return ""
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def build_connectors(
    settings: HelpdeskSettings, client: httpx.AsyncClient, *, staff_url: str | None = None
) -> dict[str, Connector]:
    """The connectors by name, for the outbox worker. `client` is the one shared outbound
    client (built in the composition root with the helpdesk timeout)."""
    connectors: dict[str, Connector] = {"builtin": BuiltinQueueConnector(staff_url=staff_url)}
    if settings.helpdesk == "zendesk":
        if not settings.zendesk_subdomain or not settings.zendesk_email:
            raise ConfigurationError(
                "SUPPORT_HELPDESK=zendesk needs SUPPORT_ZENDESK_SUBDOMAIN and SUPPORT_ZENDESK_EMAIL"
            )
        connectors["zendesk"] = ZendeskConnector(
            client,
            subdomain=settings.zendesk_subdomain,
            email=settings.zendesk_email,
            api_token=_secret(settings.zendesk_api_token),
        )
    elif settings.helpdesk == "freshdesk":
        if not settings.freshdesk_domain:
            raise ConfigurationError("SUPPORT_HELPDESK=freshdesk needs SUPPORT_FRESHDESK_DOMAIN")
        connectors["freshdesk"] = FreshdeskConnector(
            client,
            domain=settings.freshdesk_domain,
            api_key=_secret(settings.freshdesk_api_key),
            fallback_email=settings.freshdesk_fallback_email or settings.support_email,
            category_field=settings.freshdesk_category_field,
        )
    elif settings.helpdesk == "webhook":
        if not settings.helpdesk_webhook_url:
            raise ConfigurationError("SUPPORT_HELPDESK=webhook needs SUPPORT_HELPDESK_WEBHOOK_URL")
        connectors["webhook"] = WebhookConnector(
            client,
            url=settings.helpdesk_webhook_url,
            secret=_secret(settings.helpdesk_webhook_secret),
        )
    return connectors
