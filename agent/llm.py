"""The one seam for the model: the only module that names a provider.

`openai` speaks to any OpenAI-compatible endpoint (OpenAI, Azure OpenAI's v1 API, Ollama, vLLM,
llama.cpp; docs/models.md). `SupportChatOpenAI` adjusts the request body in one place:
- tool results go to the model inside a delimited data block that the system prompt describes as
  untrusted (agent/prompts/system.md), with any closing tag in the data defused;
- an assistant message that only calls tools carries `content: ""`, not null (llama.cpp's server
  answers null with HTTP 500);
- servers other than OpenAI's get `max_tokens` in the body, since some ignore
  `max_completion_tokens` and would then generate up to the full context.
Retries are off here: a failed call goes to the fallback and the circuit breaker
(agent/llm_fallback.py), which answer the customer now instead of after three slow attempts.
"""

from __future__ import annotations

from typing import Any

import httpx
from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI

from agent.prompting import data_block
from errors import ConfigurationError
from settings import Settings


class SupportChatOpenAI(ChatOpenAI):
    """ChatOpenAI with the request body adjusted for untrusted data and lenient servers."""

    def _get_request_payload(
        self, input_: Any, *, stop: list[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        for message in payload.get("messages") or []:
            role = message.get("role")
            if role == "tool" and isinstance(message.get("content"), str):
                message["content"] = data_block("tool result", message["content"])
            elif role == "assistant" and message.get("content") is None:
                message["content"] = ""
        return payload


def is_openai_host(base_url: str | None) -> bool:
    return base_url is None or "api.openai.com" in base_url


def make_openai_model(settings: Settings) -> SupportChatOpenAI:
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "none"
    extra: dict[str, Any] = {}
    if not is_openai_host(settings.openai_base_url):
        extra["extra_body"] = {"max_tokens": settings.openai_max_tokens}
    if not settings.openai_stream_tool_calls:
        extra["disable_streaming"] = "tool_calling"
    return SupportChatOpenAI(
        # its own connection pool: langchain-openai's shared default client is bound to the
        # first event loop that used it
        http_async_client=httpx.AsyncClient(timeout=settings.openai_timeout_s),
        model=settings.openai_model,
        base_url=settings.openai_base_url,
        api_key=key,
        timeout=settings.openai_timeout_s,
        max_retries=0,
        max_completion_tokens=settings.openai_max_tokens,
        temperature=0.2,
        stream_usage=True,
        **extra,
    )


async def close_model(model: Any) -> None:
    """At shutdown: the connection pool an OpenAI-compatible model was given (make_openai_model
    creates one per model; nothing else closes it). Other models hold no client."""
    client = getattr(model, "http_async_client", None)
    if isinstance(client, httpx.AsyncClient) and not client.is_closed:
        await client.aclose()


def make_chat_model(settings: Settings, *, embedder: Any = None) -> BaseChatModel:
    """`local`: the offline engine (default). `openai`: any OpenAI-compatible endpoint."""
    if settings.llm_provider == "local":
        return make_local_model(settings, embedder=embedder)
    if settings.llm_provider == "openai":
        return make_openai_model(settings)
    raise ConfigurationError(f"unknown model provider {settings.llm_provider!r}")


def make_local_model(
    settings: Settings, *, embedder: Any = None, intents: Any = None
) -> BaseChatModel:
    """The offline engine; with a provider configured it is also the fallback. `intents`: an
    intent reader already built (the triage's), shared instead of embedding its examples again."""
    from agent.local.engine import LocalChatModel
    from agent.local.state import Persona

    if intents is not None:
        return LocalChatModel(
            intents=intents, persona=Persona(settings.store_name, settings.support_email)
        )
    if embedder is None:
        raise ConfigurationError("the offline engine needs the embedder")
    return LocalChatModel.create(
        embedder=embedder,
        store_name=settings.store_name,
        support_email=settings.support_email,
        cache_dir=settings.data_dir / "cache",
    )
