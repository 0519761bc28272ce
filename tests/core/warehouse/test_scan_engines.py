"""The engine choice: by adapter type, drivers loaded only on use, unknown types refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cartridge_core.errors import WarehouseError
from cartridge_core.models import WarehouseTarget
from cartridge_core.progress import NullProgress
from cartridge_core.services import Context, load_context, scan
from cartridge_core.warehouse import scan_warehouse

IMPORT_ENGINES = """
import sys
import cartridge_core.warehouse, cartridge_core.warehouse.postgres, cartridge_core.warehouse.duckdb
print(",".join(sorted({m.split(".")[0] for m in sys.modules} & {"sqlalchemy", "duckdb", "psycopg2"})))
"""


def test_scan_engine_modules_import_no_driver() -> None:
    """Importing the warehouse package and its engines loads neither SQLAlchemy nor a driver."""
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ENGINES], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_scan_unknown_adapter_type_is_an_error(tmp_path: Path) -> None:
    """A target of an adapter without a native scanner is read through dbt, which needs the target's
    dbt project: without one, one line names the target and the profile."""
    target = WarehouseTarget(
        type="snowflake",
        profile_name="shop",
        target_name="prod",
        profiles_file=tmp_path / "profiles.yml",
        schema="analytics",
        database="db",
    )
    with pytest.raises(WarehouseError) as caught:
        scan_warehouse(target, schemas=None, progress=NullProgress())
    assert caught.value.message == (
        f"Cannot read the snowflake target shop.prod in {tmp_path / 'profiles.yml'} through dbt: "
        "the target names no dbt project (load it with load_target)."
    )


@pytest.mark.parametrize(
    "project",
    [
        pytest.param("duckdb_project", id="duckdb"),
        pytest.param("pg_project", id="postgres", marks=pytest.mark.postgres),
    ],
)
def test_scan_through_services_from_a_dbt_profile(request: pytest.FixtureRequest, project: str) -> None:
    """services.scan reads the target the dbt profile names, with the credentials the loader gives."""
    root: Path = request.getfixturevalue(project)
    ctx: Context = load_context(root, profiles_dir=root)
    result = scan(ctx)
    assert result.engine == ctx.target.type
    assert [t.name for t in result.tables_in("raw")] == ["Order Events", "big_orders", "customers", "orders"]
