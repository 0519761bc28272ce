"""Private by default: no warehouse value leaves while sampling is off; no key in a prompt, log or error."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from cartridge_core import services
from cartridge_core.llm import (
    LlmConfig,
    LlmError,
    ModelSource,
    ask_for_model,
    enrich_staging,
    propose_tests,
    write_docs,
)
from cartridge_core.llm.session import LlmSession
from cartridge_core.models import ModelCheck, Scan
from cartridge_core.project.changes import Plan
from tests.core.llm.conftest import ANTHROPIC_KEY, OPENAI_KEY
from tests.core.llm.fake_provider import FakeProvider, Scripted, anthropic_answer, error_reply, openai_answer
from tests.core.llm.test_modelling import GOOD_SQL, model_answer
from tests.core.llm.test_providers import PROMPT

DISTINCT_STATUS = "QUOKKA-SAMPLE-93517"
DISTINCT_EMAIL = "quokka.private@example.net"


def passes(plan: Plan) -> Sequence[ModelCheck]:
    """A check that passes every planned model (the dbt check is proven elsewhere)."""
    return [
        ModelCheck(model=Path(c.path).stem, path=c.path, status="pass")
        for c in plan.changes
        if c.path.endswith(".sql")
    ]


@pytest.fixture
def profiled_shop(duckdb_project: Path) -> tuple[services.Context, Scan]:
    """The DuckDB shop with a distinctive status and e-mail in its rows, scanned and profiled."""
    con = duckdb.connect(str(duckdb_project / "shop.duckdb"))
    try:
        con.execute(
            f"insert into raw.orders values (12, 1, '{DISTINCT_STATUS}', 55.00, '2024-03-03 10:00:00')"
        )
        con.execute(f"update raw.customers set email = '{DISTINCT_EMAIL}' where id = 2")
    finally:
        con.close()
    ctx = services.load_context(duckdb_project)
    return ctx, services.analyze(ctx, services.scan(ctx))


def test_privacy_sample_values_never_sent_while_sampling_is_off(
    fake: FakeProvider, openai_config: LlmConfig, profiled_shop: tuple[services.Context, Scan]
) -> None:
    """Every task's requests carry none of the profiled values; with sampling on, only allowed ones go."""
    ctx, scan = profiled_shop
    profiled = repr(scan.profiles)
    assert DISTINCT_STATUS in profiled and DISTINCT_EMAIL in profiled  # the scan does hold them
    fake.script = [
        openai_answer(model_answer(GOOD_SQL)),
        openai_answer({"models": []}),
        openai_answer({"tests": []}),
        openai_answer({"models": []}),
    ]
    ask_for_model(ctx, scan, "order totals per customer", openai_config, check=passes)
    enrich_staging(ctx, scan, openai_config, check=passes)
    propose_tests(scan, openai_config)
    write_docs(
        ctx.project,
        scan,
        openai_config,
        [ModelSource(name="fct_orders", sql="select 1", columns=("order_id",))],
    )
    assert len(fake.requests) == 4
    for body in fake.bodies():
        assert DISTINCT_STATUS not in body and DISTINCT_EMAIL not in body and "ada@example.com" not in body
        assert "stg_raw__orders" in body or "fct_orders" in body  # the metadata did go

    fake.script = [openai_answer(model_answer(GOOD_SQL))]
    ask_for_model(ctx, scan, "order totals", replace(openai_config, send_samples=True), check=passes)
    sampled = fake.requests[-1].body
    assert DISTINCT_STATUS in sampled  # sampling on: an ordinary column's values are sent ...
    assert DISTINCT_EMAIL not in sampled and "ada@example.com" not in sampled  # ... never a denied column's


def _secret_scenarios(provider: str) -> list[Scripted]:
    key = OPENAI_KEY if provider == "openai" else ANTHROPIC_KEY
    good = openai_answer if provider == "openai" else (lambda body: anthropic_answer(body, name="model_docs"))
    answer = {"models": [{"name": "fct_orders", "description": "d", "columns": []}]}
    return [
        good(answer),  # a good request
        error_reply(
            400, f"Invalid request from key {key}: unsupported parameter", kind="invalid_request_error"
        ),
        error_reply(429, f"Quota exhausted for key {key}", kind="rate_limit_error", retry_after_ms="5"),
        error_reply(429, f"Quota exhausted for key {key}", kind="rate_limit_error", retry_after_ms="5"),
        error_reply(500, f"Internal error while serving {key}"),
        error_reply(500, f"Internal error while serving {key}"),
    ]


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_privacy_key_never_in_prompt_log_or_error(
    fake: FakeProvider, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture, provider: str
) -> None:
    """The key goes only in the auth header: never in a request body, a log or an error, even echoed."""
    config: LlmConfig = replace(request.getfixturevalue(f"{provider}_config"), max_attempts=2)
    key = OPENAI_KEY if provider == "openai" else ANTHROPIC_KEY
    caplog.set_level(logging.DEBUG)
    fake.script = _secret_scenarios(provider)
    session = LlmSession(config)
    errors: list[str] = []
    session.ask(PROMPT)
    for _ in range(3):  # 400, 429 twice, 500 twice
        with pytest.raises(LlmError) as raised:
            session.ask(PROMPT)
        errors.append(str(raised.value) + "".join(traceback.format_exception(raised.value)))
    fake.key = (
        "sk-some-other-key-entirely"  # the server now refuses ours, and echoes it back (as OpenAI does)
    )
    with pytest.raises(LlmError) as raised:
        LlmSession(config).ask(PROMPT)
    assert raised.value.kind == "auth"
    errors.append(str(raised.value) + "".join(traceback.format_exception(raised.value)))

    assert len(fake.requests) == 7 and all(key in r.headers.get("authorization", "") for r in fake.requests)
    logged = [r.getMessage() for r in caplog.records] + [repr(r.args) for r in caplog.records]
    assert any("Sending" in line for line in logged) and len(caplog.records) > 10  # DEBUG logging was on
    texts = [*errors, *logged, *fake.bodies(), PROMPT.as_text(), repr(config), repr(session.usage)]
    tail = key[-12:]
    leaked = [t for t in texts if key in t or tail in t]
    assert leaked == []
