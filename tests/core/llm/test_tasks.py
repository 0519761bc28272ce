"""The tasks over a scan: staging names within conventions, docs, and test ideas for the verify path."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from cartridge_core import services
from cartridge_core.llm import (
    LlmConfig,
    MockProvider,
    ModelSource,
    enrich_staging,
    propose_tests,
    write_docs,
)
from cartridge_core.models import DbtProject, ModelCheck, Scan, SchemaTest, WarehouseTarget
from cartridge_core.project.changes import Plan
from tests.core.llm.fake_provider import FakeProvider, anthropic_answer

MOCK = LlmConfig(provider="mock")
CUSTOMERS = "models/staging/raw/stg_raw__customers.sql"


@pytest.fixture
def ctx(tmp_path: Path) -> services.Context:
    """A project with no models, over a target never connected to (checks here are plain functions)."""
    (tmp_path / "models").mkdir()
    project = DbtProject(root=tmp_path, name="shop", profile_name="shop")
    target = WarehouseTarget(
        type="duckdb", profile_name="shop", target_name="dev", profiles_file=tmp_path / "profiles.yml",
        schema="analytics", database="shop",
    )  # fmt: skip
    return services.Context(project=project, target=target)


def passes(plan: Plan) -> Sequence[ModelCheck]:
    return [
        ModelCheck(model=Path(c.path).stem, path=c.path, status="pass")
        for c in plan.changes
        if c.path.endswith(".sql")
    ]


def idea(
    model: str, column: str, kind: str, *, values=(), to: str = "", field: str = "", reason: str = "y"
) -> dict:
    """One test idea as the LLM writes it."""
    return {
        "model": model, "column": column, "kind": kind, "values": list(values),
        "to_model": to, "field": field, "reason": reason,
    }  # fmt: skip


def staging_answer(columns: dict[str, str]) -> dict:
    """An answer renaming stg_raw__customers' columns (warehouse name -> new name)."""
    return {
        "models": [
            {
                "name": "stg_raw__customers",
                "description": "One row per customer who ever ordered.",
                "columns": [
                    {"source_column": source, "name": name, "description": f"The {name}."}
                    for source, name in columns.items()
                ],
            }
        ]
    }


def test_enrich_staging_keeps_names_within_conventions(ctx: services.Context, shop_scan: Scan) -> None:
    """Good names are used in SQL and YAML; a key without _id, a flag without is_, a quoted name are not."""
    answer = staging_answer(
        {
            "FirstName": "given_name",
            "email": "contact_email",
            "id": "customer",
            "active": "active",
            "created": "Created At",
        }
    )
    result = enrich_staging(ctx, shop_scan, MOCK, check=passes, provider=MockProvider([answer]))
    sql = result.files[CUSTOMERS]
    assert '"FirstName" as given_name' in sql and "email as contact_email" in sql
    assert "id as customer_id" in sql and "active as is_active" in sql and "created as created_at" in sql
    assert sorted(m for m in result.messages if "kept the usual name" in m) == [
        "stg_raw__customers.created_at: kept the usual name ('Created At' is not plain snake_case)",
        "stg_raw__customers.customer_id: kept the usual name ('customer' is a key and must end in _id)",
        "stg_raw__customers.is_active: kept the usual name ('active' is a flag and must start with is_ or has_)",  # noqa: E501
    ]
    yaml = result.files["models/staging/raw/_raw__models.yml"]
    assert "description: One row per customer who ever ordered." in yaml and "name: given_name" in yaml
    assert "description: The contact_email." in yaml
    doc = next(d for d in result.docs if d.name == "stg_raw__customers")
    key = next(c for c in doc.columns if c.name == "customer_id")
    assert [t.kind for t in key.tests] == ["unique", "not_null"]
    assert result.sources == {"stg_raw__customers": "llm", "stg_raw__orders": "llm"}


def test_enrich_staging_failing_check_falls_back_per_model(ctx: services.Context, shop_scan: Scan) -> None:
    """A model whose new names fail the check keeps its deterministic names; the others keep theirs."""

    def rejects_customers(plan: Plan) -> Sequence[ModelCheck]:
        checks = list(passes(plan))
        return [
            ModelCheck(model=c.model, path=c.path, status="error", message="Binder Error: boom", line=3)
            if c.path == CUSTOMERS
            and "given_name" in next(x.content for x in plan.changes if x.path == CUSTOMERS)
            else c
            for c in checks
        ]

    answer = staging_answer({"FirstName": "given_name"})
    result = enrich_staging(ctx, shop_scan, MOCK, check=rejects_customers, provider=MockProvider([answer]))
    assert result.sources["stg_raw__customers"] == "fallback"
    assert '"FirstName" as first_name' in result.files[CUSTOMERS]
    assert any("fail the dbt check (Binder Error: boom); kept the usual names" in m for m in result.messages)


def test_enrich_staging_unknown_column_is_retried_over_anthropic(
    fake: FakeProvider, anthropic_config: LlmConfig, ctx: services.Context, shop_scan: Scan
) -> None:
    """An answer naming a column the table lacks goes back to the LLM (through the real Anthropic SDK)."""
    wrong = staging_answer({"first_name": "given_name"})
    fake.script = [
        anthropic_answer(wrong, name="staging_names"),
        anthropic_answer(staging_answer({"FirstName": "given_name"}), name="staging_names"),
    ]
    result = enrich_staging(ctx, shop_scan, anthropic_config, check=passes, tables=[("raw", "customers")])
    assert '"FirstName" as given_name' in result.files[CUSTOMERS]
    assert "models/staging/raw/stg_raw__orders.sql" not in result.files
    correction = fake.requests[1].json["messages"][-1]["content"]
    assert "stg_raw__customers has no source_column 'first_name'" in correction
    assert result.usage.requests == 2 and result.messages[-1].startswith(
        "2 LLM requests to claude-sonnet-4-6"
    )


def test_enrich_staging_mock_passes_real_dbt(duckdb_project: Path) -> None:
    """With the mock provider (the deterministic names), enrichment passes dbt on the DuckDB shop."""
    ctx = services.load_context(duckdb_project)
    result = enrich_staging(ctx, services.scan(ctx), MOCK)
    assert set(result.sources.values()) == {"llm"}
    assert "id as customer_id" in result.files[CUSTOMERS]


def test_propose_tests_returns_schema_tests_for_verify(shop_scan: Scan) -> None:
    """Usable ideas become SchemaTests on staging models; unknown targets and duplicates are dropped."""
    ideas = {
        "tests": [
            idea(
                "stg_raw__orders", "status", "accepted_values", values=["placed", "shipped"], reason="states"
            ),
            idea("stg_raw__orders", "amount", "not_null"),
            idea(
                "stg_raw__orders",
                "customer_id",
                "relationships",
                to="stg_raw__customers",
                field="customer_id",
            ),
            idea("stg_raw__orders", "order_id", "unique"),
            idea("stg_raw__orders", "coupon", "not_null"),
            idea("stg_raw__orders", "status", "relationships", to="stg_raw__statuses", field="status"),
        ]
    }
    result = propose_tests(shop_scan, MOCK, provider=MockProvider([ideas]))
    (doc,) = result.docs
    tests = {c.name: c.tests for c in doc.columns}
    assert doc.name == "stg_raw__orders" and list(tests) == ["status", "amount"]
    assert tests["status"][0] == SchemaTest(
        kind="accepted_values",
        values=("placed", "shipped"),
        evidence="proposed by the LLM: states",
    )
    assert tests["amount"][0].kind == "not_null"
    dropped = [m for m in result.messages if m.startswith("Dropped")]
    assert dropped == [
        "Dropped the proposed not_null test on stg_raw__orders.coupon: no such column",
        "Dropped the proposed relationships test on stg_raw__orders.status: "
        "the parent 'stg_raw__statuses' is not a staging model here",
    ]
    assert {m.name for m in result.staging} == {"stg_raw__customers", "stg_raw__orders"}


def test_propose_tests_relationship_to_any_staged_parent(shop_scan: Scan) -> None:
    """A relationships idea becomes ref() of the parent staging model and its staged column."""
    ideas = {
        "tests": [
            idea(
                "stg_raw__customers",
                "customer_id",
                "relationships",
                to="stg_raw__orders",
                field="customer_id",
            )
        ]
    }
    result = propose_tests(shop_scan, MOCK, tables=[("raw", "customers")], provider=MockProvider([ideas]))
    test = result.docs[0].columns[0].tests[0]
    assert (test.kind, test.to, test.field) == ("relationships", "ref('stg_raw__orders')", "customer_id")


def test_write_docs_drops_invented_columns_and_guards_jinja(ctx: services.Context, shop_scan: Scan) -> None:
    """Descriptions come back as ModelDocs of the named columns only, Jinja-safe."""
    answer = {
        "models": [
            {
                "name": "fct_orders",
                "description": "One row per order, with {{ totals }}.",
                "columns": [
                    {"name": "order_id", "description": "The order."},
                    {"name": "made_up", "description": "Not a column."},
                ],
            }
        ]
    }
    models = [ModelSource(name="fct_orders", sql="select 1 as order_id", columns=("order_id",))]
    result = write_docs(ctx.project, shop_scan, MOCK, models, provider=MockProvider([answer]))
    (doc,) = result.docs
    assert doc.description == "{% raw %}One row per order, with {{ totals }}.{% endraw %}"
    assert [(c.name, c.description) for c in doc.columns] == [("order_id", "The order.")]
    assert result.messages[0] == "fct_orders: dropped a description of made_up, which it does not have"
