"""The one settings class. Built by the composition root (or a test), never at import time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "dev-secret"}
# words that mark a copied example rather than a generated secret
_PLACEHOLDER_WORDS = ("change", "placeholder", "example", "your-", "your_", "secret", "token")
MIN_STAFF_TOKEN_CHARS = 32


class Settings(BaseSettings):
    """Everything configurable, read from `SUPPORT_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="SUPPORT_", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    data_dir: Path = Field(default=Path(".support-data"))
    database_url: str | None = None  # default: SQLite file in data_dir

    # store
    store_backend: Literal["demo", "shopify"] = "demo"
    demo: bool = True
    demo_seed: int = 1001
    demo_customers: int = 220
    demo_orders: int = 1100
    shopify_domain: str | None = None  # "acme.myshopify.com"
    shopify_access_token: SecretStr | None = None  # Admin API token of a custom app
    shopify_api_version: str = "2025-10"
    policy_path: Path | None = None  # store rules (YAML); default: the demo store's policy

    # model
    llm_provider: Literal["local", "openai"] = "local"
    openai_base_url: str | None = None
    # SUPPORT_OPENAI_API_KEY, or the standard OPENAI_API_KEY when that is all that is set
    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "SUPPORT_OPENAI_API_KEY", "OPENAI_API_KEY", "openai_api_key"
        ),
    )
    openai_model: str = "gpt-4o-mini"
    openai_timeout_s: float = 30.0
    # sent as `max_tokens` in the body: llama.cpp's server ignores max_completion_tokens
    openai_max_tokens: int = 1024
    # false for servers that repeat a streamed tool call's name (llama.cpp): tool calls then
    # arrive whole, replies still stream
    openai_stream_tool_calls: bool = True
    # limits of the model path (docs/models.md); over one, the turn goes to a person
    llm_max_model_calls: int = 6  # per turn
    llm_max_tool_calls: int = 8  # per turn
    llm_conversation_tokens: int = 60_000  # prompt + completion tokens per conversation
    llm_daily_cost_cap: float = 20.0  # USD per store per UTC day; 0: no cap
    llm_price_table: Path | None = None  # YAML of USD per million tokens; default: packaged
    # circuit breaker: after this many failures in a row the model rests, backing off
    llm_failures_to_open: int = 3
    llm_backoff_s: float = 30.0
    llm_backoff_max_s: float = 600.0

    # knowledge base
    # "support" (default, = knowledge.embedder.DEFAULT_BACKEND): the project's MiniLM fine-tuned
    # on support questions (knowledge/models/, int8 on onnxruntime, no torch in the process);
    # "onnx": the packaged int8 MiniLM; "torch": the fp32 MiniLM through sentence-transformers
    embedder: Literal["onnx", "torch", "support"] = "support"
    chroma_url: str | None = None
    kb_collection: str = "help_center"
    # below this answerability score (on the cosine scale, see knowledge/retriever.py) the agent
    # says it does not know; fitted on the eval's dev half (python -m evals.retrieval.run --fit)
    kb_answer_floor: float = 0.351
    kb_top_k: int = 4

    # chat limits
    max_message_chars: int = 4000
    max_frame_bytes: int = 32_768
    max_verify_attempts: int = 5

    # secrets
    secret_key: SecretStr = SecretStr("dev-secret")
    staff_token: SecretStr = SecretStr("dev-staff-token")  # bearer token of the staff API

    # staff console accounts and sign-in (docs/staff.md)
    # argon2id cost: OWASP's first choice (19 MiB, 2 passes, 1 lane)
    staff_password_time_cost: int = 2
    staff_password_memory_kib: int = 19_456
    staff_session_idle_s: int = 2 * 3600  # a session unused this long ends
    staff_session_max_s: int = 12 * 3600  # and every session ends this long after sign-in
    # failed sign-ins per account and per client IP inside the window, then 429
    staff_login_account_limit: int = 5
    staff_login_ip_limit: int = 20
    staff_login_window_s: int = 900

    store_name: str = "Northwind Outfitters"
    support_email: str = "support@northwind.example"

    # escalation and helpdesk (docs/helpdesk.md)
    helpdesk: Literal["builtin", "zendesk", "freshdesk", "webhook"] = "builtin"
    helpdesk_timeout_s: float = 10.0
    zendesk_subdomain: str | None = None
    zendesk_email: str | None = None
    zendesk_api_token: SecretStr | None = None
    zendesk_webhook_secret: SecretStr | None = None
    zendesk_bot_user_id: str | None = None
    freshdesk_domain: str | None = None
    freshdesk_api_key: SecretStr | None = None
    freshdesk_webhook_token: SecretStr | None = None
    freshdesk_fallback_email: str | None = None
    freshdesk_category_field: str | None = None
    helpdesk_webhook_url: str | None = None
    helpdesk_webhook_secret: SecretStr | None = None
    webhook_tolerance_s: float = 300.0
    outbox_base_delay_s: float = 2.0
    outbox_max_delay_s: float = 600.0
    outbox_max_attempts: int = 20
    outbox_poll_s: float = 5.0
    business_hours: str = "mon-fri 09:00-18:00"
    business_timezone: str = "America/New_York"
    usual_wait_minutes: int = 10
    # first-response SLA of the staff queue, business minutes by priority (console/queue.py);
    # SUPPORT_SLA_FIRST_RESPONSE_MINUTES='{"urgent": 10}' overrides some, the rest keep these
    sla_first_response_minutes: dict[str, int] = Field(
        default_factory=lambda: {"urgent": 15, "high": 60, "normal": 240, "low": 1440}
    )
    # GET /api/staff/events: a heartbeat this often, and a session stream checks its session
    staff_events_heartbeat_s: float = 15.0

    # the email channel (docs/email.md): our address; IMAP polling and/or the SMTP receiver in,
    # SMTP out. Nothing runs while email_address and imap_host are unset.
    email_address: str | None = None  # support@store.example: From of replies; never answered
    email_from_name: str = "Support"
    email_also_ignore: Annotated[list[str], NoDecode] = Field(default_factory=list)
    imap_host: str | None = None
    imap_port: int = 993
    imap_security: Literal["tls", "none"] = "tls"  # "none" only on loopback (tests, a local relay)
    imap_user: str | None = None
    imap_password: SecretStr | None = None
    imap_mailbox: str = "INBOX"
    imap_processed_folder: str = "Processed"  # "" leaves mail in the inbox, flagged Seen
    imap_poll_s: float = 60.0  # without IDLE; with IDLE, how long one IDLE lasts at most
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_s: float = 30.0
    smtp_receiver_port: int | None = None  # serve: accept forwarded mail over SMTP on this port
    smtp_receiver_host: str = "127.0.0.1"
    email_max_bytes: int = 10 * 1024 * 1024
    email_max_auto_replies_per_day: int = 3  # per thread and per sender; staff alerted past it
    email_attachment_max_bytes: int = 10 * 1024 * 1024  # larger files are listed, not stored
    email_attachments_max_total: int = 25 * 1024 * 1024  # stored per mail (docs/email.md)
    email_min_confidence: float = 0.5  # a help-center answer below this goes to staff as a draft
    mailgun_signing_key: SecretStr | None = None  # POST /email/mailgun/mime (docs/email.md)

    # proactive order notifications (docs/notifications.md): `serve` runs the worker when on
    notify_enabled: bool = False
    notify_poll_s: float = 60.0  # how often the store is polled and due notices are sent
    notify_poll_orders: int = 250  # per pass: the newest this many + up to this many watched
    notify_rules_path: Path | None = None  # default: notifications/rules.yaml
    notify_sms_webhook_url: str | None = None  # a signed POST per SMS, through the outbox
    notify_sms_webhook_secret: SecretStr | None = None
    # the Shopify app's webhook signing secret: POST /webhooks/shopify (orders, fulfillments)
    shopify_webhook_secret: SecretStr | None = None

    host: str = "127.0.0.1"
    port: int = 8000
    # `serve` logs JSON lines at this level (logs.py); the other commands log warnings only
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # where customers reach this server ("https://support.example.com"); links, origins, emails
    public_url: str | None = None
    # signs the storefront's login token for the widget (docs/widget.md); unset: tokens ignored
    widget_secret: SecretStr | None = None
    max_attachment_bytes: int = 8 * 1024 * 1024  # a customer's photo (POST /api/attachments)
    redis_url: str | None = None  # redis://127.0.0.1:6379/0: throttles and the bus across workers
    # the bus's channel prefix: keeps several deployments (or test runs) on one Redis apart
    redis_bus_prefix: str = "support-agent:"

    # security (docs/security.md)
    api_docs: bool = False  # /docs, /redoc, /openapi.json
    # browser origins allowed on /ws/chat and POST /api/chat, besides the server's own; "*" = any
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # peers whose X-Forwarded-For is believed (IPs or CIDRs of the reverse proxy)
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # hosts a reply may link to, besides the store's own and the carriers' (subdomains included)
    allowed_link_domains: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_request_bytes: int = 21 * 1024 * 1024  # every request body; routes set lower limits
    max_chat_body_bytes: int = 16 * 1024  # POST /api/chat
    max_webhook_body_bytes: int = 256 * 1024
    max_upload_bytes: int = 20 * 1024 * 1024  # help-center documents
    # failed verifications per order number, per email and per client IP inside the window
    verify_failure_limit: int = 5
    verify_failure_window_s: int = 3600
    # failed verifications across the whole store per window that raise a staff alert
    verify_alert_threshold: int = 50
    ws_connections_per_ip_per_min: int = 30
    ws_open_per_ip: int = 20
    messages_per_ip_per_min: int = 60
    escalations_per_client_per_hour: int = 5
    # conversations, emails, attachments and audit personal data older than this are deleted or
    # anonymised by the daily retention job; 0 keeps everything
    retention_days: int = 365

    @field_validator("email_also_ignore", mode="before")
    @classmethod
    def _email_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v.strip().lower() for v in value.split(",") if v.strip()]
        return value

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("allowed_origins", "trusted_proxies", "allowed_link_domains", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        """A JSON list, or the plain `a.example, b.example` an operator writes in an env file."""
        if not isinstance(value, str):
            return value
        if value.lstrip().startswith("["):
            return json.loads(value)
        return [item.strip() for item in value.split(",") if item.strip()]

    @field_validator("openai_base_url")
    @classmethod
    def _normalise_url(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.env == "prod":
            for name in ("secret_key", "staff_token"):
                value = getattr(self, name).get_secret_value()
                if value in _PLACEHOLDER_SECRETS or value.startswith("dev-"):
                    raise ValueError(f"SUPPORT_{name.upper()} must be a real secret in prod")
            _check_staff_token(self.staff_token.get_secret_value())
        if self.llm_provider == "openai" and not self.openai_base_url and not self.openai_api_key:
            raise ValueError(
                "SUPPORT_LLM_PROVIDER=openai needs SUPPORT_OPENAI_API_KEY or "
                "SUPPORT_OPENAI_BASE_URL"
            )
        return self

    @model_validator(mode="after")
    def _shopify_configured(self) -> Settings:
        if self.store_backend == "shopify" and not (
            self.shopify_domain and self.shopify_access_token
        ):
            raise ValueError(
                "SUPPORT_STORE_BACKEND=shopify needs SUPPORT_SHOPIFY_DOMAIN and "
                "SUPPORT_SHOPIFY_ACCESS_TOKEN"
            )
        return self

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+asyncpg://" + url.split("://", 1)[1]
            return url
        return f"sqlite+aiosqlite:///{self.data_dir / 'support.db'}"

    @property
    def demo_store_path(self) -> Path:
        return self.data_dir / "demo_store.db"

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    def ensure_data_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)


def _check_staff_token(token: str) -> None:
    """Prod only: the staff token guards every staff route, so it must be long and generated
    (`python -c "import secrets; print(secrets.token_urlsafe(32))"`), not a copied example."""
    lowered = token.lower()
    if len(token) < MIN_STAFF_TOKEN_CHARS:
        raise ValueError(
            f"SUPPORT_STAFF_TOKEN must be at least {MIN_STAFF_TOKEN_CHARS} characters in prod"
        )
    if any(word in lowered for word in _PLACEHOLDER_WORDS) or len(set(token)) < 10:
        raise ValueError("SUPPORT_STAFF_TOKEN looks like a placeholder: generate a random one")
    if token != token.strip() or any(ch.isspace() for ch in token):
        raise ValueError("SUPPORT_STAFF_TOKEN may not contain whitespace")
