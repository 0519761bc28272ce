"""The files of a new project (cartridge_core.project.init) and its creation through services.init_project."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from cartridge_core import services
from cartridge_core.errors import ConfigError, WarehouseError
from cartridge_core.models import Column, DbtProject, Scan, Table
from cartridge_core.project.discovery import read_project
from cartridge_core.project.init import (
    NewConnection,
    check_connection,
    check_new_directory,
    create_project,
    exploration_queries,
    project_name,
    scaffold_files,
    secrets_for,
)
from cartridge_core.project.profiles import load_target
from cartridge_core.project.yamlio import load_yaml_file
from tests.conftest import PG_HOST, PG_PORT, PG_USER, SHOP_DDL, run_pg

DBT = str(Path(sys.executable).parent / "dbt")
PACKAGE = Path("/opt/cartridge/dbt_package")


@pytest.mark.parametrize(
    ("directory", "name"),
    [
        pytest.param("new-shop", "new_shop", id="dashes"),
        pytest.param("SalesMart", "sales_mart", id="camel-case"),
        pytest.param("2024 shop", "project_2024_shop", id="leading-digit"),
        pytest.param("cartridge", "cartridge_project", id="the-package-name"),
    ],
)
def test_init_project_name(directory: str, name: str) -> None:
    """The project name is the directory's in snake_case, made a valid dbt name."""
    assert project_name(Path("/x") / directory) == name


def test_init_project_name_needs_letters() -> None:
    """A directory name with nothing ASCII in it gives one clear error."""
    with pytest.raises(ConfigError, match="project name"):
        project_name(Path("/x/日本"))


def test_init_refuses_non_empty_directory(tmp_path: Path) -> None:
    """A directory with anything in it is refused; an empty or new one is fine."""
    (tmp_path / "empty").mkdir()
    check_new_directory(tmp_path / "empty")
    check_new_directory(tmp_path / "new")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="already exists and is not empty"):
        check_new_directory(tmp_path / "full")
    with pytest.raises(ConfigError, match="does not exist"):
        check_new_directory(tmp_path / "no" / "parent")


def test_init_postgres_profile_reads_secrets_from_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """profiles.yml holds no password: user and password come from env_var(), and dbt's rules read it."""
    connection = NewConnection(adapter="postgres", host="127.0.0.1", port=5433, database="shop")
    files = scaffold_files("shop", connection, PACKAGE)
    profiles = files["profiles.yml"]
    assert "env_var('SHOP_USER')" in profiles
    assert "env_var('DBT_ENV_SECRET_SHOP_PASSWORD')" in profiles
    for relpath, text in files.items():
        (tmp_path / relpath).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relpath).write_text(text)
    monkeypatch.setenv("SHOP_USER", "ann")
    monkeypatch.setenv("DBT_ENV_SECRET_SHOP_PASSWORD", "pa55-w0rd")
    target = load_target(read_project(tmp_path), profiles_dir=tmp_path)
    assert (target.type, target.database, target.schema) == ("postgres", "shop", "analytics")
    assert target.credentials["user"] == "ann" and target.credentials["password"] == "pa55-w0rd"
    assert target.credentials["port"] == 5433
    assert "pa55-w0rd" not in (tmp_path / "profiles.yml").read_text()


def test_init_project_files(tmp_path: Path) -> None:
    """dbt_project.yml sets materializations per layer; packages.yml lists Cartridge's package."""
    files = scaffold_files("shop", NewConnection(adapter="duckdb", path=tmp_path / "w.duckdb"), PACKAGE)
    (tmp_path / "dbt_project.yml").write_text(files["dbt_project.yml"])
    project = load_yaml_file(tmp_path / "dbt_project.yml")
    assert project["name"] == project["profile"] == "shop"
    layers = project["models"]["shop"]
    assert layers["staging"]["+materialized"] == "view"
    assert layers["marts"]["+materialized"] == "table"
    (tmp_path / "packages.yml").write_text(files["packages.yml"])
    assert load_yaml_file(tmp_path / "packages.yml") == {"packages": [{"local": str(PACKAGE)}]}
    assert {"target/", "dbt_packages/", "logs/"} <= set(files[".gitignore"].splitlines())
    assert not any(line.startswith(".cartridge") for line in files[".gitignore"].splitlines())
    assert {"macros/.gitkeep", "analyses/.gitkeep", "README.md"} <= set(files)


def test_init_exploration_query_per_source() -> None:
    """One analysis per scanned schema, counting rows of each table through source()."""
    columns = (Column(name="id", data_type="integer", nullable=False, position=1),)
    scan = Scan(
        engine="duckdb",
        database="w",
        schemas=("raw", "Sales"),
        tables=(
            Table(schema="raw", name="orders", columns=columns),
            Table(schema="raw", name="Order Events", columns=columns),
            Table(schema="Sales", name="deals", columns=columns),
        ),
    )
    files = exploration_queries(scan)
    assert sorted(files) == ["analyses/explore_raw.sql", "analyses/explore_sales.sql"]
    raw = files["analyses/explore_raw.sql"]
    assert (
        "select 'order_events' as table_name, count(*) as row_count from {{ source('raw', 'order_events') }}"
        in raw
    )
    assert raw.count("union all") == 1 and raw.rstrip().endswith("order by table_name")


def test_init_checks_connection_before_writing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Missing settings or credentials variables are refused with the variable's name."""
    monkeypatch.delenv("SHOP_USER", raising=False)
    monkeypatch.delenv("DBT_ENV_SECRET_SHOP_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="--database"):
        check_connection(NewConnection(adapter="postgres"), "shop")
    with pytest.raises(ConfigError, match="SHOP_USER"):
        check_connection(NewConnection(adapter="postgres", database="d"), "shop")
    with pytest.raises(ConfigError, match="DBT_ENV_SECRET_SHOP_PASSWORD"):
        check_connection(NewConnection(adapter="postgres", database="d", user="u"), "shop")
    with pytest.raises(ConfigError, match="does not exist"):
        check_connection(NewConnection(adapter="duckdb", path=tmp_path / "none.duckdb"), "shop")


def test_init_create_project_leaves_nothing_when_it_fails(tmp_path: Path) -> None:
    """When completing the project fails, neither the directory nor its hidden sibling remains."""

    def fail(work: Path) -> dict[str, str]:
        assert (work / "a.txt").read_text() == "a"
        raise WarehouseError("unreachable")

    with pytest.raises(WarehouseError):
        create_project(tmp_path / "new", {"a.txt": "a"}, fail)
    assert list(tmp_path.iterdir()) == []
    create_project(tmp_path / "new", {"a.txt": "a"}, lambda work: {"b/c.txt": "c"})
    assert (tmp_path / "new" / "b" / "c.txt").read_text() == "c"
    assert [p.name for p in tmp_path.iterdir()] == ["new"]
    assert (tmp_path / "new").stat().st_mode & 0o077 == 0o777 & ~_umask() & 0o077


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _shop_duckdb(path: Path) -> Path:
    con = duckdb.connect(str(path))
    try:
        for statement in SHOP_DDL:
            con.execute(statement)
    finally:
        con.close()
    return path


def _dbt(root: Path, *command: str) -> subprocess.CompletedProcess[str]:
    # No --profiles-dir: dbt finds the project's profiles.yml in its working directory, as README.md says.
    env = {k: v for k, v in os.environ.items() if k != "DBT_PROFILES_DIR"}
    return subprocess.run([DBT, *command], cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_init_duckdb_project_builds(tmp_path: Path) -> None:
    """init_project over a DuckDB file: after dbt deps, the analysis compiles and counts each table's rows."""
    database = _shop_duckdb(tmp_path / "warehouse.duckdb")
    ctx = services.init_project(tmp_path / "shop", NewConnection(adapter="duckdb", path=database))
    root = ctx.project.root
    assert isinstance(ctx.project, DbtProject) and ctx.project.name == "shop"
    assert ctx.target.credentials["path"] == str(database)
    assert (root / "analyses" / "explore_raw.sql").is_file()
    services.apply(ctx, services.plan_staging(ctx, services.scan(ctx)))
    for command in (("deps",), ("compile", "--select", "explore_raw")):
        result = _dbt(root, *command)
        assert result.returncode == 0, result.stdout[-3000:]
    compiled = next((root / "target" / "compiled").rglob("explore_raw.sql")).read_text()
    con = duckdb.connect(str(database), read_only=True)
    try:
        counts = dict(con.execute(compiled).fetchall())
    finally:
        con.close()
    assert counts == {"big_orders": 1, "customers": 2, "order_events": 1, "orders": 2}


@pytest.mark.postgres
def test_init_postgres_project(tmp_path: Path, pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """init_project over a PostgreSQL database: the profile connects with the env vars and scans it."""
    run_pg(pg_database, SHOP_DDL)
    name = "pg_shop"
    monkeypatch.setenv(secrets_for(name).password, "")
    connection = NewConnection(
        adapter="postgres", host=PG_HOST, port=PG_PORT, user=PG_USER, database=pg_database
    )
    ctx = services.init_project(tmp_path / name, connection, schemas=["raw"])
    assert ctx.target.database == pg_database and ctx.target.credentials["user"] == PG_USER
    assert "source('raw', 'orders')" in (ctx.project.root / "analyses" / "explore_raw.sql").read_text()
