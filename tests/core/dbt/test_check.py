"""Checking planned models with real dbt against DuckDB and PostgreSQL, in a shadow copy."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cartridge_core.dbt.check import check_models
from cartridge_core.dbt.runner import CliRunner, default_runner, find_dbt_executable
from cartridge_core.dbt.shadow import shadow_dir, sync_shadow, work_dir
from cartridge_core.errors import Cancelled, DbtError
from cartridge_core.models import DbtProject, WarehouseTarget
from cartridge_core.progress import NullProgress
from cartridge_core.project.changes import Plan, plan_changes
from tests.core.dbt.conftest import (
    GOOD_MODEL,
    SOURCES_PATH,
    SOURCES_YML,
    UNKNOWN_COLUMN_MODEL,
    shop_context,
)

Shop = tuple[DbtProject, WarehouseTarget]


class RecordingProgress(NullProgress):
    """Keeps the messages reported; cancels once `cancel_after` messages were reported."""

    def __init__(self, cancel_after: int | None = None) -> None:
        self.messages: list[str] = []
        self.cancel_after = cancel_after

    def report(self, message: str, percentage: int | None = None) -> None:
        self.messages.append(message)

    def cancelled(self) -> bool:
        return self.cancel_after is not None and len(self.messages) >= self.cancel_after


def _plan(project: DbtProject, models: dict[str, str]) -> Plan:
    files = {SOURCES_PATH: SOURCES_YML}
    files.update({f"models/staging/{name}.sql": sql for name, sql in models.items()})
    return plan_changes(project.root, files)


def _by_model(checks: list) -> dict:
    return {c.model: c for c in checks}


def test_check_models_correct_model_passes(shop: Shop) -> None:
    """A correct staging model passes, and progress says how many models dbt checks."""
    project, target = shop
    progress = RecordingProgress()
    checks = check_models(project, target, _plan(project, {"stg_customers": GOOD_MODEL}), progress=progress)
    assert [(c.model, c.path, c.status, c.message) for c in checks] == [
        ("stg_customers", "models/staging/stg_customers.sql", "pass", None)
    ]
    assert "Checking 1 model with dbt" in progress.messages


def test_check_models_unknown_column_errors_on_its_line(shop: Shop) -> None:
    """A column the table lacks fails on the model's own line 7, where `dbt compile` saw nothing wrong."""
    project, target = shop
    plan = _plan(project, {"stg_orders": UNKNOWN_COLUMN_MODEL, "stg_customers": GOOD_MODEL})
    checks = _by_model(check_models(project, target, plan, progress=NullProgress()))

    assert checks["stg_customers"].status == "pass"
    bad = checks["stg_orders"]
    assert (bad.status, bad.line, bad.path) == ("error", 7, "models/staging/stg_orders.sql")
    assert "shipping_method" in (bad.message or "") and "\n" not in (bad.message or "")
    assert "LINE" not in (bad.message or "") and "stg_orders.sql" not in (bad.message or "")
    compiled = default_runner().invoke(
        [
            "compile",
            "--select",
            "stg_orders",
            "--project-dir",
            str(shadow_dir(project)),
            "--profiles-dir",
            str(target.profiles_dir),
            "--target-path",
            str(work_dir(project) / "target"),
            "--log-path",
            str(work_dir(project) / "logs"),
        ],
        cwd=project.root,
    )
    assert compiled.success, compiled.error


@pytest.mark.parametrize(
    ("sql", "said", "line"),
    [
        pytest.param(
            "select\n    id,\n    {{ no_such_macro('id') }} as x\nfrom {{ source('raw', 'orders') }}\n",
            "no_such_macro",
            3,
            id="undefined-macro",
        ),
        pytest.param(
            "select\n    id\nfrom {{ source('raw', 'no_such_table') }}\n",
            "no_such_table",
            3,
            id="missing-source",
        ),
        pytest.param(
            "select\n    id,\n    {{ id oops }}\nfrom {{ source('raw', 'orders') }}\n",
            "expected token",
            3,
            id="jinja-syntax",
        ),
    ],
)
def test_check_models_jinja_error_names_model(duck: Shop, sql: str, said: str, line: int) -> None:
    """A Jinja error fails the model that has it, on its line, and the other models are still checked."""
    project, target = duck
    plan = _plan(project, {"stg_broken": sql, "stg_customers": GOOD_MODEL})
    checks = _by_model(check_models(project, target, plan, progress=NullProgress()))
    broken = checks["stg_broken"]
    assert (broken.status, broken.path, broken.line) == ("error", "models/staging/stg_broken.sql", line)
    assert said in (broken.message or "")
    assert checks["stg_customers"].status == "pass"


def test_check_models_leaves_project_untouched(duck: Shop) -> None:
    """The plan's files reach only the shadow copy: nothing changes outside the target directory."""
    project, target = duck
    before = _files_outside_target(project)
    plan = _plan(project, {"stg_customers": GOOD_MODEL})
    check_models(project, target, plan, progress=NullProgress())

    assert _files_outside_target(project) == before
    shadow = shadow_dir(project)
    assert shadow.is_relative_to(project.root / project.target_path)
    assert (shadow / "models/staging/stg_customers.sql").read_text() == GOOD_MODEL
    assert (shadow / SOURCES_PATH).read_text() == SOURCES_YML


def _files_outside_target(project: DbtProject) -> dict[str, bytes]:
    target = project.root / project.target_path
    return {
        p.relative_to(project.root).as_posix(): p.read_bytes()
        for p in project.root.rglob("*")
        if p.is_file() and target not in p.parents
    }


def test_check_models_reuses_shadow(duck: Shop) -> None:
    """A second check syncs the existing shadow: unchanged files are not rewritten, removed ones go."""
    project, target = duck
    (project.root / "models/old.sql").write_text("select 1 as one\n")
    plan = _plan(project, {"stg_customers": GOOD_MODEL})
    check_models(project, target, plan, progress=NullProgress())
    shadow_model = shadow_dir(project) / "models/staging/stg_customers.sql"
    first = shadow_model.stat()
    assert (shadow_dir(project) / "models/old.sql").exists()
    assert (work_dir(project) / "target/partial_parse.msgpack").exists()

    (project.root / "models/old.sql").unlink()
    checks = check_models(project, target, plan, progress=NullProgress())

    assert [c.status for c in checks] == ["pass"]
    again = shadow_model.stat()
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    assert not (shadow_dir(project) / "models/old.sql").exists()
    assert sync_shadow(project, plan.overlay()).written == ()


def test_check_models_relative_duckdb_path(duckdb_project: Path) -> None:
    """A DuckDB path relative to the project root resolves there, as when the user runs dbt."""
    profile = (duckdb_project / "profiles.yml").read_text()
    (duckdb_project / "profiles.yml").write_text(
        profile.replace(str(duckdb_project / "shop.duckdb"), "shop.duckdb")
    )
    project, target = shop_context(duckdb_project)
    plan = _plan(project, {"stg_customers": GOOD_MODEL})
    checks = check_models(project, target, plan, progress=NullProgress())
    assert [c.status for c in checks] == ["pass"], checks[0].message


def test_check_models_conflict_keeps_disk_version(duck: Shop) -> None:
    """A conflicting file is not checked and the shadow keeps the version on disk."""
    project, target = duck
    on_disk = project.root / "models/staging/stg_customers.sql"
    on_disk.parent.mkdir(parents=True)
    on_disk.write_text(GOOD_MODEL)
    plan = _plan(project, {"stg_customers": UNKNOWN_COLUMN_MODEL, "stg_orders": GOOD_MODEL})
    assert {c.path: c.kind for c in plan.changes}[on_disk.relative_to(project.root).as_posix()] == (
        "conflict"
    )
    checks = check_models(project, target, plan, progress=NullProgress())
    assert [(c.model, c.status) for c in checks] == [("stg_orders", "pass")]
    assert (shadow_dir(project) / "models/staging/stg_customers.sql").read_text() == GOOD_MODEL


def test_check_models_unparseable_project_raises(duck: Shop) -> None:
    """A broken YAML file outside the plan stops the check with a DbtError naming that file."""
    project, target = duck
    (project.root / "models/broken.yml").write_text("version: 2\nmodels:\n  - name: x\n    columns: [\n")
    plan = _plan(project, {"stg_customers": GOOD_MODEL})
    with pytest.raises(DbtError) as raised:
        check_models(project, target, plan, progress=NullProgress())
    assert "broken.yml" in raised.value.message and "\n" not in raised.value.message
    assert raised.value.file == str(project.root / "models/broken.yml")


def test_check_models_honours_cancellation(duck: Shop) -> None:
    """A cancelled check stops before dbt runs."""
    project, target = duck
    plan = _plan(project, {"stg_customers": GOOD_MODEL})
    with pytest.raises(Cancelled):
        check_models(project, target, plan, progress=RecordingProgress(cancel_after=0))
    assert not (work_dir(project) / "target").exists()


def test_check_models_nothing_to_check(duck: Shop) -> None:
    """A plan without models (only YAML) checks nothing and does not start dbt."""
    project, target = duck
    plan = plan_changes(project.root, {SOURCES_PATH: SOURCES_YML})
    assert check_models(project, target, plan, progress=NullProgress()) == []
    assert not work_dir(project).exists()


def test_check_models_checks_unchanged_models(duck: Shop) -> None:
    """A model the plan leaves unchanged on disk is checked too."""
    project, target = duck
    model = project.root / "models/staging/stg_orders.sql"
    model.parent.mkdir(parents=True)
    model.write_text(UNKNOWN_COLUMN_MODEL)
    plan = _plan(project, {"stg_orders": UNKNOWN_COLUMN_MODEL})
    assert "unchanged" in {c.kind for c in plan.changes}
    checks = check_models(project, target, plan, progress=NullProgress())
    assert [(c.model, c.status, c.line) for c in checks] == [("stg_orders", "error", 7)]


def test_check_models_releases_duckdb_file(duck: Shop) -> None:
    """After a check another process can open the DuckDB file: dbt does not keep it locked."""
    project, target = duck
    plan = _plan(project, {"stg_orders": UNKNOWN_COLUMN_MODEL, "stg_customers": GOOD_MODEL})
    check_models(project, target, plan, progress=NullProgress())
    code = "import duckdb, sys; duckdb.connect(sys.argv[1]).close()"
    database = str(project.root / "shop.duckdb")
    done = subprocess.run([sys.executable, "-c", code, database], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_check_models_failed_check_leaves_no_threads_or_open_file(duck: Shop) -> None:
    """A check with a failing model stops dbt's abandoned node pool: no leaked threads, file released.

    dbt-core leaves its thread pool running when `dbt show` raises a node error; the stored error
    holds the DuckDB cursor, so a read-only scan in this process would then be refused.
    """
    import duckdb

    project, target = duck
    plan = _plan(project, {"stg_orders": UNKNOWN_COLUMN_MODEL, "stg_customers": GOOD_MODEL})
    before = threading.active_count()
    for _ in range(2):
        check_models(project, target, plan, progress=NullProgress())
    assert threading.active_count() <= before + 1  # dbt may keep one helper thread, not a pool each run
    duckdb.connect(str(project.root / "shop.duckdb"), read_only=True).close()


def test_check_models_with_cli_runner(duck: Shop) -> None:
    """Checking through the dbt executable gives the same results as in the process."""
    project, target = duck
    executable = find_dbt_executable()
    assert executable is not None
    plan = _plan(project, {"stg_orders": UNKNOWN_COLUMN_MODEL, "stg_customers": GOOD_MODEL})
    in_process = check_models(project, target, plan, progress=NullProgress())
    cli = check_models(project, target, plan, progress=NullProgress(), runner=CliRunner(executable))
    assert cli == in_process
    assert [(c.model, c.status, c.line) for c in cli] == [
        ("stg_customers", "pass", None),
        ("stg_orders", "error", 7),
    ]
