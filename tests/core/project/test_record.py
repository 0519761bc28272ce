"""The record of generated files, and how plan_changes uses it to tell Cartridge's files from a person's."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from cartridge_core.project.changes import FileChange, plan_changes, write_plan
from cartridge_core.project.record import (
    RECORD_PATH,
    GeneratedRecord,
    content_hash,
    load_record,
    record_written,
)

MODEL = "models/staging/raw/stg_raw__orders.sql"
YAML = "models/staging/raw/_raw__models.yml"


def _generate(root: Path, files: dict[str, str]) -> list[str]:
    """Plan and write as a generation run does (without --replace)."""
    return write_plan(root, plan_changes(root, files).to_write)


def _kinds(root: Path, files: dict[str, str], **options: object) -> dict[str, str]:
    return {c.path: c.kind for c in plan_changes(root, files, **options).changes}  # type: ignore[arg-type]


def test_record_regenerated_with_new_content_replaces_without_force(tmp_path: Path) -> None:
    """A file Cartridge wrote and nobody edited is replaced by new content without --replace."""
    _generate(tmp_path, {MODEL: "select 1 as id\n"})
    assert _kinds(tmp_path, {MODEL: "select 1 as id, 2 as amount\n"}) == {MODEL: "replace"}
    assert _generate(tmp_path, {MODEL: "select 1 as id, 2 as amount\n"}) == [MODEL]
    assert (tmp_path / MODEL).read_text() == "select 1 as id, 2 as amount\n"
    assert _kinds(tmp_path, {MODEL: "select 3 as id\n"}) == {MODEL: "replace"}  # the record followed


def test_record_hand_edited_file_conflicts(tmp_path: Path) -> None:
    """A file Cartridge wrote and a person then edited is a conflict, and is not written."""
    _generate(tmp_path, {MODEL: "select 1 as id\n"})
    (tmp_path / MODEL).write_text("select 1 as id  -- mine\n")
    assert _kinds(tmp_path, {MODEL: "select 2 as id\n"}) == {MODEL: "conflict"}
    assert _generate(tmp_path, {MODEL: "select 2 as id\n"}) == []
    assert (tmp_path / MODEL).read_text() == "select 1 as id  -- mine\n"


def test_record_file_without_record_conflicts(tmp_path: Path) -> None:
    """An existing file Cartridge has no record of (a person's, or from before the record) is a conflict."""
    (tmp_path / MODEL).parent.mkdir(parents=True)
    (tmp_path / MODEL).write_text("select 1 as id\n")
    assert _kinds(tmp_path, {MODEL: "select 2 as id\n", YAML: "version: 2\n"}) == {
        MODEL: "conflict",
        YAML: "create",
    }
    assert not (tmp_path / RECORD_PATH).exists()


@pytest.mark.parametrize(
    ("options", "kind"),
    [
        pytest.param({}, "conflict", id="default"),
        pytest.param({"replace": True}, "replace", id="replace"),
        pytest.param({"merged": {MODEL}}, "replace", id="merged"),
        pytest.param({"merged": {YAML}}, "conflict", id="merged-other-file"),
    ],
)
def test_record_edited_file_options(tmp_path: Path, options: dict[str, object], kind: str) -> None:
    """--replace, or content merged into the file on disk, replaces an edited file; nothing else does."""
    _generate(tmp_path, {MODEL: "select 1 as id\n"})
    (tmp_path / MODEL).write_text("select 1 as id  -- mine\n")
    assert _kinds(tmp_path, {MODEL: "select 1 as id  -- mine\nselect 2\n"}, **options) == {MODEL: kind}


def test_record_crlf_checkout_is_not_an_edit(tmp_path: Path) -> None:
    """A generated file whose line breaks git made CRLF is still Cartridge's: unchanged, then replace."""
    _generate(tmp_path, {MODEL: "select 1\nas id\n"})
    (tmp_path / MODEL).write_bytes(b"select 1\r\nas id\r\n")
    assert _kinds(tmp_path, {MODEL: "select 1\nas id\n"}) == {MODEL: "unchanged"}
    assert _kinds(tmp_path, {MODEL: "select 2\nas id\n"}) == {MODEL: "replace"}


def test_record_extra_final_newline_is_not_an_edit(tmp_path: Path) -> None:
    """Neovim saves a file created over LSP with one more newline: still Cartridge's, replaceable."""
    _generate(tmp_path, {MODEL: "select 1\nas id\n"})
    (tmp_path / MODEL).write_text("select 1\nas id\n\n")
    assert _kinds(tmp_path, {MODEL: "select 1\nas id\n"}) == {MODEL: "unchanged"}
    assert _kinds(tmp_path, {MODEL: "select 2\nas id\n"}) == {MODEL: "replace"}
    (tmp_path / MODEL).write_text("select 1\nas id\n-- mine\n")
    assert _kinds(tmp_path, {MODEL: "select 2\nas id\n"}) == {MODEL: "conflict"}


def test_record_crlf_content_unchanged_when_identical(tmp_path: Path) -> None:
    """A CRLF file whose merged content is the same bytes is unchanged (line endings are not translated)."""
    (tmp_path / YAML).parent.mkdir(parents=True)
    (tmp_path / YAML).write_bytes(b"version: 2\r\nmodels: []\r\n")
    assert _kinds(tmp_path, {YAML: "version: 2\r\nmodels: []\r\n"}) == {YAML: "unchanged"}


def test_record_holds_hash_of_written_bytes(tmp_path: Path) -> None:
    """The record maps each written path to the sha256 of the bytes written; other entries are kept."""
    _generate(tmp_path, {MODEL: "select 1 as id\n"})
    _generate(tmp_path, {YAML: "version: 2\n"})
    record = load_record(tmp_path)
    assert record.files == {MODEL: content_hash(b"select 1 as id\n"), YAML: content_hash(b"version: 2\n")}
    assert record.wrote(MODEL, (tmp_path / MODEL).read_bytes())
    assert not record.wrote(MODEL, b"select 2 as id\n") and not record.wrote("other.sql", b"")


def test_record_skipped_and_unchanged_files_not_recorded(tmp_path: Path) -> None:
    """Only files written are recorded: a conflict's or an unchanged file's entry is not touched."""
    (tmp_path / MODEL).parent.mkdir(parents=True)
    (tmp_path / MODEL).write_text("select 1 as id  -- mine\n")
    _generate(tmp_path, {MODEL: "select 1 as id\n", YAML: "version: 2\n"})
    _generate(tmp_path, {YAML: "version: 2\n"})
    assert set(load_record(tmp_path).files) == {YAML}


def test_record_written_is_deterministic_json(tmp_path: Path) -> None:
    """The record is sorted, indented JSON ending in a newline: the same files give the same bytes."""
    changes = [
        FileChange(path=YAML, content="version: 2\n", kind="create"),
        FileChange(path=MODEL, content="select 1\n", kind="create"),
    ]
    record_written(tmp_path, changes)
    first = (tmp_path / RECORD_PATH).read_bytes()
    (tmp_path / RECORD_PATH).unlink()
    record_written(tmp_path, reversed(changes))
    assert (tmp_path / RECORD_PATH).read_bytes() == first
    text = first.decode()
    assert text.endswith("}\n") and list(json.loads(text)["files"]) == sorted([MODEL, YAML])
    assert json.loads(text) == {
        "files": {
            MODEL: {"sha256": content_hash("select 1\n")},
            YAML: {"sha256": content_hash("version: 2\n")},
        },
        "format": 1,
    }


def test_record_written_atomically(tmp_path: Path) -> None:
    """A new record replaces the old file whole (a new inode, no temporary file left beside it)."""
    record_written(tmp_path, [FileChange(path=MODEL, content="select 1\n", kind="create")])
    before = (tmp_path / RECORD_PATH).stat().st_ino
    record_written(tmp_path, [FileChange(path=MODEL, content="select 2\n", kind="replace")])
    assert (tmp_path / RECORD_PATH).stat().st_ino != before
    assert [p.name for p in (tmp_path / ".cartridge").iterdir()] == ["generated.json"]
    assert load_record(tmp_path).files == {MODEL: content_hash("select 2\n")}


def test_record_unchanged_record_not_rewritten(tmp_path: Path) -> None:
    """Writing the same content again leaves the record file as it was (no needless churn)."""
    record_written(tmp_path, [FileChange(path=MODEL, content="select 1\n", kind="create")])
    before = (tmp_path / RECORD_PATH).stat().st_ino
    record_written(tmp_path, [FileChange(path=MODEL, content="select 1\n", kind="replace")])
    assert (tmp_path / RECORD_PATH).stat().st_ino == before


@pytest.mark.parametrize(
    "corrupt",
    [
        pytest.param(b"{not json", id="invalid-json"),
        pytest.param(b"[]", id="not-an-object"),
        pytest.param(b'{"format": 1, "files": {"a.sql": {"md5": "x"}}}', id="entry-without-hash"),
        pytest.param(b'{"format": 99, "files": {}}', id="unknown-format"),
        pytest.param(b"\xff\xfe\x00", id="not-utf8"),
    ],
)
def test_record_corrupt_file_treated_as_empty(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, corrupt: bytes
) -> None:
    """A corrupt record is read as empty with a warning naming it; the next write replaces it."""
    _generate(tmp_path, {MODEL: "select 1 as id\n"})
    (tmp_path / RECORD_PATH).write_bytes(corrupt)
    with caplog.at_level(logging.WARNING, logger="cartridge_core.project.record"):
        assert load_record(tmp_path) == GeneratedRecord()
        assert _kinds(tmp_path, {MODEL: "select 2 as id\n"}) == {MODEL: "conflict"}
    assert str(tmp_path / RECORD_PATH) in caplog.text
    _generate(tmp_path, {YAML: "version: 2\n"})
    assert load_record(tmp_path).files == {YAML: content_hash("version: 2\n")}


def test_record_save_failure_keeps_files_written(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """When the record cannot be saved the files are still written, with a warning naming the record."""
    (tmp_path / ".cartridge").write_text("a file where the folder should be")
    with caplog.at_level(logging.WARNING, logger="cartridge_core.project.changes"):
        assert _generate(tmp_path, {MODEL: "select 1\n"}) == [MODEL]
    assert (tmp_path / MODEL).read_text() == "select 1\n"
    assert "Could not update" in caplog.text and RECORD_PATH in caplog.text
