"""Checking models that ref() models nobody built: the shadow inlines them, so nothing is written."""

from __future__ import annotations

import textwrap

import duckdb
import psycopg2
import pytest

from cartridge_core.dbt.check import check_models
from cartridge_core.dbt.shadow import shadow_dir
from cartridge_core.models import DbtProject, WarehouseTarget
from cartridge_core.progress import NullProgress
from cartridge_core.project.changes import plan_changes
from tests.conftest import PG_HOST, PG_PORT, PG_USER
from tests.core.dbt.conftest import GOOD_MODEL, SOURCES_PATH, SOURCES_YML

Shop = tuple[DbtProject, WarehouseTarget]

# Line 13 selects `email`, which the staging model (GOOD_MODEL, never built) stages.
MART = textwrap.dedent(
    """\
    with

    customers as (

        select * from {{ ref('stg_customers') }}

    ),

    final as (

        select
            customer_id,
            email,
            is_active

        from customers

    )

    select * from final
    """
)
LAYERED = (
    "\nmodels:\n  shop:\n    staging:\n      +materialized: view\n    marts:\n      +materialized: table\n"
)


def _plan(project: DbtProject, mart: str):
    files = {
        SOURCES_PATH: SOURCES_YML,
        "models/staging/stg_customers.sql": GOOD_MODEL,
        "models/marts/dim_customers.sql": mart,
    }
    return plan_changes(project.root, files)


def _built_relations(target: WarehouseTarget) -> list[str]:
    """The relations in the target's schema, where dbt would build models."""
    query = f"select table_name from information_schema.tables where table_schema = '{target.schema}'"
    if target.type == "duckdb":
        con = duckdb.connect(str(target.credentials["path"]), read_only=True)
        try:
            return [row[0] for row in con.execute(query).fetchall()]
        finally:
            con.close()
    pg = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=target.database)
    try:
        with pg.cursor() as cur:
            cur.execute(query)
            return [row[0] for row in cur.fetchall()]
    finally:
        pg.close()


@pytest.mark.parametrize("layered", [pytest.param(False, id="plain"), pytest.param(True, id="layer-configs")])
def test_check_refs_mart_over_unbuilt_staging_passes(shop: Shop, layered: bool) -> None:
    """A mart selecting from a staging model that exists nowhere in the warehouse passes the check,
    also when dbt_project.yml materializes the layers; the project file and warehouse stay untouched."""
    project, target = shop
    if layered:
        (project.root / "dbt_project.yml").write_text(project.project_file.read_text() + LAYERED)
    before = project.project_file.read_text()

    checks = check_models(project, target, _plan(project, MART), progress=NullProgress())

    assert sorted((c.model, c.status, c.message) for c in checks) == [
        ("dim_customers", "pass", None),
        ("stg_customers", "pass", None),
    ]
    assert project.project_file.read_text() == before
    assert "+materialized: ephemeral" in (shadow_dir(project) / "dbt_project.yml").read_text()
    assert _built_relations(target) == []


def test_check_refs_mart_wrong_column_fails_on_its_line(shop: Shop) -> None:
    """A mart naming a column its unbuilt staging model lacks fails on the mart's own line 13."""
    project, target = shop
    checks = check_models(
        project,
        target,
        _plan(project, MART.replace("        email,", "        e_mail,")),
        progress=NullProgress(),
    )
    by_model = {c.model: c for c in checks}
    assert by_model["stg_customers"].status == "pass"
    bad = by_model["dim_customers"]
    assert (bad.status, bad.line, bad.path) == ("error", 13, "models/marts/dim_customers.sql")
    assert "e_mail" in (bad.message or "") and "\n" not in (bad.message or "")
