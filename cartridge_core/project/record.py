"""What Cartridge generated: per file, a hash of the text it wrote, kept at `.cartridge/generated.json`.

The record is committed with the project, so CI and every clone see the same one. A file whose text
still hashes to what Cartridge last wrote there has not been edited since, so regenerating may replace
it; any other file that exists is a person's, and is left alone.

Hashes are of the text with CRLF line breaks read as LF: git's `core.autocrlf` rewrites line breaks on
checkout, and a file checked out on Windows is not a file a person edited.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cartridge_core.project.changes import FileChange, write_atomic

logger = logging.getLogger(__name__)

RECORD_PATH = ".cartridge/generated.json"  # relative to the project root
_FORMAT = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class GeneratedRecord:
    """The files Cartridge wrote: relative posix path -> sha256 (hex) of the text it wrote there."""

    files: Mapping[str, str] = field(default_factory=dict)

    def wrote(self, path: str, data: bytes) -> bool:
        """Whether `data`, a file's bytes now, is what Cartridge last wrote to `path` (unedited since)."""
        recorded = self.files.get(path)
        return recorded is not None and recorded == content_hash(data)

    def with_written(self, changes: Iterable[FileChange]) -> GeneratedRecord:
        """This record with the files the changes write, at their new content.

        A file Cartridge merged its additions into stays a person's: it leaves the record, so no
        later run takes it for Cartridge's own and regenerates it over their comments.
        """
        files = dict(self.files)
        for change in changes:
            if change.writes and change.merged:
                files.pop(change.path, None)
            elif change.writes:
                files[change.path] = content_hash(change.content)
        return GeneratedRecord(files=files)


def content_hash(content: str | bytes) -> str:
    """sha256 (hex) of a file's text as UTF-8, CRLF read as LF, trailing newlines left out."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    # Line endings and blank lines at the end are an editor's business, not an edit: Neovim saves a
    # file created through the LSP with one more newline than it was given.
    return hashlib.sha256(data.replace(b"\r\n", b"\n").rstrip(b"\n")).hexdigest()


def load_record(root: Path) -> GeneratedRecord:
    """The record of the project at `root`: empty when there is none, or (with a warning) when corrupt."""
    path = root / RECORD_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return GeneratedRecord()
    except (OSError, UnicodeDecodeError) as exc:
        logger.warning("Ignoring the record of generated files %s: cannot read it (%s)", path, exc)
        return GeneratedRecord()
    try:
        return GeneratedRecord(files=_files(json.loads(text)))
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        logger.warning("Ignoring the record of generated files %s: %s", path, exc)
        return GeneratedRecord()


def save_record(root: Path, record: GeneratedRecord) -> None:
    """Write the record atomically, as deterministic JSON: sorted keys, indented, ending in a newline."""
    files = {path: {"sha256": digest} for path, digest in record.files.items()}
    text = json.dumps({"files": files, "format": _FORMAT}, indent=2, sort_keys=True, ensure_ascii=False)
    write_atomic(root / RECORD_PATH, text + "\n")


def record_written(root: Path, changes: Iterable[FileChange]) -> GeneratedRecord:
    """Add the files these changes wrote to the project's record, and save it when it changed."""
    record = load_record(root)
    updated = record.with_written(changes)
    if updated != record:
        save_record(root, updated)
    return updated


def _files(data: Any) -> dict[str, str]:
    """The path -> hash entries of a parsed record; ValueError naming what is wrong with it."""
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise ValueError("it is not an object with a `files` object")
    if data.get("format") != _FORMAT:
        raise ValueError(f"unknown format {data.get('format')!r}")
    files = {}
    for path, entry in data["files"].items():
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if not isinstance(digest, str) or len(digest) != 64:
            raise ValueError(f"the entry for {path} has no sha256")
        files[path] = digest
    return files
