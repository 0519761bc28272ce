"""The headless `cartridge-lsp --generate` command: what it prints, writes and exits with."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

STAGING = Path("models/staging/raw")


def cartridge(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None):
    """Run the real console entry point in a subprocess, as CI does."""
    return subprocess.run(
        [sys.executable, "-m", "cartridge_lsp", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_generate_duckdb_writes_checked_staging(duckdb_project: Path) -> None:
    """--generate writes staging models, sources and models YAML, and exits 0 when all pass."""
    result = cartridge("--generate", "--project-dir", str(duckdb_project))
    assert result.returncode == 0, result.stdout + result.stderr
    sql = (duckdb_project / STAGING / "stg_raw__customers.sql").read_text()
    assert "source('raw', 'customers')" in sql
    assert (duckdb_project / STAGING / "_raw__sources.yml").exists()
    assert (duckdb_project / STAGING / "_raw__models.yml").exists()
    assert "created   models/staging/raw/stg_raw__orders.sql" in result.stdout
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("Cartridge: ") and " 0 failed" in summary


def test_generate_second_run_is_unchanged(duckdb_project: Path) -> None:
    """A second run finds every file identical and writes nothing new."""
    assert cartridge("--generate", "--project-dir", str(duckdb_project)).returncode == 0
    result = cartridge("--generate", "--project-dir", str(duckdb_project))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 created" in result.stdout and "created " not in result.stdout.split("Cartridge:")[0]


def test_generate_dry_run_writes_nothing(duckdb_project: Path) -> None:
    """--dry-run prints the plan and leaves the project untouched (not even target/)."""
    before = sorted(p.relative_to(duckdb_project) for p in duckdb_project.rglob("*"))
    result = cartridge("--generate", "--dry-run", "--project-dir", str(duckdb_project))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "would create  models/staging/raw/stg_raw__customers.sql" in result.stdout
    after = sorted(p.relative_to(duckdb_project) for p in duckdb_project.rglob("*"))
    assert after == before


def test_generate_never_overwrites_edited_file(duckdb_project: Path) -> None:
    """A file a person changed is reported and skipped; --replace overwrites it."""
    assert cartridge("--generate", "--project-dir", str(duckdb_project)).returncode == 0
    edited = duckdb_project / STAGING / "stg_raw__orders.sql"
    edited.write_text("-- my own version\nselect 1 as id\n")
    result = cartridge("--generate", "--project-dir", str(duckdb_project))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "skipped   models/staging/raw/stg_raw__orders.sql" in result.stdout
    assert edited.read_text() == "-- my own version\nselect 1 as id\n"
    replaced = cartridge("--generate", "--replace", "--project-dir", str(duckdb_project))
    assert "replaced  models/staging/raw/stg_raw__orders.sql" in replaced.stdout
    assert "source('raw', 'orders')" in edited.read_text()


def test_generate_failing_model_exits_1(duckdb_project: Path) -> None:
    """A source the warehouse cannot select from (a view over a dropped column) fails the check: exit 1."""
    con = duckdb.connect(str(duckdb_project / "shop.duckdb"))
    try:
        con.execute("create table raw.parts (part_id integer, label varchar)")
        con.execute("create view raw.part_labels as select part_id, label from raw.parts")
        con.execute("alter table raw.parts drop column label")
    finally:
        con.close()
    result = cartridge("--generate", "--project-dir", str(duckdb_project))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "failed    models/staging/raw/stg_raw__part_labels.sql" in result.stdout
    assert " 1 failed" in result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        pytest.param("project", "dbt_project.yml", id="bad-project-yaml"),
        pytest.param("target", "nope", id="unknown-target"),
        pytest.param("duckdb-path", "missing.duckdb", id="missing-duckdb-file"),
    ],
)
def test_generate_config_error_exits_2(duckdb_project: Path, breakage: str, expected: str) -> None:
    """A broken project or profile gives one 'Cartridge:' line naming the culprit, and exit 2."""
    args = ["--generate", "--project-dir", str(duckdb_project)]
    if breakage == "project":
        (duckdb_project / "dbt_project.yml").write_text("name: [unclosed\n")
    elif breakage == "target":
        args += ["--target", "nope"]
    else:
        profiles = duckdb_project / "profiles.yml"
        text = profiles.read_text()
        profiles.write_text(text.replace(str(duckdb_project / "shop.duckdb"), "missing.duckdb"))
    result = cartridge(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Cartridge: ") and expected in lines[0]
    assert result.stdout == ""


@pytest.mark.postgres
def test_generate_postgres_end_to_end(pg_project: Path) -> None:
    """On real PostgreSQL, generated staging passes dbt's check and exits 0."""
    result = cartridge("--generate", "--project-dir", str(pg_project), "--schema", "raw")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (pg_project / STAGING / "stg_raw__order_events.sql").exists()


@pytest.mark.postgres
def test_generate_postgres_unreachable_exits_2(pg_project: Path) -> None:
    """A refused connection is one line naming the host and port, exit 2, no password."""
    profiles = pg_project / "profiles.yml"
    profiles.write_text(profiles.read_text().replace("port: 5432", "port: 1"))
    env = {**os.environ, "CARTRIDGE_TEST_PG_PASSWORD": "s3cret-Pa55"}
    result = cartridge("--generate", "--project-dir", str(pg_project), env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "127.0.0.1" in result.stderr and ":1" in result.stderr
    assert "s3cret-Pa55" not in result.stdout + result.stderr


def test_generate_layers_builds_marts_on_the_example(tmp_path: Path) -> None:
    """--layers staging,intermediate,marts --tests --docs on the example: every model passes the check,
    every test was run before it was written, and dbt build passes with no failure and no warning."""
    root = tmp_path / "shop"
    example = Path(__file__).resolve().parents[2] / "examples" / "shop"
    shutil.copytree(example, root, ignore=shutil.ignore_patterns("*.duckdb*", "target", "logs", ".cartridge"))
    for layer in ("staging", "intermediate", "marts"):  # what `make demo` may have left in the example
        shutil.rmtree(root / "models" / layer, ignore_errors=True)
    made = subprocess.run(
        [sys.executable, str(root / "make_data.py"), "--output", str(root / "shop.duckdb")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    result = cartridge(
        "--generate",
        "--layers",
        "staging,intermediate,marts",
        "--tests",
        "--docs",
        "--project-dir",
        str(root),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "proposed tests pass on the data" in result.stderr
    assert "dbt_project.yml" not in result.stdout  # its layer materializations are there already
    for model in ("dim_customers", "dim_products", "fct_orders", "fct_order_lines"):
        assert (root / "models" / "marts" / "raw" / f"{model}.sql").is_file(), model
    marts_sql = "".join(p.read_text() for p in (root / "models" / "marts").rglob("*.sql"))
    assert "source(" not in marts_sql and "ref('stg_raw__" in marts_sql
    build = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "--profiles-dir", str(root)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout[-3000:]
    assert "ERROR=0" in build.stdout and "WARN=0" in build.stdout
    assert int(build.stdout.split("PASS=")[1].split()[0]) > 50  # models and their tests


def test_generate_unknown_layer_exits_2(duckdb_project: Path) -> None:
    """An unknown --layers value is one line naming the option, exit 2."""
    result = cartridge("--generate", "--layers", "staging,gold", "--project-dir", str(duckdb_project))
    assert result.returncode == 2
    assert "--layers" in result.stderr and "gold" in result.stderr
