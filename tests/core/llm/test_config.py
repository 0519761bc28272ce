"""Loading the LLM settings: defaults per provider, one-line errors naming the setting, no keys."""

from __future__ import annotations

import pytest

from cartridge_core.errors import ConfigError
from cartridge_core.llm.config import DEFAULT_DENYLIST, LlmConfig, load_llm_config, resolve_api_key


def test_config_defaults_per_provider() -> None:
    """A provider alone gets its model, key variable and (for Gemini) base URL; privacy is on."""
    openai = load_llm_config({"provider": "openai"})
    assert (openai.model, openai.api_key_env, openai.base_url) == ("gpt-4.1-mini", "OPENAI_API_KEY", None)
    gemini = load_llm_config({"provider": "gemini"})
    assert gemini.api_key_env == "GEMINI_API_KEY" and "generativelanguage" in (gemini.base_url or "")
    assert load_llm_config({"provider": "anthropic"}).api_key_env == "ANTHROPIC_API_KEY"
    assert (openai.send_samples, openai.send_comments, openai.denylist) == (False, False, DEFAULT_DENYLIST)


def test_config_camel_case_settings_and_added_denylist() -> None:
    """Editor settings in camelCase load; denylist patterns are added to the defaults, never replace them."""
    config = load_llm_config(
        {
            "provider": "openai-compatible",
            "model": "llama3.1",
            "baseUrl": "http://127.0.0.1:11434/v1",
            "timeoutS": 12.5,
            "maxAttempts": 2,
            "maxRepairs": 0,
            "sendSamples": True,
            "denylist": ["loyalty"],
        }
    )
    assert (config.base_url, config.timeout_s, config.max_attempts, config.max_repairs) == (
        "http://127.0.0.1:11434/v1", 12.5, 2, 0,
    )  # fmt: skip
    assert config.send_samples and config.denylist[-1] == "loyalty" and "e_?mail" in config.denylist


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        pytest.param({}, "cartridge.llm.provider is not set", id="no-provider"),
        pytest.param({"provider": "openia"}, "cartridge.llm.provider must be one of", id="bad-provider"),
        pytest.param(
            {"provider": "openai", "timeout_s": "soon"}, "cartridge.llm.timeout_s must be", id="timeout"
        ),
        pytest.param(
            {"provider": "openai", "maxAttempts": 0}, "cartridge.llm.maxAttempts must be", id="attempts"
        ),
        pytest.param({"provider": "openai", "send_samples": "yes"}, "cartridge.llm.send_samples", id="bool"),
        pytest.param(
            {"provider": "openai", "colour": "red"}, "cartridge.llm.colour is not a setting", id="unknown"
        ),
        pytest.param({"provider": "openai", "denylist": ["("]}, "cartridge.llm.denylist[0]", id="regex"),
        pytest.param(
            {"provider": "openai", "base_url": "localhost"}, "cartridge.llm.base_url must be", id="url"
        ),
        pytest.param({"provider": "openai-compatible"}, "cartridge.llm.model is not set", id="no-model"),
    ],
)
def test_config_bad_setting_names_it(settings: dict, expected: str) -> None:
    """Each bad setting gives one ConfigError line that names it."""
    with pytest.raises(ConfigError) as raised:
        load_llm_config(settings)
    assert expected in str(raised.value) and "\n" not in str(raised.value)


def test_config_refuses_keys_and_never_echoes_them() -> None:
    """A key in the settings, or in place of the variable's name, is refused without repeating it."""
    secret = "sk-live-0123456789abcdef0123"
    for settings in ({"provider": "openai", "api_key": secret}, {"provider": "openai", "apiKeyEnv": secret}):
        with pytest.raises(ConfigError) as raised:
            load_llm_config(settings)
        assert secret not in str(raised.value) and "environment variable" in str(raised.value)


def test_config_key_comes_from_the_named_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The key is read from the variable named; an unset one is named in the error; repr never has it."""
    config = LlmConfig(provider="openai", api_key_env="CARTRIDGE_TEST_KEY")
    monkeypatch.delenv("CARTRIDGE_TEST_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"CARTRIDGE_TEST_KEY is not set"):
        resolve_api_key(config)
    monkeypatch.setenv("CARTRIDGE_TEST_KEY", "sk-abc-123456789")
    assert resolve_api_key(config) == "sk-abc-123456789"
    assert "sk-abc" not in repr(config)
    local = LlmConfig(provider="openai-compatible", model="llama3.1")
    assert resolve_api_key(local) == "not-needed"
