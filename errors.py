"""The exception tree.

SupportAgentError
├── ConfigurationError      settings that cannot work (missing key, bad URL)
├── StorageError            the database refused or is unreachable
├── BackendError            the store backend failed (``retryable`` tells the caller)
├── KnowledgeError          ingestion or retrieval failed
├── ProtocolError           a client frame that breaks the chat protocol (code + message)
└── ToolError               recoverable, model-visible: the tool layer turns it into a
                            ToolMessage ("Order #1042 was delivered 45 days ago ...")
"""

from __future__ import annotations


class SupportAgentError(Exception):
    """Root of every error this project raises on purpose."""


class ConfigurationError(SupportAgentError):
    pass


class StorageError(SupportAgentError):
    pass


class BackendError(SupportAgentError):
    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class KnowledgeError(SupportAgentError):
    pass


class ProtocolError(SupportAgentError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ToolError(SupportAgentError):
    """A tool refused or failed in a way the model should see and explain."""
