"""Real headless Neovim runs editor-client/nvim against the real server on a DuckDB dbt project."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.nvim

REPO = Path(__file__).resolve().parents[2]
PLUGIN_DIR = REPO / "editor-client" / "nvim"
SCRIPT = Path(__file__).resolve().parent / "nvim" / "generate_staging.lua"
STAGING = Path("models/staging/raw")
GENERATE_ALL = "Cartridge: Generate staging models for all source schemas"
GENERATE_RAW = "Cartridge: Generate staging models for schema raw"  # offered once raw was scanned

# Milliseconds inside Neovim; the subprocess timeout (seconds) sits above the Lua watchdog so the
# script normally reports its own time-out, and the test can never hang either way.
TIMEOUTS_MS = {"initialize_ms": 30_000, "request_ms": 30_000, "command_ms": 120_000}
TIMEOUTS_MS["total_ms"] = sum(TIMEOUTS_MS.values()) + 10_000
SUBPROCESS_TIMEOUT_S = TIMEOUTS_MS["total_ms"] / 1000 + 30


@dataclass(frozen=True, slots=True, kw_only=True)
class NvimRun:
    """What one headless Neovim session left behind."""

    returncode: int | None
    output: str
    work: Path

    def titles(self) -> list[str]:
        """Code action titles the script saw, or [] if it never got that far."""
        path = self.work / "titles.json"
        return json.loads(path.read_text()) if path.exists() else []

    def result(self) -> dict:
        """The script's result JSON, or {} if it wrote none."""
        path = self.work / "result.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def report(self) -> str:
        """Everything useful when the test fails: exit code, output, script log, LSP log tail."""
        log = self.work / "nvim.log"
        lsp_logs = sorted((self.work / "xdg").rglob("lsp.log"))
        lsp_text = "".join(p.read_text() for p in lsp_logs)
        # Server tracebacks arrive as stderr lines logged at ERROR; the tail shows the last traffic.
        errors = "\n".join(line for line in lsp_text.splitlines() if line.startswith("[ERROR]"))
        lsp_report = f"{errors}\n--- lsp.log (tail) ---\n{lsp_text[-4000:]}"
        return (
            f"nvim exit code: {self.returncode}\n--- output ---\n{self.output}\n"
            f"--- script log ---\n{log.read_text() if log.exists() else '(none)'}\n"
            f"--- result ---\n{self.result()}\n--- lsp.log errors ---\n{lsp_report}"
        )


def run_generate_staging(project: Path, work: Path) -> NvimRun:
    """Run tests/e2e/nvim/generate_staging.lua in headless Neovim on `project`."""
    # CARTRIDGE_TEST_NVIM picks another build, e.g. a Neovim 0.11 to run setup()'s modern path.
    nvim = shutil.which(os.environ.get("CARTRIDGE_TEST_NVIM", "nvim"))
    if nvim is None:
        pytest.skip("nvim is not installed (Debian package `neovim`)")
    config = {
        "plugin_dir": str(PLUGIN_DIR),
        "cmd": [sys.executable, "-m", "cartridge_lsp"],
        "open_file": str(project / "dbt_project.yml"),
        "action_title": GENERATE_ALL,
        "titles_file": str(work / "titles.json"),
        "result_file": str(work / "result.json"),
        "log_file": str(work / "nvim.log"),
        "timeouts": TIMEOUTS_MS,
    }
    (work / "config.json").write_text(json.dumps(config))
    xdg = work / "xdg"
    env = {
        **os.environ,
        "CARTRIDGE_E2E_CONFIG": str(work / "config.json"),
        # Keep Neovim's LSP log and state inside the test's folder.
        **{f"XDG_{kind}_HOME": str(xdg / kind.lower()) for kind in ("CACHE", "STATE", "DATA")},
    }
    command = [nvim, "--headless", "--clean", "-u", "NONE", "-c", f"luafile {SCRIPT}"]
    try:
        done = subprocess.run(
            command,
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as expired:
        output = f"timed out after {SUBPROCESS_TIMEOUT_S} s\n{expired.stdout!r}\n{expired.stderr!r}"
        return NvimRun(returncode=None, output=output, work=work)
    return NvimRun(returncode=done.returncode, output=done.stdout + done.stderr, work=work)


def test_nvim_generate_staging_writes_models(duckdb_project: Path, tmp_path: Path) -> None:
    """Neovim's code action runs cartridge.generateStaging and `:wall` saves the staging models."""
    run = run_generate_staging(duckdb_project, tmp_path)
    assert run.returncode == 0, run.report()
    titles = run.titles()
    assert GENERATE_ALL in titles, run.report()
    assert all(title.startswith("Cartridge: ") for title in titles), run.report()
    result = run.result()
    assert result["command"]["command"] == "cartridge.generateStaging", run.report()
    assert GENERATE_RAW in result["titles_after"], run.report()
    assert result["edits"] and all(edit["applied"] for edit in result["edits"]), run.report()
    staging = duckdb_project / STAGING
    # The files came through the editor (CreateFile in the edit, then `:wall`), not a disk fallback.
    assert str(staging / "stg_raw__customers.sql") in result["created"], run.report()
    for table in ("customers", "orders", "big_orders"):
        sql = (staging / f"stg_raw__{table}.sql").read_text()
        assert f"source('raw', '{table}')" in sql, run.report()
    assert (staging / "stg_raw__order_events.sql").exists(), run.report()
    assert "name: raw" in (staging / "_raw__sources.yml").read_text()
    assert "stg_raw__customers" in (staging / "_raw__models.yml").read_text()
