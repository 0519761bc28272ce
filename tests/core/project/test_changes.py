"""write_atomic: whole files only, with the permissions a plain write would give."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cartridge_core.errors import CartridgeError
from cartridge_core.project.changes import resolve_inside, write_atomic


def test_new_file_gets_the_umask_mode_not_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "models" / "a.sql", "select 1\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "models" / "a.sql").stat().st_mode) == 0o644


def test_replaced_file_keeps_its_mode_and_no_temporary_is_left(tmp_path: Path) -> None:
    target = tmp_path / "a.yml"
    target.write_text("old\n")
    target.chmod(0o640)
    write_atomic(target, "new\n")
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["a.yml"]


def test_refuses_paths_outside_the_root(tmp_path: Path) -> None:
    with pytest.raises(CartridgeError, match="outside the project root"):
        resolve_inside(tmp_path / "project", "../elsewhere.sql")
