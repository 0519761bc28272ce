"""Tests proposed for models not built yet run in the shadow, on the data the models would produce."""

from __future__ import annotations

from pathlib import Path

import pytest

from cartridge_core import services
from cartridge_core.dbt.verify_models import verify_model_tests
from cartridge_core.models import ColumnDoc, ModelDoc, SchemaTest
from cartridge_core.progress import NullProgress

YAML = "models/staging/raw/_raw__models.yml"


def _proposals() -> dict[str, list[ModelDoc]]:
    columns = (
        ColumnDoc(name="order_id", tests=(SchemaTest(kind="unique"), SchemaTest(kind="not_null"))),
        ColumnDoc(name="status", tests=(SchemaTest(kind="accepted_values", values=("placed",)),)),
        ColumnDoc(
            name="customer_id",
            tests=(SchemaTest(kind="relationships", to="ref('stg_raw__customers')", field="customer_id"),),
        ),
    )
    return {YAML: [ModelDoc(name="stg_raw__orders", description="Orders.", columns=columns)]}


@pytest.mark.parametrize("on_failure", ["drop", "warn"])
def test_unbuilt_models_tests_run_and_failures_are_decided(duckdb_project: Path, on_failure: str) -> None:
    """Nothing is built; passing tests keep evidence, the failing accepted_values is dropped or a warning."""
    ctx = services.load_context(duckdb_project, profiles_dir=duckdb_project)
    plan = services.plan_staging(ctx, services.scan(ctx))
    files = {c.path: c.content for c in plan.changes if c.path != YAML}
    decided = verify_model_tests(
        ctx.project,
        ctx.target,
        files,
        _proposals(),
        on_failure=on_failure,
        progress=NullProgress(),  # type: ignore[arg-type]
    )
    (model,) = decided[YAML]
    tests = {c.name: c.tests for c in model.columns}
    assert [t.kind for t in tests["order_id"]] == ["unique", "not_null"]
    assert all(t.evidence == "passed on the data" and t.severity == "error" for t in tests["order_id"])
    assert [t.kind for t in tests["customer_id"]] == ["relationships"]
    if on_failure == "drop":
        assert tests["status"] == ()
    else:
        (warned,) = tests["status"]
        assert warned.severity == "warn" and warned.evidence == "1 other value found"
    assert model.description == "Orders."
    assert not (duckdb_project / "models" / "staging").exists()  # nothing written to the project
