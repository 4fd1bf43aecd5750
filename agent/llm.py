"""The one seam for the model: the only module that names a provider."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel

from errors import ConfigurationError
from settings import Settings


def make_chat_model(settings: Settings, *, embedder: Any = None) -> BaseChatModel:
    """`local`: the offline engine (default). `openai`: any OpenAI-compatible endpoint."""
    if settings.llm_provider == "local":
        from agent.local.engine import LocalChatModel

        if embedder is None:
            raise ConfigurationError("the offline engine needs the embedder")
        return LocalChatModel.create(
            embedder=embedder,
            store_name=settings.store_name,
            support_email=settings.support_email,
            cache_dir=settings.data_dir / "cache",
        )
    if settings.llm_provider == "openai":
        from langchain_openai import ChatOpenAI

        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "none"
        return ChatOpenAI(
            model=settings.openai_model,
            base_url=settings.openai_base_url,
            api_key=key,
            timeout=settings.openai_timeout_s,
            max_retries=2,
            temperature=0.2,
            stream_usage=True,
        )
    raise ConfigurationError(f"unknown model provider {settings.llm_provider!r}")
