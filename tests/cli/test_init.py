"""`cartridge-lsp --init DIR` (a new project, then generation) and `--archive FILE` (hand-over)."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import duckdb
import pytest

from tests.conftest import PG_HOST, PG_PORT, PG_USER, SHOP_DDL, run_pg

DBT = str(Path(sys.executable).parent / "dbt")


def cartridge(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real console entry point in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "cartridge_lsp", *args], env=env, capture_output=True, text=True, timeout=300
    )


def dbt(root: Path, *command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """dbt in the project, finding its profiles.yml in the working directory as the README says."""
    env = {k: v for k, v in (env or os.environ).items() if k != "DBT_PROFILES_DIR"}
    return subprocess.run([DBT, *command], cwd=root, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """A DuckDB file holding the small shop in schema `raw`, outside any project."""
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    try:
        for statement in SHOP_DDL:
            con.execute(statement)
    finally:
        con.close()
    return path


def test_init_duckdb_then_dbt_build(warehouse: Path, tmp_path: Path) -> None:
    """--init over a DuckDB file: a complete project whose generated models pass dbt deps and build."""
    root = tmp_path / "Shop Analytics"
    result = cartridge("--init", str(root), "--adapter", "duckdb", "--path", str(warehouse))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Cartridge: created the dbt project shop_analytics in ")
    assert "created   models/staging/raw/stg_raw__orders.sql" in result.stdout
    for name in ("dbt_project.yml", "profiles.yml", "packages.yml", ".gitignore", "README.md"):
        assert (root / name).is_file(), name
    assert (root / "macros" / ".gitkeep").is_file() and (root / "analyses" / "explore_raw.sql").is_file()
    assert (root / ".cartridge" / "generated.json").is_file()
    for command in (("deps",), ("build",)):
        built = dbt(root, *command)
        assert built.returncode == 0, built.stdout[-3000:]
    assert "ERROR=0" in built.stdout
    assert cartridge("--check", "--project-dir", str(root)).returncode == 0


def test_init_refuses_non_empty_directory(warehouse: Path, tmp_path: Path) -> None:
    """An existing, non-empty DIR is refused with one line, exit 2, and left as it was."""
    root = tmp_path / "mine"
    root.mkdir()
    (root / "notes.md").write_text("my notes")
    result = cartridge("--init", str(root), "--adapter", "duckdb", "--path", str(warehouse))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "already exists and is not empty" in lines[0] and str(root) in lines[0]
    assert [p.name for p in root.iterdir()] == ["notes.md"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        pytest.param(["--path", "missing.duckdb"], "does not exist", id="missing-duckdb-file"),
        pytest.param([], "--path", id="no-path"),
        pytest.param(["--project-dir", "."], "--project-dir does not apply", id="project-dir"),
    ],
)
def test_init_bad_flags_exit_2_and_create_nothing(tmp_path: Path, flags: list[str], message: str) -> None:
    """A missing setting is one line naming it, exit 2, and nothing is created."""
    result = cartridge("--init", str(tmp_path / "new"), "--adapter", "duckdb", *flags)
    assert result.returncode == 2 and message in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.postgres
def test_init_postgres_then_dbt_build(tmp_path: Path, pg_database: str) -> None:
    """--init over PostgreSQL: profiles.yml holds no password literal, and the project builds."""
    run_pg(pg_database, SHOP_DDL)
    root = tmp_path / "pg_shop"
    secret = "s3cret-Pa55-w0rd"
    base = ["--init", str(root), "--adapter", "postgres", "--host", PG_HOST, "--port", str(PG_PORT)]
    base += ["--user", PG_USER, "--database", pg_database, "--schema", "raw"]
    missing = cartridge(
        *base, env={k: v for k, v in os.environ.items() if not k.startswith("DBT_ENV_SECRET_")}
    )
    assert missing.returncode == 2 and "DBT_ENV_SECRET_PG_SHOP_PASSWORD" in missing.stderr
    assert not root.exists()
    # Trust authentication ignores the password; it must still never be written anywhere.
    env = {**os.environ, "DBT_ENV_SECRET_PG_SHOP_PASSWORD": secret}
    result = cartridge(*base, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert secret not in result.stdout + result.stderr
    profiles = (root / "profiles.yml").read_text()
    assert "env_var('DBT_ENV_SECRET_PG_SHOP_PASSWORD')" in profiles and "env_var('PG_SHOP_USER'" in profiles
    assert all(secret not in p.read_text(errors="replace") for p in root.rglob("*") if p.is_file())
    for command in (("deps",), ("build",)):
        built = dbt(root, *command, env=env)
        assert built.returncode == 0, built.stdout[-3000:]


@pytest.mark.postgres
def test_init_postgres_unreachable_leaves_nothing(tmp_path: Path) -> None:
    """A refused connection is exit 2, one line, and no directory is left behind."""
    root = tmp_path / "pg_shop"
    env = {**os.environ, "DBT_ENV_SECRET_PG_SHOP_PASSWORD": ""}
    args = ["--init", str(root), "--adapter", "postgres", "--host", PG_HOST, "--port", "1"]
    result = cartridge(*args, "--user", PG_USER, "--database", "postgres", env=env)
    assert result.returncode == 2 and ":1" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_archive_hand_over(warehouse: Path, tmp_path: Path) -> None:
    """An initialised project archived, extracted elsewhere, installs its packages and parses."""
    root = tmp_path / "shop"
    assert cartridge("--init", str(root), "--adapter", "duckdb", "--path", str(warehouse)).returncode == 0
    assert dbt(root, "deps").returncode == 0
    file = tmp_path / "handover" / "shop.tar.gz"
    file.parent.mkdir()
    result = cartridge("--archive", str(file), "--project-dir", str(root))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Cartridge: packed ") and str(file) in result.stdout
    with tarfile.open(file) as tar:
        names = tar.getnames()
        tar.extractall(tmp_path / "out", filter="data")
    assert "shop/profiles.yml" in names and "shop/analyses/explore_raw.sql" in names
    assert not any(n.startswith(("shop/target/", "shop/dbt_packages/")) for n in names)
    copy = tmp_path / "out" / "shop"
    for command in (("deps",), ("parse",)):
        parsed = dbt(copy, *command)
        assert parsed.returncode == 0, parsed.stdout[-3000:]


def test_archive_refuses_model_path(duckdb_project: Path) -> None:
    """--archive into a model path is one line and exit 2; nothing is written."""
    file = duckdb_project / "models" / "shop.tar.gz"
    result = cartridge("--archive", str(file), "--project-dir", str(duckdb_project))
    assert result.returncode == 2 and "inside the model path models" in result.stderr
    assert not file.exists()
