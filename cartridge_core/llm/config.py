"""Which LLM to ask and what may be sent to it: one frozen value, loaded from plain settings.

The API key itself is never part of the configuration: settings name the environment variable
that holds it (`api_key_env`), and the key is read from the environment only when a provider is
built. So no settings file, log line or `repr` can carry it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_args

from cartridge_core.errors import ConfigError

ProviderName = Literal["openai", "anthropic", "gemini", "openai-compatible", "mock"]
PROVIDERS: tuple[str, ...] = get_args(ProviderName)

# Column-name patterns (regular expressions, searched case-insensitively) whose values are never
# sent, even with sampling on. `ip` and `dob` are whole words so `ship_date` or `adobe` still pass.
DEFAULT_DENYLIST: tuple[str, ...] = (
    "e_?mail", "phone", "mobile", "fax", "ssn", "social_security", "name", "address", "street",
    "city", "zip", "postal", "post_?code", "token", "password", "passwd", "pwd", "secret", "api_?key",
    "credential", r"(^|_)ip(_|$)", "ip_?addr", "birth", r"(^|_)dob(_|$)", "iban", "card", "cvv",
    "account_?(number|no)", "passport", "licen[cs]e", "national_id", "tax_?id", "salary", "geo",
    "latitude", "longitude", r"(^|_)lat(_|$)", r"(^|_)lon(g)?(_|$)",
)  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class _Defaults:
    model: str | None
    base_url: str | None
    api_key_env: str | None


# Defaults per provider; Gemini is reached through its OpenAI-compatible endpoint, local servers
# (Ollama, vLLM, LM Studio) through theirs, so both go through the OpenAI SDK.
_DEFAULTS: dict[str, _Defaults] = {
    "openai": _Defaults(model="gpt-4.1-mini", base_url=None, api_key_env="OPENAI_API_KEY"),
    "anthropic": _Defaults(model="claude-sonnet-4-6", base_url=None, api_key_env="ANTHROPIC_API_KEY"),
    "gemini": _Defaults(
        model="gemini-2.5-flash",
        base_url="https://generativelanguage.googleapis.com/v1beta/openai/",
        api_key_env="GEMINI_API_KEY",
    ),
    "openai-compatible": _Defaults(model=None, base_url="http://localhost:11434/v1", api_key_env=None),
    "mock": _Defaults(model="mock", base_url=None, api_key_env=None),
}
LOCAL_KEY = "not-needed"  # local servers ignore the key, but the OpenAI SDK insists on one

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True, slots=True, kw_only=True)
class LlmConfig:
    """The provider, model and limits of LLM-assisted generation, and what may leave the machine.

    `model`, `base_url` and `api_key_env` left as None take the provider's defaults.
    `denylist` holds column-name patterns whose values are never sent (the defaults plus any added).
    """

    provider: ProviderName
    model: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None  # the NAME of the environment variable holding the key
    timeout_s: float = 60.0
    max_attempts: int = 3  # per request: the first try plus retries on 429, 5xx, timeouts, bad JSON
    max_repairs: int = 2  # times a model that fails the dbt check goes back to the LLM
    max_output_tokens: int = 4096
    send_samples: bool = False  # sample values, min and max of columns not on the denylist
    send_comments: bool = False  # table and column comments from the warehouse catalog
    denylist: tuple[str, ...] = field(default=DEFAULT_DENYLIST)

    def __post_init__(self) -> None:
        defaults = _DEFAULTS[self.provider]
        for name in ("model", "base_url", "api_key_env"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, getattr(defaults, name))

    @property
    def model_name(self) -> str:
        """The model asked (checked present by the loader; `unknown` only for a hand-built config)."""
        return self.model or "unknown"

    @property
    def label(self) -> str:
        """The provider as users call it, for messages."""
        return {
            "openai": "OpenAI",
            "anthropic": "Anthropic",
            "gemini": "Gemini",
            "openai-compatible": f"the OpenAI-compatible server at {self.base_url}",
            "mock": "the mock provider",
        }[self.provider]


# Each setting under its snake_case name and its camelCase name (editor settings are camelCase).
_KEYS: dict[str, str] = {
    "provider": "provider",
    "model": "model",
    "base_url": "base_url",
    "baseUrl": "base_url",
    "api_key_env": "api_key_env",
    "apiKeyEnv": "api_key_env",
    "timeout_s": "timeout_s",
    "timeoutS": "timeout_s",
    "max_attempts": "max_attempts",
    "maxAttempts": "max_attempts",
    "max_repairs": "max_repairs",
    "maxRepairs": "max_repairs",
    "max_output_tokens": "max_output_tokens",
    "maxOutputTokens": "max_output_tokens",
    "send_samples": "send_samples",
    "sendSamples": "send_samples",
    "send_comments": "send_comments",
    "sendComments": "send_comments",
    "denylist": "denylist",
}
_KEY_SETTINGS = ("api_key", "apiKey", "key", "token", "secret")


def load_llm_config(settings: Mapping[str, Any], *, where: str = "cartridge.llm") -> LlmConfig:
    """An LlmConfig from plain settings (editor settings, a `cartridge:` block of dbt vars).

    ConfigError naming the bad setting (`<where>.<key>`) on the first problem. Values are never
    echoed in the message: a key pasted into the wrong setting must not reach a log.
    """
    if not isinstance(settings, Mapping):
        raise ConfigError(f"{where} must be a mapping of settings")
    values: dict[str, Any] = {}
    for key, value in settings.items():
        if key in _KEY_SETTINGS:
            raise ConfigError(
                f"{where}.{key}: API keys are never read from settings; put the key in an environment "
                f"variable and name that variable in {where}.api_key_env"
            )
        if key not in _KEYS:
            raise ConfigError(f"{where}.{key} is not a setting; expected one of {', '.join(_names())}")
        values[_KEYS[key]] = _checked(_KEYS[key], value, f"{where}.{key}")
    if "provider" not in values:
        raise ConfigError(f"{where}.provider is not set; expected one of {', '.join(PROVIDERS)}")
    denied = values.pop("denylist", ())
    config = LlmConfig(**values)
    if not config.model:
        raise ConfigError(f"{where}.model is not set; {config.provider} has no default model")
    return replace(config, denylist=DEFAULT_DENYLIST + tuple(p for p in denied if p not in DEFAULT_DENYLIST))


def _names() -> list[str]:
    return sorted({key for key, name in _KEYS.items() if key == name})


def _checked(name: str, value: Any, setting: str) -> Any:
    """The value of one setting, checked for its type and range."""
    if name == "provider":
        if value not in PROVIDERS:
            raise ConfigError(f"{setting} must be one of {', '.join(PROVIDERS)}")
    elif name in ("model", "base_url", "api_key_env"):
        _expect(isinstance(value, str) and value.strip() != "", setting, "a non-empty string")
        if name == "base_url" and not re.match(r"https?://", value):
            raise ConfigError(f"{setting} must be an http:// or https:// URL")
        if name == "api_key_env" and not _ENV_NAME.match(value):
            raise ConfigError(
                f"{setting} must name an environment variable (such as OPENAI_API_KEY), not hold the key"
            )
    elif name == "timeout_s":
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        _expect(number and value > 0, setting, "a number of seconds above 0")
    elif name in ("max_attempts", "max_output_tokens"):
        _expect(_is_int(value) and value >= 1, setting, "a whole number of at least 1")
    elif name == "max_repairs":
        _expect(_is_int(value) and value >= 0, setting, "a whole number of at least 0")
    elif name in ("send_samples", "send_comments"):
        _expect(isinstance(value, bool), setting, "true or false")
    elif name == "denylist":
        return _patterns(value, setting)
    return value


def _patterns(value: Any, setting: str) -> tuple[str, ...]:
    _expect(isinstance(value, (list, tuple)) and all(isinstance(p, str) for p in value), setting, "a list")
    for index, pattern in enumerate(value):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"{setting}[{index}] is not a valid regular expression: {exc}") from None
    return tuple(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _expect(ok: bool, setting: str, what: str) -> None:
    if not ok:
        raise ConfigError(f"{setting} must be {what}")


def resolve_api_key(config: LlmConfig) -> str:
    """The API key from the environment variable the config names; ConfigError naming it if unset."""
    if config.provider == "mock":
        return ""
    if config.api_key_env is None:  # a local OpenAI-compatible server without authentication
        return LOCAL_KEY
    key = os.environ.get(config.api_key_env, "").strip()
    if not key:
        raise ConfigError(
            f"Environment variable {config.api_key_env} is not set: it must hold the {config.label} "
            "API key (cartridge.llm.api_key_env names the variable)"
        )
    return key
