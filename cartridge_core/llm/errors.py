"""Errors of LLM-assisted generation: one line each, naming the provider, never carrying a key."""

from __future__ import annotations

from typing import Literal

from cartridge_core.errors import CartridgeError

FailureKind = Literal[
    "auth", "forbidden", "model", "quota", "timeout", "unreachable", "server", "rejected", "answer"
]  # fmt: skip


class LlmError(CartridgeError):
    """The LLM could not be used for this run; the deterministic output is still there.

    `kind` says what went wrong, so a caller can tell a wrong key from a busy provider.
    """

    def __init__(self, message: str, *, kind: FailureKind) -> None:
        super().__init__(message)
        self.kind = kind


class ProviderError(LlmError):
    """The provider refused or failed the request: wrong key, unknown model, quota, unreachable."""


class AnswerError(LlmError):
    """The provider answered, but never with output of the requested shape."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="answer")


def scrub(text: str, *secrets: str) -> str:
    """`text` with each secret (and any long-enough prefix of it a server echoed) masked."""
    for secret in secrets:
        if len(secret) < 4:
            continue
        text = text.replace(secret, "****")
        # Providers echo a key's head ("Incorrect API key provided: sk-abc123***"): mask that too.
        head = secret[: max(8, len(secret) // 2)]
        if len(head) >= 8:
            text = text.replace(head, "****")
    return text
