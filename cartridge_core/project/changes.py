"""File changes: what generation proposes, compared with what is on disk, and written atomically."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cartridge_core.errors import CartridgeError

logger = logging.getLogger(__name__)

ChangeKind = Literal["create", "replace", "unchanged", "conflict"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FileChange:
    """One proposed file, and what writing it would do.

    `create`: the file does not exist. `unchanged`: it exists with the same text.
    `replace`: it differs, and Cartridge wrote it and nobody has edited it since, or the proposed content
    was merged into it, or the user asked to replace it. `conflict`: it differs and a person wrote or
    edited it, so it is skipped.
    """

    path: str  # relative to the project root, posix separators
    content: str
    kind: ChangeKind
    merged: bool = False  # a replace that only adds to a person's file: still theirs, not Cartridge's

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


def plan_changes(
    root: Path, proposed: Mapping[str, str], *, replace: bool = False, merged: Collection[str] = ()
) -> Plan:
    """Compare proposed files with the disk and decide, per file, what writing would do.

    A file that exists and differs is replaced only when its bytes are what Cartridge last wrote there
    (per the project's record of generated files), when its path is in `merged` (the proposed content
    is the file on disk with additions only, e.g. from merge_models_yaml), or when `replace` is set.
    Otherwise a person wrote or edited it, and it is a conflict.
    """
    from cartridge_core.project.record import content_hash, load_record  # record builds on this module

    record = load_record(root)
    changes = []
    for relpath in sorted(proposed):
        content = proposed[relpath]
        is_merge = False
        target = resolve_inside(root, relpath)
        if not target.exists():
            kind: ChangeKind = "create"
        else:
            current = target.read_bytes()
            if content_hash(current) == content_hash(content):
                kind = "unchanged"
            elif record.wrote(relpath, current) and relpath not in merged:
                kind = "replace"
            elif replace or relpath in merged:
                kind = "replace"
                is_merge = relpath in merged
            else:
                kind = "conflict"
        changes.append(FileChange(path=relpath, content=content, kind=kind, merged=is_merge))
    return Plan(changes=tuple(changes))


def write_atomic(path: Path, content: str) -> None:
    """Write `content` to `path` so readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    # Created as open() would create it (0666 less the umask), not 0600 as mkstemp would; an
    # existing file keeps its own permissions.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_plan(root: Path, changes: Iterable[FileChange]) -> list[str]:
    """Write the changes that create or replace files, record them as generated; return their paths.

    The record (see record.py) is what lets the next run replace a file nobody has edited since. If it
    cannot be saved the files stay written, and the next run treats them as a person's: never clobbered.
    """
    from cartridge_core.project.record import RECORD_PATH, record_written

    written = []
    for change in changes:
        if change.writes:
            write_atomic(resolve_inside(root, change.path), change.content)
            written.append(change)
    if written:
        try:
            record_written(root, written)
        except OSError as exc:
            logger.warning("Could not update %s: %s", root / RECORD_PATH, exc)
    return [c.path for c in written]
