"""Core values to LSP values and back: plans to workspace edits, checks to diagnostics, summaries."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.uris import from_fs_path, to_fs_path

from cartridge_core.models import ModelCheck, Scan
from cartridge_core.project.changes import FileChange, Plan, resolve_inside

DIAGNOSTIC_SOURCE = "cartridge"


@dataclass(frozen=True, slots=True, kw_only=True)
class EditSupport:
    """What the client can do with a workspace edit."""

    apply_edit: bool  # workspace/applyEdit at all
    document_changes: bool  # versioned TextDocumentEdit lists
    create_files: bool  # CreateFile resource operations (needs document_changes)
    review: bool = False  # change annotations that ask the user to confirm (needs document_changes)

    @classmethod
    def of(cls, capabilities: types.ClientCapabilities) -> EditSupport:
        workspace = capabilities.workspace
        edit = workspace.workspace_edit if workspace else None
        operations = (edit.resource_operations or []) if edit else []
        # Resource operations exist only inside `documentChanges`, so a client that lists them takes
        # documentChanges even when it does not say so (Neovim lists them and omits the flag).
        document_changes = bool(edit and (edit.document_changes or operations))
        return cls(
            apply_edit=bool(workspace and workspace.apply_edit),
            document_changes=document_changes,
            create_files=document_changes and types.ResourceOperationKind.Create in operations,
            review=document_changes and edit is not None and edit.change_annotation_support is not None,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """How a plan reaches the files: one edit through the editor, and what the server must write."""

    edit: types.WorkspaceEdit | None  # None when the editor has nothing to do
    to_disk: tuple[FileChange, ...]  # files the client cannot create (or edit at all)
    reviewed: tuple[str, ...] = ()  # edited files whose replacement the user is asked to confirm


def uri_of(root: Path, relpath: str) -> str:
    """The file URI of a path relative to the project root."""
    return str(from_fs_path(str(resolve_inside(root, relpath))))


def path_of(uri: str) -> Path | None:
    """The filesystem path of a file URI; None for other schemes."""
    path = to_fs_path(uri)
    return Path(path) if path else None


def delivery(
    plan: Plan,
    root: Path,
    support: EditSupport,
    *,
    current_text: Callable[[str], str],
    units: Callable[[str], int] = len,
) -> Delivery:
    """Split the plan's writes between one WorkspaceEdit and the disk, as the client allows.

    `current_text(relpath)` gives a replaced file's text now, to size the full-range replacement;
    `units(text)` counts a line's characters in the negotiated position encoding.
    """
    if not support.apply_edit:
        return Delivery(edit=None, to_disk=plan.to_write)
    creates = plan.of_kind("create")
    edits = [
        (uri_of(root, c.path), [_replace_all(current_text(c.path), c.content, units)])
        for c in plan.of_kind("replace")
    ]
    to_disk = () if support.create_files else creates
    if not support.document_changes:
        changes = {uri: text_edits for uri, text_edits in edits}
        return Delivery(edit=types.WorkspaceEdit(changes=changes) if changes else None, to_disk=to_disk)
    operations: list[Any] = []
    if support.create_files:
        for change in creates:
            uri = uri_of(root, change.path)
            insert = types.TextEdit(range=_at_start(), new_text=change.content)
            operations += [types.CreateFile(uri=uri), _document_edit(uri, [insert])]
    operations += [_document_edit(uri, text_edits) for uri, text_edits in edits]
    reviewed = plan.of_kind("conflict") if support.review else ()
    for change in reviewed:  # a person's file: the user sees the change and must tick it
        old = _replace_all(current_text(change.path), change.content, units)
        annotated = types.AnnotatedTextEdit(range=old.range, new_text=old.new_text, annotation_id=REVIEW)
        operations.append(_document_edit(uri_of(root, change.path), [annotated]))
    if not operations:
        return Delivery(edit=None, to_disk=to_disk)
    annotations = {REVIEW: _review_annotation()} if reviewed else None
    edit = types.WorkspaceEdit(document_changes=operations, change_annotations=annotations)
    return Delivery(edit=edit, to_disk=to_disk, reviewed=tuple(c.path for c in reviewed))


REVIEW = "cartridge.review"


def _review_annotation() -> types.ChangeAnnotation:
    return types.ChangeAnnotation(
        label="Cartridge: replace files you edited",
        needs_confirmation=True,
        description="These files changed since Cartridge wrote them; review before accepting.",
    )


def _document_edit(
    uri: str, edits: list[types.TextEdit] | list[types.AnnotatedTextEdit]
) -> types.TextDocumentEdit:
    # version None: the edit applies to the file as it is, open or not.
    document = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None)
    return types.TextDocumentEdit(text_document=document, edits=list(edits))


def _at_start() -> types.Range:
    start = types.Position(line=0, character=0)
    return types.Range(start=start, end=start)


def _replace_all(old: str, new: str, units: Callable[[str], int]) -> types.TextEdit:
    lines = old.split("\n")
    end = types.Position(line=len(lines) - 1, character=units(lines[-1]))
    return types.TextEdit(range=types.Range(start=_at_start().start, end=end), new_text=new)


def diagnostic(check: ModelCheck) -> types.Diagnostic:
    """An Error diagnostic over the whole line dbt named (the first line when it named none)."""
    line = max((check.line or 1) - 1, 0)
    whole_line = types.Range(
        start=types.Position(line=line, character=0), end=types.Position(line=line + 1, character=0)
    )
    return types.Diagnostic(
        range=whole_line,
        message=check.message or f"{check.model} failed the dbt check",
        severity=types.DiagnosticSeverity.Error,
        source=DIAGNOSTIC_SOURCE,
    )


def diagnostics_by_uri(root: Path, checks: Iterable[ModelCheck]) -> dict[str, list[types.Diagnostic]]:
    """Every checked model's file, with its diagnostics: empty for models that passed."""
    by_uri: dict[str, list[types.Diagnostic]] = {}
    for check in checks:
        found = by_uri.setdefault(uri_of(root, check.path), [])
        if check.status == "error":
            found.append(diagnostic(check))
    return by_uri


def generate_summary(
    plan: Plan,
    checks: Iterable[ModelCheck],
    *,
    written_to_disk: Iterable[str] = (),
    reviewed: Iterable[str] = (),
) -> dict[str, Any]:
    """The JSON result of cartridge.generateStaging."""
    offered = list(reviewed)
    return {
        "created": [c.path for c in plan.of_kind("create")],
        "replaced": [c.path for c in plan.of_kind("replace")],
        "unchanged": [c.path for c in plan.of_kind("unchanged")],
        "skipped": [c.path for c in plan.of_kind("conflict") if c.path not in offered],
        "offeredForReview": offered,
        "failed": [
            {"model": c.model, "path": c.path, "line": c.line, "message": c.message}
            for c in checks
            if c.status == "error"
        ],
        "writtenToDisk": list(written_to_disk),
        "cancelled": False,
        "error": None,
    }


def empty_summary(*, cancelled: bool = False, error: str | None = None) -> dict[str, Any]:
    """The result of a generateStaging run that delivered nothing."""
    return {**generate_summary(Plan(changes=()), ()), "cancelled": cancelled, "error": error}


def summary_message(summary: Mapping[str, Any]) -> str:
    """The one line shown to the user after generation."""
    parts = [f"created {len(summary['created'])} files"]
    if summary["replaced"]:
        parts.append(f"replaced {len(summary['replaced'])}")
    parts += [
        f"unchanged {len(summary['unchanged'])}",
        f"skipped {len(summary['skipped'])} (changed on disk)",
        *(
            [f"{len(summary['offeredForReview'])} you edited offered for review"]
            if summary.get("offeredForReview")
            else []
        ),
        f"{len(summary['failed'])} models failed the check",
    ]
    message = "Cartridge: " + ", ".join(parts)
    if summary["writtenToDisk"]:
        message += "; new files were written to disk (the editor cannot create files)"
    return message


def scan_summary(scan: Scan) -> dict[str, Any]:
    """The JSON result of cartridge.scanWarehouse."""
    roles: dict[str, int] = {}
    for role in scan.roles:
        roles[role.role] = roles.get(role.role, 0) + 1
    return {
        "schemas": list(scan.schemas),
        "tables": len(scan.tables),
        "columns": sum(len(t.columns) for t in scan.tables),
        "relationships": len(scan.relationships),
        "inferred": sum(r.source == "inferred" for r in scan.relationships),
        "roles": roles,
        "skipped": [f"{s.schema}.{s.name}: {s.reason}" for s in scan.skipped],
    }
