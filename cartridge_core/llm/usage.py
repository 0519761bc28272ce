"""Tokens and an estimated cost per run, so a user sees what LLM-assisted generation spent."""

from __future__ import annotations

import threading
from dataclasses import dataclass

# US dollars per million tokens (input, output), from the providers' price pages in 2025. An
# estimate only: prices change, and cached or batch prices are not modelled. A model not here
# (a local one, a new one) has an unknown cost rather than a guessed one.
PRICES_PER_MILLION: dict[str, tuple[float, float]] = {
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "o4-mini": (1.10, 4.40),
    "claude-opus-4": (15.00, 75.00),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-3-7-sonnet": (3.00, 15.00),
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-haiku-4-5": (1.00, 5.00),
    "gemini-2.0-flash": (0.10, 0.40),
    "gemini-2.5-flash": (0.30, 2.50),
    "gemini-2.5-pro": (1.25, 10.00),
}
_PRICED_PROVIDERS = ("openai", "anthropic", "gemini")


def price_of(provider: str, model: str) -> tuple[float, float] | None:
    """The (input, output) price per million tokens of `model`, by its longest known prefix."""
    if provider == "mock":
        return (0.0, 0.0)
    if provider not in _PRICED_PROVIDERS:  # a local or third-party server: its price is its own
        return None
    known = [name for name in PRICES_PER_MILLION if model == name or model.startswith(name + "-")]
    return PRICES_PER_MILLION[max(known, key=len)] if known else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    """What one run asked of a provider: requests, tokens, and the estimated cost (None: unknown)."""

    provider: str
    model: str
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    tokens_unknown: bool = False  # the provider did not report tokens for some request

    def summary(self) -> str:
        """One line for the CLI and the editor's status: requests, tokens, cost."""
        noun = "request" if self.requests == 1 else "requests"
        tokens = f"{self.input_tokens:,} tokens in, {self.output_tokens:,} out"
        if self.tokens_unknown:
            tokens += " (some not reported)"
        if self.cost_usd is None:
            cost = "cost unknown"
        elif 0 < self.cost_usd < 0.0001:
            cost = "under $0.0001"
        else:
            cost = f"about ${self.cost_usd:.4f}"
        return f"{self.requests} LLM {noun} to {self.model}: {tokens}, {cost}"


class UsageMeter:
    """Adds up the usage of one run's requests (requests may finish on worker threads)."""

    def __init__(self, provider: str, model: str) -> None:
        self._lock = threading.Lock()
        self._usage = Usage(provider=provider, model=model)

    def add(self, input_tokens: int | None, output_tokens: int | None) -> None:
        """Count one answered request and the tokens it reported."""
        with self._lock:
            u = self._usage
            self._usage = Usage(
                provider=u.provider,
                model=u.model,
                requests=u.requests + 1,
                input_tokens=u.input_tokens + (input_tokens or 0),
                output_tokens=u.output_tokens + (output_tokens or 0),
                tokens_unknown=u.tokens_unknown or input_tokens is None or output_tokens is None,
            )

    @property
    def usage(self) -> Usage:
        """The totals so far, with the estimated cost."""
        with self._lock:
            u = self._usage
        price = price_of(u.provider, u.model)
        if price is None or u.tokens_unknown:
            return u
        cost = (u.input_tokens * price[0] + u.output_tokens * price[1]) / 1_000_000
        return Usage(
            provider=u.provider,
            model=u.model,
            requests=u.requests,
            input_tokens=u.input_tokens,
            output_tokens=u.output_tokens,
            cost_usd=cost,
        )
