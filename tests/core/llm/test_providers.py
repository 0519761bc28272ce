"""The real OpenAI and Anthropic SDKs against the fake server: answers, retries, failures, cancellation."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

import pytest

from cartridge_core.errors import Cancelled
from cartridge_core.llm import AnswerError, LlmConfig, ProviderError
from cartridge_core.llm.answers import DOCS_SCHEMA, DocsAnswer
from cartridge_core.llm.exchange import Message, OutputSchema, Prompt
from cartridge_core.llm.session import LlmSession
from cartridge_core.progress import NullProgress
from tests.core.llm.fake_provider import FakeProvider, Scripted, anthropic_answer, error_reply, openai_answer

GOOD = {"models": [{"name": "fct_orders", "description": "One row per order.", "columns": []}]}
SCHEMA = OutputSchema(name="model_docs", description="Docs.", json_schema=DOCS_SCHEMA, answer_type=DocsAnswer)
PROMPT = Prompt(
    task="docs",
    messages=(
        Message(role="system", content="Be brief."),
        Message(role="user", content="Describe fct_orders."),
    ),
    schema=SCHEMA,
)


def answer(provider: str, content: Any) -> Scripted:
    """A good reply in the given provider's wire format."""
    return openai_answer(content) if provider == "openai" else anthropic_answer(content, name=SCHEMA.name)


@pytest.fixture(params=["openai", "anthropic"])
def provider(request: pytest.FixtureRequest) -> tuple[str, LlmConfig]:
    """Each provider's name and its config pointing at the fake server."""
    return request.param, request.getfixturevalue(f"{request.param}_config")


class CancelLater(NullProgress):
    """Progress whose user presses Cancel once `event` is set."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def cancelled(self) -> bool:
        return self.event.is_set()


def test_provider_good_answer_is_parsed_and_counted(
    fake: FakeProvider, provider: tuple[str, LlmConfig]
) -> None:
    """A good answer is parsed into the typed dataclass, and the request went out in the wire format."""
    name, config = provider
    fake.script = [answer(name, GOOD)]
    session = LlmSession(config)
    value, conversation = session.ask(PROMPT)
    assert value.models[0].name == "fct_orders" and value.models[0].description == "One row per order."
    assert conversation.messages[-1].role == "assistant"
    sent = fake.requests[0]
    if name == "openai":
        assert sent.path == "/v1/chat/completions"
        body = sent.json
        assert body["response_format"]["json_schema"]["name"] == "model_docs"
        assert body["response_format"]["json_schema"]["strict"] is True
        assert [m["role"] for m in body["messages"]] == ["system", "user"]
        assert session.usage.summary() == "1 LLM request to gpt-4o-mini: 120 tokens in, 30 out, under $0.0001"
    else:
        assert sent.path == "/v1/messages"
        body = sent.json
        assert body["system"] == "Be brief." and [m["role"] for m in body["messages"]] == ["user"]
        assert body["tool_choice"] == {"type": "tool", "name": "model_docs"}
        assert body["tools"][0]["input_schema"]["required"] == ["models"]
        usage = session.usage
        assert (usage.input_tokens, usage.output_tokens) == (200, 40)
        assert usage.cost_usd == pytest.approx((200 * 3 + 40 * 15) / 1_000_000)


def test_provider_malformed_answer_is_retried_then_used(
    fake: FakeProvider, provider: tuple[str, LlmConfig]
) -> None:
    """A malformed answer goes back to the LLM with what was wrong; the next good one is used."""
    name, config = provider
    bad = "not json at all" if name == "openai" else {"models": [{"name": 3}]}
    fake.script = [answer(name, bad), answer(name, GOOD)]
    value, _ = LlmSession(config).ask(PROMPT)
    assert value.models[0].name == "fct_orders"
    retry = fake.requests[1].json["messages"]
    assert retry[-1]["role"] == "user" and "could not be used" in retry[-1]["content"]
    assert retry[-2]["role"] == "assistant"


def test_provider_malformed_answers_are_reported(fake: FakeProvider, openai_config: LlmConfig) -> None:
    """After max_attempts malformed answers, one AnswerError line says what was wrong."""
    fake.script = [openai_answer({"models": "many"})] * 3
    with pytest.raises(AnswerError) as raised:
        LlmSession(openai_config).ask(PROMPT)
    message = str(raised.value)
    assert message.startswith("OpenAI (gpt-4o-mini) gave no usable model_docs answer in 3 attempts")
    assert "$.models" in message and len(fake.requests) == 3


def test_provider_429_then_success(fake: FakeProvider, provider: tuple[str, LlmConfig]) -> None:
    """A 429 is retried by the SDK after the server's Retry-After; the run then succeeds."""
    name, config = provider
    fake.script = [
        error_reply(429, "Rate limit reached", kind="rate_limit_error", retry_after_ms="20"),
        answer(name, GOOD),
    ]
    session = LlmSession(config)
    value, _ = session.ask(PROMPT)
    assert value.models[0].name == "fct_orders" and len(fake.requests) == 2
    assert session.usage.requests == 1  # only answered requests are counted


@pytest.mark.parametrize(
    ("status", "kind", "expected"),
    [
        pytest.param(401, "auth", "rejected the API key in $CARTRIDGE_TEST_", id="401"),
        pytest.param(403, "forbidden", "refused access to model", id="403"),
        pytest.param(404, "model", "does not know model", id="404"),
        pytest.param(429, "quota", "refused more requests to", id="429-exhausted"),
        pytest.param(500, "server", "failed with HTTP 500 after 2 attempts", id="500"),
        pytest.param(400, "rejected", "rejected the request to", id="400"),
    ],
)
def test_provider_failures_are_one_clear_line(
    fake: FakeProvider, provider: tuple[str, LlmConfig], status: int, kind: str, expected: str
) -> None:
    """Each HTTP failure becomes one ProviderError line naming the provider, with a kind to act on."""
    name, config = provider
    config = replace(config, max_attempts=2)
    fake.script = [error_reply(status, "nope", code="insufficient_quota", retry_after_ms="10")] * 2
    with pytest.raises(ProviderError) as raised:
        LlmSession(config).ask(PROMPT)
    error = raised.value
    assert error.kind == kind and expected in str(error) and "\n" not in str(error)
    assert str(error).startswith("OpenAI" if name == "openai" else "Anthropic")
    retried = status in (429, 500)
    assert len(fake.requests) == (2 if retried else 1)
    if status == 429:
        assert "insufficient_quota" in str(error)


def test_provider_timeout_is_reported(fake: FakeProvider, provider: tuple[str, LlmConfig]) -> None:
    """A provider that does not answer within timeout_s gives a timeout error, not a hang."""
    _, config = provider
    fake.script = [Scripted(delay=10)]
    started = time.monotonic()
    with pytest.raises(ProviderError) as raised:
        LlmSession(replace(config, timeout_s=0.5, max_attempts=1)).ask(PROMPT)
    assert raised.value.kind == "timeout" and "did not answer within 0.5 s" in str(raised.value)
    assert time.monotonic() - started < 5


def test_provider_unreachable_is_reported(openai_config: LlmConfig) -> None:
    """Nothing listening at the base URL gives one 'Cannot reach' line naming it."""
    import socket

    with socket.socket() as probe:  # a loopback port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = replace(openai_config, base_url=f"http://127.0.0.1:{port}/v1", max_attempts=1)
    with pytest.raises(ProviderError) as raised:
        LlmSession(config).ask(PROMPT)
    assert raised.value.kind == "unreachable"
    assert str(raised.value).startswith(f"Cannot reach OpenAI at http://127.0.0.1:{port}/v1")


def test_provider_cancel_mid_request(fake: FakeProvider, provider: tuple[str, LlmConfig]) -> None:
    """Cancel while the provider is still thinking: Cancelled comes at once, not at the timeout."""
    _, config = provider
    fake.script = [Scripted(delay=10)]
    pressed = threading.Event()
    session = LlmSession(replace(config, timeout_s=30, max_attempts=1), progress=CancelLater(pressed))
    threading.Timer(0.3, pressed.set).start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        session.ask(PROMPT)
    assert time.monotonic() - started < 2 and len(fake.requests) == 1


LOCAL = {"provider": "openai-compatible", "model": "llama3.1"}
GEMINI = {"provider": "gemini", "api_key_env": "CARTRIDGE_TEST_GEMINI_KEY"}


@pytest.mark.parametrize(
    ("settings", "auth", "cost"),
    [
        pytest.param(LOCAL, "Bearer not-needed", None, id="local"),
        pytest.param(GEMINI, "Bearer gm-test-key-12345", (120 * 0.30 + 30 * 2.50) / 1e6, id="gemini"),
    ],
)
def test_provider_openai_compatible_servers(
    fake: FakeProvider,
    monkeypatch: pytest.MonkeyPatch,
    settings: dict,
    auth: str,
    cost: float | None,
) -> None:
    """Gemini and local servers go through the OpenAI SDK at their base URL, without OpenAI-only options."""
    from cartridge_core.llm import load_llm_config

    monkeypatch.setenv("CARTRIDGE_TEST_GEMINI_KEY", "gm-test-key-12345")
    config = load_llm_config({**settings, "base_url": f"{fake.url}/v1"})
    fake.script = [openai_answer(GOOD)]
    session = LlmSession(config)
    value, _ = session.ask(PROMPT)
    assert value.models[0].name == "fct_orders"
    sent = fake.requests[0]
    assert sent.path == "/v1/chat/completions" and sent.headers["authorization"] == auth
    body = sent.json
    assert (
        body["model"] == config.model and body["max_tokens"] == 4096 and "max_completion_tokens" not in body
    )
    assert body["response_format"]["json_schema"]["strict"] is False
    assert session.usage.cost_usd == (pytest.approx(cost) if cost is not None else None)
