"""File changes: what generation proposes, compared with what is on disk, and written atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cartridge_core.errors import CartridgeError

ChangeKind = Literal["create", "replace", "unchanged", "conflict"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FileChange:
    """One proposed file, and what writing it would do.

    `create`: the file does not exist. `unchanged`: it exists with the same bytes.
    `conflict`: it exists and differs, so it is skipped. `replace`: it differs and the user asked to replace it.
    """

    path: str  # relative to the project root, posix separators
    content: str
    kind: ChangeKind

    @property
    def writes(self) -> bool:
        return self.kind in ("create", "replace")


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """The file changes of one generation run."""

    changes: tuple[FileChange, ...]

    def of_kind(self, *kinds: ChangeKind) -> tuple[FileChange, ...]:
        return tuple(c for c in self.changes if c.kind in kinds)

    @property
    def to_write(self) -> tuple[FileChange, ...]:
        return tuple(c for c in self.changes if c.writes)

    def overlay(self) -> dict[str, str]:
        """The files as they would be after the plan is applied (only the written ones)."""
        return {c.path: c.content for c in self.to_write}


def resolve_inside(root: Path, relpath: str) -> Path:
    """The absolute path of `relpath` under `root`; refuses anything that escapes the root."""
    root = root.resolve()
    target = (root / relpath).resolve()
    if target != root and root not in target.parents:
        raise CartridgeError(f"Refusing to write outside the project root: {relpath}")
    return target


def plan_changes(root: Path, proposed: Mapping[str, str], *, replace: bool = False) -> Plan:
    """Compare proposed files with the disk and decide, per file, what writing would do."""
    changes = []
    for relpath in sorted(proposed):
        content = proposed[relpath]
        target = resolve_inside(root, relpath)
        if not target.exists():
            kind: ChangeKind = "create"
        elif target.read_text(encoding="utf-8") == content:
            kind = "unchanged"
        else:
            kind = "replace" if replace else "conflict"
        changes.append(FileChange(path=relpath, content=content, kind=kind))
    return Plan(changes=tuple(changes))


def write_atomic(path: Path, content: str) -> None:
    """Write `content` to `path` so readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_plan(root: Path, changes: Iterable[FileChange]) -> list[str]:
    """Write the changes that create or replace files; return their relative paths."""
    written = []
    for change in changes:
        if change.writes:
            write_atomic(resolve_inside(root, change.path), change.content)
            written.append(change.path)
    return written
