"""The house's floors: core never imports the editor layer, and nothing heavy loads at start-up."""

from __future__ import annotations

import subprocess
import sys

IMPORT_ALL_CORE = """
import importlib, pkgutil, sys
import cartridge_core
for info in pkgutil.walk_packages(cartridge_core.__path__, "cartridge_core."):
    importlib.import_module(info.name)
leaked = sorted(m for m in sys.modules if m.split(".")[0] in {"pygls", "lsprotocol", "cartridge_lsp"})
print(",".join(leaked))
"""

SERVER_START_UP = """
import sys
import cartridge_lsp.server, cartridge_lsp.cli
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"dbt", "sqlalchemy", "duckdb", "psycopg2"})
print(",".join(heavy))
"""


def _run(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_architecture_core_never_imports_editor_layer() -> None:
    """Importing every module of cartridge_core loads neither pygls, lsprotocol nor cartridge_lsp."""
    assert _run(IMPORT_ALL_CORE) == ""


def test_architecture_server_start_up_stays_light() -> None:
    """Importing the server and CLI loads no dbt, SQLAlchemy or warehouse driver (they load on first use)."""
    assert _run(SERVER_START_UP) == ""
