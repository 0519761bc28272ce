"""A model from a request in plain words, written by the LLM through the real SDK, checked by real dbt."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cartridge_core import services
from cartridge_core.generation.marts import generate_marts
from cartridge_core.generation.staging import staging_models
from cartridge_core.llm import LlmConfig, MockProvider, ask_for_model
from cartridge_core.models import Scan
from cartridge_core.project.changes import plan_changes
from tests.core.llm.fake_provider import FakeProvider, openai_answer

REQUEST = "total order amount per customer"
GOOD_SQL = textwrap.dedent(
    """\
    with orders as (
        select * from {{ ref('stg_raw__orders') }}
    )

    select
        customer_id,
        count(*) as order_count,
        sum(amount) as total_amount
    from orders
    group by customer_id
    """
)
# Line 8 names a column the staged orders do not have.
BAD_SQL = GOOD_SQL.replace(
    "    count(*) as order_count,\n", "    count(*) as order_count,\n    shipping_method,\n"
)
assert BAD_SQL != GOOD_SQL


def model_answer(sql: str) -> dict:
    return {
        "name": "int_customer_order_totals",
        "layer": "intermediate",
        "description": "One row per customer with their order count and total amount.",
        "sql": sql,
        "columns": [
            {"name": "customer_id", "description": "The customer."},
            {"name": "order_count", "description": "Orders placed."},
            {"name": "total_amount", "description": "Sum of order amounts."},
        ],
    }


@pytest.fixture
def shop(duckdb_project: Path) -> tuple[services.Context, Scan]:
    """The DuckDB shop's context and its analysed scan (roles, profiles)."""
    ctx = services.load_context(duckdb_project)
    return ctx, services.analyze(ctx, services.scan(ctx))


def test_ask_for_model_repairs_sql_dbt_rejects(
    fake: FakeProvider, openai_config: LlmConfig, shop: tuple[services.Context, Scan]
) -> None:
    """SQL naming an unknown column fails real dbt on line 8; the error goes back; the fix passes."""
    ctx, scan = shop
    assert BAD_SQL.splitlines()[7].strip() == "shipping_method,"
    fake.script = [openai_answer(model_answer(BAD_SQL)), openai_answer(model_answer(GOOD_SQL))]
    result = ask_for_model(ctx, scan, REQUEST, openai_config)

    assert (result.source, result.repairs, result.model) == ("llm-repaired", 1, "int_customer_order_totals")
    assert result.check is not None and result.check.status == "pass"
    repair = fake.requests[1].json["messages"][-1]["content"]
    assert "models/intermediate/int_customer_order_totals.sql, line 8: `shipping_method,`" in repair
    assert "shipping_method" in repair.split("):", 1)[1]  # dbt's own message names the column
    assert result.files["models/intermediate/int_customer_order_totals.sql"] == GOOD_SQL
    assert (
        "description: One row per customer"
        in result.files["models/intermediate/_int_customer_order_totals__models.yml"]
    )
    assert "models/staging/raw/stg_raw__orders.sql" in result.files  # the staging it refs comes along
    assert result.usage is not None and result.usage.requests == 2
    assert result.messages[-1].startswith("2 LLM requests to gpt-4o-mini: 240 tokens in, 60 out")
    plan = plan_changes(ctx.project.root, result.files)
    assert all(c.kind == "create" for c in plan.changes)


def test_ask_for_model_never_compiling_falls_back(
    fake: FakeProvider, openai_config: LlmConfig, shop: tuple[services.Context, Scan]
) -> None:
    """SQL that fails every repair is dropped for the deterministic marts, and the result says so."""
    ctx, scan = shop
    fallback = generate_marts(scan, staging_models(scan), ctx.project).files
    assert fallback
    fake.script = [openai_answer(model_answer(BAD_SQL))] * 3
    result = ask_for_model(ctx, scan, REQUEST, openai_config, fallback=fallback)

    assert (result.source, result.repairs, result.files) == ("fallback", 2, fallback)
    assert len(fake.requests) == 3
    assert "still fails the dbt check after 2 repairs at line 8" in result.messages[0]
    assert result.messages[0].endswith("using the deterministic output instead.")
    assert result.sql == BAD_SQL  # kept to show, never to write


def test_ask_for_model_mock_provider_passes_dbt(shop: tuple[services.Context, Scan]) -> None:
    """The mock provider's model (no network, no key) passes real dbt first time."""
    ctx, scan = shop
    mock = MockProvider()
    result = ask_for_model(ctx, scan, REQUEST, LlmConfig(provider="mock"), provider=mock)
    assert (result.source, result.model) == ("llm", "int_total_order_amount_per_customer")
    assert "ref('stg_raw__orders')" in (result.sql or "")
    assert result.usage is not None and result.usage.cost_usd == 0.0 and len(mock.prompts) == 1
