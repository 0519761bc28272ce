"""Providers behind one small interface, each through its official SDK, imported only when used.

OpenAI, Gemini and local servers (Ollama, vLLM, LM Studio) speak OpenAI's chat completions, so
one class serves them through `base_url`; Anthropic has its own. Retries on 429, 5xx and
timeouts are the SDKs' own (exponential backoff honouring `Retry-After`), bounded by
`max_attempts`. Every SDK failure becomes one ProviderError line that never holds the key.
"""

from __future__ import annotations

import json
import logging
from types import ModuleType
from typing import Any, Protocol

from cartridge_core.llm.config import LlmConfig, resolve_api_key
from cartridge_core.llm.errors import ProviderError, scrub
from cartridge_core.llm.exchange import Message, Prompt, Reply

logger = logging.getLogger(__name__)


class Provider(Protocol):
    """Sends one prompt and returns the raw answer; raises ProviderError on any failure."""

    def complete(self, prompt: Prompt[Any]) -> Reply: ...


def make_provider(config: LlmConfig) -> Provider:
    """The provider the config names, with its key read from the environment now."""
    if config.provider == "mock":
        from cartridge_core.llm.mock import MockProvider

        return MockProvider()
    key = resolve_api_key(config)
    if config.provider == "anthropic":
        return AnthropicProvider(config, key)
    return OpenAIProvider(config, key)


class OpenAIProvider:
    """OpenAI chat completions with a JSON-schema `response_format` (also Gemini and local servers)."""

    def __init__(self, config: LlmConfig, api_key: str) -> None:
        import openai

        self._sdk: ModuleType = openai
        self._config = config
        self._secret = api_key
        self._client = openai.OpenAI(
            api_key=api_key,
            base_url=config.base_url,
            timeout=config.timeout_s,
            max_retries=config.max_attempts - 1,
        )
        # OpenAI's reasoning models take only `max_completion_tokens`; Gemini's and local servers'
        # compatible endpoints have long taken `max_tokens`, and some know no other.
        self._limit_name = "max_completion_tokens" if config.provider == "openai" else "max_tokens"

    def complete(self, prompt: Prompt[Any]) -> Reply:
        """Ask for an answer in the prompt's schema; the JSON comes back as the message content."""
        schema = prompt.schema
        response_format = {
            "type": "json_schema",
            "json_schema": {
                "name": schema.name,
                "description": schema.description,
                "schema": dict(schema.json_schema),
                # Strict mode is OpenAI's own; other servers may reject schemas it would accept.
                "strict": self._config.provider == "openai",
            },
        }
        create: Any = self._client.chat.completions.create  # the SDK's TypedDicts add nothing here
        try:
            response = create(
                model=self._config.model_name,
                messages=[{"role": m.role, "content": m.content} for m in prompt.messages],
                response_format=response_format,
                **{self._limit_name: self._config.max_output_tokens},
            )
        except self._sdk.OpenAIError as exc:
            raise provider_error(exc, self._sdk, self._config, self._secret) from None
        choice = response.choices[0] if response.choices else None
        message = choice.message if choice else None
        text = (message.content if message else None) or ""
        if not text and message is not None and getattr(message, "refusal", None):
            text = json.dumps({"refusal": message.refusal})
        usage = response.usage
        return Reply(
            text=text,
            input_tokens=usage.prompt_tokens if usage else None,
            output_tokens=usage.completion_tokens if usage else None,
        )


class AnthropicProvider:
    """Anthropic messages with the answer forced through one tool whose input schema is the output's."""

    def __init__(self, config: LlmConfig, api_key: str) -> None:
        import anthropic

        self._sdk: ModuleType = anthropic
        self._config = config
        self._secret = api_key
        self._client = anthropic.Anthropic(
            api_key=api_key,
            base_url=config.base_url,
            timeout=config.timeout_s,
            max_retries=config.max_attempts - 1,
            open_telemetry=False,  # spans could carry the prompt to a collector nobody asked for
        )

    def complete(self, prompt: Prompt[Any]) -> Reply:
        """Ask for the answer as the input of the prompt's tool; its input is the JSON answer."""
        schema = prompt.schema
        system = "\n\n".join(m.content for m in prompt.messages if m.role == "system")
        create: Any = self._client.messages.create  # the SDK's TypedDicts add nothing here
        try:
            response = create(
                model=self._config.model_name,
                max_tokens=self._config.max_output_tokens,
                **({"system": system} if system else {}),
                messages=[_anthropic_message(m) for m in prompt.messages if m.role != "system"],
                tools=[
                    {
                        "name": schema.name,
                        "description": schema.description,
                        "input_schema": dict(schema.json_schema),
                    }
                ],
                tool_choice={"type": "tool", "name": schema.name},
            )
        except self._sdk.AnthropicError as exc:
            raise provider_error(exc, self._sdk, self._config, self._secret) from None
        tool_input = next((b.input for b in response.content if b.type == "tool_use"), None)
        if tool_input is not None:
            text = json.dumps(tool_input)
        else:  # no tool call: whatever it wrote instead is reported as a malformed answer
            text = "".join(getattr(b, "text", "") for b in response.content)
        return Reply(
            text=text,
            input_tokens=response.usage.input_tokens,
            output_tokens=response.usage.output_tokens,
        )


def _anthropic_message(message: Message) -> Any:
    return {"role": message.role, "content": message.content}


def provider_error(exc: BaseException, sdk: ModuleType, config: LlmConfig, secret: str) -> ProviderError:
    """The one-line error for an SDK failure: what happened, to which provider and model, what to do."""
    label, model = config.label, config.model_name
    attempts = f"after {config.max_attempts} attempt{'s' if config.max_attempts > 1 else ''}"
    status = getattr(exc, "status_code", None)
    logger.debug("%s request failed: %s (status %s)", label, type(exc).__name__, status)
    if isinstance(exc, sdk.APITimeoutError):
        return ProviderError(
            f"{label} did not answer within {config.timeout_s:g} s ({attempts}); "
            "try again, or raise cartridge.llm.timeout_s",
            kind="timeout",
        )
    if isinstance(exc, sdk.APIConnectionError):
        reason = scrub(_flat(str(exc.__cause__ or exc)), secret)
        where = f" at {config.base_url}" if config.base_url else ""
        return ProviderError(f"Cannot reach {label}{where} ({attempts}): {reason}", kind="unreachable")
    if isinstance(exc, sdk.AuthenticationError):
        if config.api_key_env is None:
            return ProviderError(
                f"{label} wants an API key (401 Unauthorized): name the environment variable holding it "
                "in cartridge.llm.api_key_env",
                kind="auth",
            )
        return ProviderError(
            f"{label} rejected the API key in ${config.api_key_env} (401 Unauthorized): check the key",
            kind="auth",
        )
    if isinstance(exc, sdk.PermissionDeniedError):
        return ProviderError(
            f"{label} refused access to model {model} (403 Forbidden): the key in "
            f"${config.api_key_env} lacks permission for it",
            kind="forbidden",
        )
    if isinstance(exc, sdk.NotFoundError):
        return ProviderError(
            f"{label} does not know model {model} (404 Not Found): check cartridge.llm.model"
            + (f" and cartridge.llm.base_url ({config.base_url})" if config.base_url else ""),
            kind="model",
        )
    if isinstance(exc, sdk.RateLimitError):
        code = _error_code(exc)
        reason = f"429 rate limit or quota: {code}" if code else "429 rate limit or quota"
        return ProviderError(
            f"{label} refused more requests to {model} ({reason}) {attempts}: "
            "wait and try again, or check the account's quota",
            kind="quota",
        )
    if isinstance(exc, sdk.APIStatusError) and status is not None and status >= 500:
        return ProviderError(f"{label} failed with HTTP {status} {attempts}: try again later", kind="server")
    said = scrub(_server_message(exc), secret)
    return ProviderError(
        f"{label} rejected the request to {model}" + (f" (HTTP {status})" if status else "") + f": {said}",
        kind="rejected",
    )


def _error_body(exc: BaseException) -> dict[str, Any]:
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"]
    return body if isinstance(body, dict) else {}


def _error_code(exc: BaseException) -> str | None:
    body = _error_body(exc)
    code = body.get("code") or body.get("type")
    return code if isinstance(code, str) and code.replace("_", "").isalnum() else None


def _server_message(exc: BaseException) -> str:
    message = _error_body(exc).get("message")
    text = message if isinstance(message, str) and message.strip() else str(exc)
    return _flat(text)[:300]


def _flat(text: str) -> str:
    return " ".join(text.split())
