"""The planning step on real warehouses and real dbt: verified tests, docs, in-place YAML, layer configs."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from cartridge_core import services
from cartridge_core.planning import Options
from cartridge_core.project.yamlio import load_yaml_file
from tests.conftest import run_pg
from tests.core.generation.test_staging import dbt_build

STAGING = "models/staging/raw"
MODELS_YAML = f"{STAGING}/_raw__models.yml"


def _deep(root: Path) -> tuple[services.Context, object]:
    ctx = services.load_context(root, profiles_dir=root)
    return ctx, services.deep_scan(ctx).scan


def _tests_of(root: Path, model: str) -> dict[str, list[object]]:
    data = load_yaml_file(root / MODELS_YAML)
    entry = next(m for m in data["models"] if m["name"] == model)
    return {c["name"]: list(c.get("data_tests", [])) for c in entry["columns"]}


def _test_names(tests: list[object]) -> list[str]:
    return [t if isinstance(t, str) else next(iter(t)) for t in tests]


def test_generated_tests_pass_dbt_build_with_their_evidence(pg_project: Path) -> None:
    """--tests --docs on PostgreSQL: keys tested with evidence, FKs as relationships, dbt build all green."""
    ctx, scan = _deep(pg_project)
    plan = services.plan_generation(ctx, scan, Options(tests=True, docs=True))
    services.apply(ctx, plan)
    customers = _tests_of(pg_project, "stg_raw__customers")
    assert _test_names(customers["customer_id"]) == ["unique", "not_null"]
    unique = customers["customer_id"][0]
    assert unique == {"unique": {"config": {"meta": {"evidence": "primary key"}}}}
    orders = _tests_of(pg_project, "stg_raw__orders")
    assert "relationships" in _test_names(orders["customer_id"])
    statuses = dbt_build(pg_project)
    tests = {k: v for k, v in statuses.items() if k.startswith("test.")}
    assert len(tests) >= 6 and set(tests.values()) == {"pass"}, statuses
    data = load_yaml_file(pg_project / MODELS_YAML)
    described = {(m["name"], c["name"]): c.get("description") for m in data["models"] for c in m["columns"]}
    assert described["stg_raw__customers", "customer_id"] == "Primary key of customers."
    assert described["stg_raw__orders", "customer_id"] == "Foreign key to customers."
    assert described["stg_raw__customers", "email"] == "Contact e-mail address."  # the warehouse comment


@pytest.mark.parametrize(
    ("on_failure", "expected"),
    [("drop", None), ("warn", {"severity": "warn", "meta": {"evidence": "1 duplicated value found"}})],
)
def test_a_test_failing_on_the_data_is_dropped_or_a_warning(
    pg_project: Path, pg_database: str, on_failure: str, expected: dict[str, object] | None
) -> None:
    """The data changed after the scan: the unique key the profile found now fails and is not an error."""
    run_pg(
        pg_database,
        [
            "create table raw.refunds (id integer not null, order_id integer, amount numeric(10, 2))",
            "insert into raw.refunds select i, 10, 1.00 from generate_series(1, 20) i",
        ],
    )
    ctx, scan = _deep(pg_project)
    run_pg(pg_database, ["insert into raw.refunds values (3, 11, 2.00)"])
    plan = services.plan_generation(ctx, scan, Options(tests=True, on_failure=on_failure))  # type: ignore[arg-type]
    services.apply(ctx, plan)
    data = load_yaml_file(pg_project / MODELS_YAML)
    entry = next(m for m in data["models"] if m["name"] == "stg_raw__refunds")
    id_tests = next(c.get("data_tests", []) for c in entry["columns"] if c["name"] == "refund_id")
    if expected is None:
        assert _test_names(id_tests) == ["not_null"]
    else:
        assert id_tests[0] == {"unique": {"config": expected}}
    statuses = dbt_build(pg_project)  # a warning is not a failure: the build passes
    assert "fail" not in statuses.values() and "error" not in statuses.values(), statuses


def test_models_yaml_is_merged_keeping_a_person_s_edits(duckdb_project: Path) -> None:
    """Tests added to a models YAML a person edited: their comment and description stay byte for byte."""
    ctx = services.load_context(duckdb_project, profiles_dir=duckdb_project)
    services.apply(ctx, services.plan_staging(ctx, services.scan(ctx)))
    path = duckdb_project / MODELS_YAML
    text = path.read_text()
    edited = text.replace(
        "  - name: stg_raw__orders\n",
        "  # Orders as the shop records them.\n  - name: stg_raw__orders\n",
    ).replace("      - name: status\n", '      - name: status\n        description: ""\n')
    assert edited != text
    path.write_text(edited)
    ctx, scan = _deep(duckdb_project)
    plan = services.plan_generation(ctx, scan, Options(tests=True, docs=True))
    kinds = {c.path: c.kind for c in plan.changes}
    assert kinds[MODELS_YAML] == "replace"  # merged: additions only
    assert kinds[f"{STAGING}/stg_raw__orders.sql"] == "unchanged"
    services.apply(ctx, plan)
    merged = path.read_text()
    assert "  # Orders as the shop records them.\n  - name: stg_raw__orders\n" in merged
    assert '      - name: status\n        description: ""\n' in merged  # an empty description is kept
    assert _test_names(_tests_of(duckdb_project, "stg_raw__orders")["order_id"]) == ["unique", "not_null"]


def test_plan_model_yaml_touches_only_the_named_model(duckdb_project: Path) -> None:
    """Tests for one staging model: one change, to its models YAML; other models' entries unchanged."""
    ctx = services.load_context(duckdb_project, profiles_dir=duckdb_project)
    services.apply(ctx, services.plan_staging(ctx, services.scan(ctx)))
    before = load_yaml_file(duckdb_project / MODELS_YAML)
    ctx, scan = _deep(duckdb_project)
    plan = services.plan_model_yaml(ctx, scan, ["stg_raw__orders"], Options(tests=True))
    assert [(c.path, c.kind) for c in plan.changes] == [(MODELS_YAML, "replace")]
    services.apply(ctx, plan)
    after = load_yaml_file(duckdb_project / MODELS_YAML)
    unchanged = [m for m in before["models"] if m["name"] != "stg_raw__orders"]
    assert [m for m in after["models"] if m["name"] != "stg_raw__orders"] == unchanged
    assert _test_names(_tests_of(duckdb_project, "stg_raw__orders")["order_id"]) == ["unique", "not_null"]


def test_plan_model_yaml_unknown_model_is_one_line(duckdb_project: Path) -> None:
    ctx, scan = _deep(duckdb_project)
    with pytest.raises(Exception, match="stg_raw__nope is not a staging model"):
        services.plan_model_yaml(ctx, scan, ["stg_raw__nope"], Options(tests=True))


def test_marts_set_layer_materializations_keeping_the_project_file(duckdb_project: Path) -> None:
    """Generating marts adds per-layer materializations to dbt_project.yml; the user's lines stay first."""
    with duckdb.connect(str(duckdb_project / "shop.duckdb")) as con:  # enough rows for roles
        con.execute(
            "insert into raw.orders select 100 + i, 1 + i % 2, 'placed', i, now() from range(40) t(i)"
        )
    original = (duckdb_project / "dbt_project.yml").read_text()
    ctx, scan = _deep(duckdb_project)
    plan = services.plan_generation(ctx, scan, Options(layers=("staging", "intermediate", "marts")))
    change = next(c for c in plan.changes if c.path == "dbt_project.yml")
    assert change.kind == "replace" and change.content.startswith(original)
    assert "staging:\n      +materialized: view" in change.content
    assert "marts:\n      +materialized: table" in change.content
    assert not any(c.kind == "conflict" for c in plan.changes)


def test_a_merged_file_stays_a_person_s_on_later_runs(duckdb_project: Path) -> None:
    """After Cartridge adds to a person's models YAML, a later run merges again: it never takes the
    file for its own and regenerates it over their comment."""
    ctx = services.load_context(duckdb_project, profiles_dir=duckdb_project)
    services.apply(ctx, services.plan_staging(ctx, services.scan(ctx)))
    path = duckdb_project / MODELS_YAML
    path.write_text("# kept by hand\n" + path.read_text())
    ctx, scan = _deep(duckdb_project)
    services.apply(ctx, services.plan_generation(ctx, scan, Options(docs=True)))
    assert path.read_text().startswith("# kept by hand\n")
    plan = services.plan_generation(ctx, scan, Options(tests=True, docs=True))
    change = next(c for c in plan.changes if c.path == MODELS_YAML)
    assert change.merged and change.content.startswith("# kept by hand\n")


def test_a_person_s_sources_file_gains_the_new_table_and_the_model_passes(duckdb_project: Path) -> None:
    """Freshness a person added stays; a table new in the warehouse is declared so its model checks."""
    ctx = services.load_context(duckdb_project, profiles_dir=duckdb_project)
    services.apply(ctx, services.plan_staging(ctx, services.scan(ctx)))
    sources = duckdb_project / STAGING / "_raw__sources.yml"
    edited = sources.read_text().replace(
        "    schema: raw\n", "    schema: raw\n    loaded_at_field: created  # set by the data team\n"
    )
    sources.write_text(edited)
    with duckdb.connect(str(duckdb_project / "shop.duckdb")) as con:
        con.execute("create table raw.refunds (id integer primary key, amount decimal(10, 2))")
    plan = services.plan_staging(ctx, services.scan(ctx))
    change = next(c for c in plan.changes if c.path == f"{STAGING}/_raw__sources.yml")
    assert change.kind == "replace" and change.merged
    assert change.content.startswith(edited) and "      - name: refunds\n" in change.content
    assert [c.status for c in services.check(ctx, plan)] == ["pass"] * 5


def test_tests_run_while_marts_on_disk_ref_staging_still_to_come(duckdb_project: Path) -> None:
    """Marts are there, their staging models were deleted: the proposals run over the planned staging."""
    import shutil

    with duckdb.connect(str(duckdb_project / "shop.duckdb")) as con:
        con.execute(
            "insert into raw.orders select 100 + i, 1 + i % 2, 'placed', i, now() from range(40) t(i)"
        )
    ctx, scan = _deep(duckdb_project)
    services.apply(
        ctx, services.plan_generation(ctx, scan, Options(layers=("staging", "intermediate", "marts")))
    )
    assert list((duckdb_project / "models" / "marts").rglob("*.sql"))
    shutil.rmtree(duckdb_project / STAGING)
    plan = services.plan_generation(ctx, scan, Options(tests=True))
    yaml = next(c.content for c in plan.changes if c.path == MODELS_YAML)
    assert "unique" in yaml and "not_null" in yaml
