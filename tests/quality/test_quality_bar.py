"""Issue 4's quality bar: a whole generated project builds clean, is tested and documented, and is laid out
as dbt-project-evaluator's default rules say, on the shipped DuckDB example and on an 18-table PostgreSQL
warehouse.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.quality.conftest import BuiltProject
from tests.quality.project_rules import check_project
from tests.quality.warehouse_ddl import SCHEMA, TABLES, UNDECLARED_FOREIGN_KEYS

PROJECTS = [
    pytest.param("shop_built", id="duckdb-example"),
    pytest.param("saas_built", id="postgres-saas", marks=pytest.mark.postgres),
]
# dbt's statuses of a node that ran clean: a model built, a test passed.
CLEAN = {"success", "pass"}
KEYS_AND_DOCS = {"missing_primary_key_tests", "undocumented_models"}


@pytest.fixture(params=PROJECTS)
def built(request: pytest.FixtureRequest) -> BuiltProject:
    """Each generated and built project in turn (each is built once per module)."""
    return request.getfixturevalue(request.param)


def _tests_by_kind(built: BuiltProject) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for node in built.manifest["nodes"].values():
        kind = (node.get("test_metadata") or {}).get("name")
        if node["resource_type"] == "test" and kind:
            found.setdefault(kind, []).append(node)
    return found


def test_quality_generate_passes_its_own_checks(built: BuiltProject) -> None:
    """The CLI exits 0: every model passed dbt's check and every proposed test passed on the data."""
    assert built.generate_exit == 0, built.generate_output + built.generate_log
    summary = built.generate_output.strip().splitlines()[-1]
    assert " 0 failed" in summary, built.generate_output
    runs = [line for line in built.generate_log.splitlines() if "proposed tests pass" in line]
    assert runs, built.generate_log  # e.g. "Cartridge: 43 of 43 proposed tests pass on the data"
    for line in runs:
        passed, _, proposed = line.removeprefix("Cartridge: ").split()[:3]
        assert passed == proposed, line


def test_quality_dbt_build_is_clean(built: BuiltProject) -> None:
    """`dbt build` of the whole project: zero errors, failures, warnings or skips, and tests did run."""
    assert built.build_exit == 0, built.build_output[-3000:]
    results = built.run_results["results"]
    unclean = [
        f"{r['unique_id']}: {r['status']} {r.get('message')}" for r in results if r["status"] not in CLEAN
    ]
    assert unclean == []
    ran = Counter(r["unique_id"].split(".")[0] for r in results)
    built_models = [n for n in _models(built) if _materialized(built, n) != "ephemeral"]
    assert ran["model"] == len(built_models) > 0 and ran["test"] >= 2 * ran["model"]
    assert all(r.get("failures") in (0, None) for r in results)


def test_quality_every_layer_is_generated(built: BuiltProject) -> None:
    """Staging, intermediate and marts models are all there: the bar is held over the whole project."""
    prefixes = Counter(name.split("_", 1)[0] for name in _models(built))
    assert {"stg", "int", "dim", "fct"} <= set(prefixes), prefixes
    sources = [s for s in built.manifest["sources"].values() if s["package_name"] == built.root.name]
    assert prefixes["stg"] == len(sources) > 0


def test_quality_every_model_has_primary_key_test_and_description(built: BuiltProject) -> None:
    """Each model has unique + not_null on one column and a non-empty description."""
    assert [str(v) for v in check_project(built.manifest) if v.rule in KEYS_AND_DOCS] == []


def test_quality_follows_project_evaluator_rules(built: BuiltProject) -> None:
    """Naming, folders and DAG shape follow dbt-project-evaluator's defaults (see project_rules.py)."""
    assert [str(v) for v in check_project(built.manifest) if v.rule not in KEYS_AND_DOCS] == []


def test_quality_tests_are_of_every_kind(built: BuiltProject) -> None:
    """The written tests go past keys: relationships and accepted_values are among them, all run."""
    kinds = _tests_by_kind(built)
    assert {"unique", "not_null", "relationships", "accepted_values"} <= set(kinds), sorted(kinds)


@pytest.mark.postgres
@pytest.mark.parametrize(("child", "column", "parent", "_parent_column"), UNDECLARED_FOREIGN_KEYS)
def test_quality_inferred_foreign_keys_are_tested(
    saas_built: BuiltProject, child: str, column: str, parent: str, _parent_column: str
) -> None:
    """A foreign key nobody declared is found in the data and tested in staging as `relationships`."""
    tests = _tests_by_kind(saas_built)["relationships"]
    found = {
        (n["attached_node"].rsplit(".", 1)[-1], n["column_name"], n["test_metadata"]["kwargs"]["to"])
        for n in tests
    }
    assert (f"stg_{SCHEMA}__{child}", column, f"ref('stg_{SCHEMA}__{parent}')") in found


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("model", "column", "values"),
    [
        pytest.param("accounts", "status", {"trial", "active", "churned"}, id="check-in-list"),
        pytest.param("invoices", "status", {"draft", "open", "paid", "void"}, id="check-in-list-2"),
        pytest.param("plans", "tier", {"free", "starter", "pro", "enterprise"}, id="enum-type"),
        pytest.param("tickets", "priority", {"low", "normal", "high", "urgent"}, id="enum-type-2"),
    ],
)
def test_quality_declared_values_are_tested(
    saas_built: BuiltProject, model: str, column: str, values: set[str]
) -> None:
    """Enum labels and CHECK ... IN lists become accepted_values tests on the staged column."""
    tests = _tests_by_kind(saas_built)["accepted_values"]
    found = {
        (n["attached_node"].rsplit(".", 1)[-1], n["column_name"]): set(n["test_metadata"]["kwargs"]["values"])
        for n in tests
    }
    assert found.get((f"stg_{SCHEMA}__{model}", column)) == values


@pytest.mark.postgres
def test_quality_saas_warehouse_is_whole(saas_built: BuiltProject) -> None:
    """Every table of the SaaS warehouse is a source with its staging model."""
    staged = {name for name in _models(saas_built) if name.startswith("stg_")}
    assert staged == {f"stg_{SCHEMA}__{table}" for table in TABLES}


def _materialized(built: BuiltProject, model: str) -> str:
    return built.manifest["nodes"][f"model.{built.root.name}.{model}"]["config"]["materialized"]


def _models(built: BuiltProject) -> list[str]:
    return [
        n["name"]
        for n in built.manifest["nodes"].values()
        if n["resource_type"] == "model" and n["package_name"] == built.root.name
    ]


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("model", "column", "description"),
    [
        pytest.param("stg_saas__products", "product_id", "Primary key of products.", id="primary-key"),
        pytest.param("dim_products", "sku", "Unique key of products.", id="unique-key-is-no-primary-key"),
        pytest.param(
            "stg_saas__invoices",
            "subscription_id",
            "Foreign key to subscriptions.",
            id="inferred-foreign-key",
        ),
        pytest.param(
            "dim_accounts",
            "industry",
            "Industry the customer gave at sign-up, if any.",
            id="comment-propagated",
        ),
        pytest.param("fct_shipments", "delivered_at", "When the shipment was delivered.", id="timestamp"),
    ],
)
def test_quality_columns_are_described(
    saas_built: BuiltProject, model: str, column: str, description: str
) -> None:
    """Column descriptions come from comments, keys and names, and follow the column into the marts."""
    node = saas_built.manifest["nodes"][f"model.saas.{model}"]
    assert node["columns"][column]["description"] == description
