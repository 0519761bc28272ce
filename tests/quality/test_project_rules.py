"""The dbt-project-evaluator rules checker flags what it should on a small hand-written manifest."""

from __future__ import annotations

from typing import Any

import pytest

from tests.quality.project_rules import Violation, check_project

PROJECT = "acme"


def _source(table: str, source: str = "crm") -> tuple[str, dict[str, Any]]:
    uid = f"source.{PROJECT}.{source}.{table}"
    return uid, {"resource_type": "source", "package_name": PROJECT, "source_name": source, "name": table}


def _model(name: str, path: str, parents: list[str], description: str = "Described.") -> tuple[str, dict]:
    uid = f"model.{PROJECT}.{name}"
    node = {
        "resource_type": "model",
        "package_name": PROJECT,
        "name": name,
        "original_file_path": f"models/{path}/{name}.sql",
        "description": description,
        "depends_on": {"nodes": parents},
        "config": {"enabled": True},
        "columns": {},
    }
    return uid, node


def _test(kind: str, model_uid: str, column: str) -> tuple[str, dict[str, Any]]:
    name = f"{kind}_{model_uid.rsplit('.', 1)[-1]}_{column}"
    node = {
        "resource_type": "test",
        "package_name": PROJECT,
        "name": name,
        "attached_node": model_uid,
        "column_name": column,
        "test_metadata": {"name": kind, "kwargs": {"column_name": column}},
        "depends_on": {"nodes": [model_uid]},
    }
    return f"test.{PROJECT}.{name}", node


def _pk_tests(*model_uids: str) -> list[tuple[str, dict[str, Any]]]:
    return [_test(kind, uid, "id") for uid in model_uids for kind in ("unique", "not_null")]


def _manifest(*entries: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    sources = {uid: node for uid, node in entries if node["resource_type"] == "source"}
    nodes = {uid: node for uid, node in entries if node["resource_type"] != "source"}
    return {"metadata": {"project_name": PROJECT}, "nodes": nodes, "sources": sources}


ORDERS_SRC, ORDERS_SOURCE = _source("orders")
CUSTOMERS_SRC, CUSTOMERS_SOURCE = _source("customers")
STG_ORDERS, STG_ORDERS_NODE = _model("stg_crm__orders", "staging/crm", [ORDERS_SRC])
STG_CUSTOMERS, STG_CUSTOMERS_NODE = _model("stg_crm__customers", "staging/crm", [CUSTOMERS_SRC])
FCT_ORDERS, FCT_ORDERS_NODE = _model("fct_orders", "marts/sales", [STG_ORDERS, STG_CUSTOMERS])
GOOD = [
    (ORDERS_SRC, ORDERS_SOURCE),
    (CUSTOMERS_SRC, CUSTOMERS_SOURCE),
    (STG_ORDERS, STG_ORDERS_NODE),
    (STG_CUSTOMERS, STG_CUSTOMERS_NODE),
    (FCT_ORDERS, FCT_ORDERS_NODE),
    *_pk_tests(STG_ORDERS, STG_CUSTOMERS, FCT_ORDERS),
]


def test_rules_pass_a_clean_project() -> None:
    """Staging over one source each, a mart over staging, all tested and described: no violation."""
    assert check_project(_manifest(*GOOD)) == []


def _bad(name: str, path: str, parents: list[str], **kw: str) -> dict[str, Any]:
    uid, node = _model(name, path, parents, **kw)
    return _manifest(*GOOD, (uid, node), *_pk_tests(uid))


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        pytest.param(
            _bad("orders_enriched", "marts/sales", [STG_ORDERS]),
            [("model_naming_conventions", "orders_enriched")],
            id="marts-model-without-prefix",
        ),
        pytest.param(
            _bad("dim_orders", "intermediate/sales", [STG_ORDERS]),
            [("model_directories", "dim_orders")],
            id="mart-in-intermediate-folder",
        ),
        pytest.param(
            _bad("fct_payments", "sales", [STG_ORDERS]),
            [("model_directories", "fct_payments")],
            id="mart-under-no-layer-folder",
        ),
        pytest.param(
            _bad("stg_crm__orders_v2", "staging/erp", [ORDERS_SRC]),
            [("model_directories", "stg_crm__orders_v2"), ("source_fanout", "crm.orders")],
            id="staging-outside-its-source-folder",
        ),
        pytest.param(
            _bad("fct_order_items", "marts/sales", [ORDERS_SRC]),
            [
                ("marts_or_intermediate_dependent_on_source", "fct_order_items"),
                ("source_fanout", "crm.orders"),
            ],
            id="mart-reads-a-source",
        ),
        pytest.param(
            _bad("int_orders__joined", "intermediate/sales", [STG_ORDERS, CUSTOMERS_SRC]),
            [
                ("direct_join_to_source", "int_orders__joined"),
                ("marts_or_intermediate_dependent_on_source", "int_orders__joined"),
                ("source_fanout", "crm.customers"),
            ],
            id="direct-join-to-source",
        ),
        pytest.param(
            _bad("stg_crm__order_customers", "staging/crm", [ORDERS_SRC, CUSTOMERS_SRC]),
            [
                ("multiple_sources_joined", "stg_crm__order_customers"),
                ("source_fanout", "crm.customers"),
                ("source_fanout", "crm.orders"),
            ],
            id="staging-joins-two-sources",
        ),
        pytest.param(
            _bad("stg_crm__big_orders", "staging/crm", [STG_ORDERS]),
            [("staging_dependent_on_staging", "stg_crm__big_orders")],
            id="staging-on-staging",
        ),
        pytest.param(
            _bad("stg_crm__order_facts", "staging/crm", [FCT_ORDERS]),
            [("staging_dependent_on_marts_or_intermediate", "stg_crm__order_facts")],
            id="staging-on-marts",
        ),
        pytest.param(
            _bad("dim_calendar", "marts/sales", []),
            [("root_models", "dim_calendar")],
            id="root-model",
        ),
        pytest.param(
            _bad("dim_customers", "marts/sales", [STG_CUSTOMERS], description="  "),
            [("undocumented_models", "dim_customers")],
            id="undocumented-model",
        ),
        pytest.param(
            _manifest(*GOOD, _source("refunds")),
            [("unused_sources", "crm.refunds")],
            id="unused-source",
        ),
    ],
)
def test_rules_flag_violations(manifest: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    """Each default rule flags its violation, naming the model or source, and nothing else."""
    found = check_project(manifest)
    assert [(v.rule, v.model) for v in found] == expected
    assert all(v.detail for v in found)


@pytest.mark.parametrize(
    ("kinds", "constraint", "flagged"),
    [
        pytest.param(("unique", "not_null"), False, False, id="unique-and-not-null"),
        pytest.param(("unique_combination_of_columns",), False, False, id="dbt-utils-combination"),
        pytest.param(("unique",), True, False, id="unique-and-not-null-constraint"),
        pytest.param(("unique",), False, True, id="unique-alone"),
        pytest.param(("not_null", "relationships"), False, True, id="no-unique"),
    ],
)
def test_rules_primary_key_tests(kinds: tuple[str, ...], constraint: bool, flagged: bool) -> None:
    """unique + not_null on one column (a not_null constraint counts), or dbt_utils' combination test."""
    uid, node = _model("dim_regions", "marts/geo", [STG_CUSTOMERS])
    if constraint:
        node["columns"] = {"id": {"name": "id", "constraints": [{"type": "not_null"}]}}
    manifest = _manifest(*GOOD, (uid, node), *(_test(kind, uid, "id") for kind in kinds))
    expected = [
        Violation("missing_primary_key_tests", "dim_regions", "no unique + not_null test on one column")
    ]
    assert check_project(manifest) == (expected if flagged else [])


def test_rules_split_tests_do_not_make_a_key() -> None:
    """unique on one column and not_null on another is no primary key test."""
    uid, node = _model("dim_regions", "marts/geo", [STG_CUSTOMERS])
    manifest = _manifest(*GOOD, (uid, node), _test("unique", uid, "code"), _test("not_null", uid, "id"))
    assert [v.rule for v in check_project(manifest)] == ["missing_primary_key_tests"]


def test_rules_ignore_other_packages_and_disabled_models() -> None:
    """Models of installed packages, and disabled models, are not the project's to fix."""
    uid, node = _model("some_package_model", "anything", [ORDERS_SRC])
    disabled_uid, disabled = _model("orders_old", "legacy", [])
    disabled["config"] = {"enabled": False}
    manifest = _manifest(*GOOD, (uid, {**node, "package_name": "other"}), (disabled_uid, disabled))
    assert check_project(manifest) == []


@pytest.mark.parametrize(
    ("not_null_on", "flagged"),
    [
        pytest.param(("product_id", "tag_id"), False, id="row-value-with-not-nulls"),
        pytest.param(("product_id",), True, id="row-value-one-column-nullable"),
    ],
)
def test_rules_composite_key_as_row_value(not_null_on: tuple[str, ...], flagged: bool) -> None:
    """`unique` on "(a, b)" (a model-level test, its column only in kwargs) with not_null on each part."""
    uid, node = _model("dim_product_tags_bridge", "marts/catalog", [STG_CUSTOMERS])
    test_uid, unique = _test("unique", uid, "(product_id, tag_id)")
    unique["column_name"] = None
    tests = [(test_uid, unique), *(_test("not_null", uid, column) for column in not_null_on)]
    found = [v.rule for v in check_project(_manifest(*GOOD, (uid, node), *tests))]
    assert found == (["missing_primary_key_tests"] if flagged else [])
