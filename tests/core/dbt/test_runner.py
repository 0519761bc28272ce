"""The dbt runners: the same results in the process and from the CLI, and nothing on stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cartridge_core.dbt.runner import (
    CliRunner,
    DbtInvocation,
    InProcessRunner,
    default_runner,
    find_dbt_executable,
)
from tests.core.dbt.conftest import GOOD_MODEL, SOURCES_YML, UNKNOWN_COLUMN_MODEL

# Runs the in-process runner in a fresh interpreter, on commands that print by default:
# `show` prints a table, `ls` the nodes, every command "Registered adapter", and one fails.
IN_PROCESS_SCRIPT = """
import json, sys
from pathlib import Path
from cartridge_core.dbt.runner import InProcessRunner

root = Path(sys.argv[1])
flags = ["--profiles-dir", str(root), "--target-path", str(root / "target" / "t"),
         "--log-path", str(root / "target" / "l")]
runner = InProcessRunner()
seen = {}
for args in (["show", "--limit", "3", "--select", "stg_customers"], ["ls"],
             ["show", "--limit", "0", "--select", "stg_customers", "stg_orders"]):
    invocation = runner.invoke([*args, *flags], cwd=root)
    seen.update({n.name: n.status for n in invocation.nodes})
print(json.dumps(seen), file=sys.stderr)
"""


def _write_models(root: Path, models: dict[str, str]) -> None:
    (root / "models/_sources.yml").write_text(SOURCES_YML)
    for name, sql in models.items():
        (root / f"models/{name}.sql").write_text(sql)


def _statuses(invocation: DbtInvocation) -> dict[str, str]:
    return {n.name: n.status for n in invocation.nodes}


def _show(root: Path, *models: str) -> list[str]:
    return [
        "show", "--limit", "0", "--select", *models, "--profiles-dir", str(root),
        "--target-path", str(root / "target/t"), "--log-path", str(root / "target/l"),
    ]  # fmt: skip


def test_runner_in_process_keeps_stdout_empty(duckdb_project: Path) -> None:
    """The in-process runner writes not one byte to the process's stdout, even for printing commands."""
    _write_models(duckdb_project, {"stg_customers": GOOD_MODEL, "stg_orders": UNKNOWN_COLUMN_MODEL})
    done = subprocess.run(
        [sys.executable, "-c", IN_PROCESS_SCRIPT, str(duckdb_project)],
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b""
    last = done.stderr.decode().strip().splitlines()[-1]
    assert json.loads(last) == {"stg_customers": "success", "stg_orders": "error"}
    assert (duckdb_project / "target/l/dbt.log").is_file()


def test_runner_cli_matches_in_process(duckdb_project: Path) -> None:
    """The CLI runner reports the same statuses and errors as the in-process runner."""
    _write_models(duckdb_project, {"stg_customers": GOOD_MODEL, "stg_orders": UNKNOWN_COLUMN_MODEL})
    executable = find_dbt_executable()
    assert executable is not None
    cwd = os.getcwd()
    runners = {"in-process": default_runner(), "cli": CliRunner(executable)}
    results = {
        name: runner.invoke(_show(duckdb_project, "stg_customers", "stg_orders"), cwd=duckdb_project)
        for name, runner in runners.items()
    }
    assert os.getcwd() == cwd
    for invocation in results.values():
        assert _statuses(invocation) == {"stg_customers": "success", "stg_orders": "error"}
        assert not invocation.success and invocation.error and "\n" not in invocation.error
    bad = [invocation.node("model.shop.stg_orders") for invocation in results.values()]
    assert bad[0] is not None and bad[1] is not None
    assert bad[0].message == bad[1].message
    assert "LINE 10:" in (bad[0].message or "")
    assert bad[0].original_file_path == bad[1].original_file_path == "models/stg_orders.sql"


def test_runner_cli_whole_run_failure(duckdb_project: Path) -> None:
    """A run that fails as a whole (a missing source) gives the same one-line error from both runners."""
    _write_models(duckdb_project, {"stg_x": "select id from {{ source('raw', 'no_such_table') }}\n"})
    executable = find_dbt_executable()
    assert executable is not None
    errors = []
    for runner in (default_runner(), CliRunner(executable)):
        invocation = runner.invoke(_show(duckdb_project, "stg_x"), cwd=duckdb_project)
        assert (invocation.success, invocation.nodes) == (False, ())
        errors.append(invocation.error)
    assert errors[0] == errors[1]
    assert "models/stg_x.sql" in (errors[0] or "") and "raw.no_such_table" in (errors[0] or "")


def test_runner_cli_missing_executable(tmp_path: Path) -> None:
    """A dbt executable that does not exist is a DbtError naming it."""
    from cartridge_core.errors import DbtError

    with pytest.raises(DbtError, match="no-such-dbt"):
        CliRunner(tmp_path / "no-such-dbt").invoke(["--version"], cwd=tmp_path)


def test_default_runner_is_one_in_process_runner() -> None:
    """With dbt-core 1.x installed, the default runner is one process-wide in-process runner."""
    assert isinstance(default_runner(), InProcessRunner)
    assert default_runner() is default_runner()
