"""textDocument/codeAction: Cartridge's actions for the document and line under the cursor.

Anywhere in a dbt project: scan, generate staging models, generate intermediate and mart models, and
(with an LLM provider configured) ask AI for a model.
On a source table in a sources YAML: generate its staging model. In a staging model's SQL file, or on
its entry in a models YAML: add verified schema tests, document its columns.

Code actions are asked for on every cursor move, so this handler only reads the document and the
session's last scan: it never scans, never starts dbt.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from lsprotocol import types

from cartridge_core.errors import CartridgeError
from cartridge_core.models import DbtProject
from cartridge_core.project.discovery import find_project
from cartridge_core.project.sources import SourceTableRef, source_table_at
from cartridge_lsp.convert import path_of
from cartridge_lsp.features.commands import (
    ADD_TESTS,
    ASK_AI,
    DOCUMENT_COLUMNS,
    GENERATE_MARTS,
    GENERATE_STAGING,
    SCAN_WAREHOUSE,
)
from cartridge_lsp.features.model_yaml import staging_model_at
from cartridge_lsp.server import CartridgeServer

logger = logging.getLogger(__name__)

PROJECT_KIND = types.CodeActionKind.Source  # whole-project actions: the "Source Action…" menu
HERE_KIND = types.CodeActionKind.Refactor  # the table or model under the cursor: the light bulb
YAML_SUFFIXES = (".yml", ".yaml")


def register(server: CartridgeServer) -> None:
    """Add the code action provider to `server`."""

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[PROJECT_KIND, HERE_KIND]),
    )
    def code_actions(ls: CartridgeServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        """The actions that apply to this document and cursor."""
        actions = _actions(ls, params.text_document.uri, params.range.start.line)
        only = params.context.only
        return [a for a in actions if not only or any(_is_kind(a.kind, k) for k in only)]


def _actions(ls: CartridgeServer, uri: str, line: int) -> list[types.CodeAction]:
    path = path_of(uri)
    if path is None:
        return []
    try:
        project = find_project(path)
    except CartridgeError as error:
        logger.debug("No code actions for %s: %s", uri, error.message)
        return []
    return [*_project_actions(ls, project.root, uri), *_actions_here(ls, project, path, uri, line)]


def _project_actions(ls: CartridgeServer, root: Path, uri: str) -> list[types.CodeAction]:
    actions = [
        _action("Scan warehouse", PROJECT_KIND, {"uri": uri}, command=SCAN_WAREHOUSE),
        _action("Generate staging models for all source schemas", PROJECT_KIND, {"uri": uri}),
    ]
    for schema in ls.scans.schemas_for(root):
        title = f"Generate staging models for schema {schema}"
        actions.append(_action(title, PROJECT_KIND, {"schema": schema, "uri": uri}))
    title = "Generate intermediate and mart models"
    actions.append(_action(title, PROJECT_KIND, {"uri": uri}, command=GENERATE_MARTS))
    if ls.options.llm is not None:  # the request comes from the client (VS Code: an input box)
        actions.append(_action("Ask AI for a model…", PROJECT_KIND, {"uri": uri}, command=ASK_AI))
    return actions


def _actions_here(
    ls: CartridgeServer, project: DbtProject, path: Path, uri: str, line: int
) -> list[types.CodeAction]:
    """The actions for the source table or staging model at `line`."""
    if path.suffix in YAML_SUFFIXES and (table := _table_at(ls, uri, line)) is not None:
        title = f"Generate staging model for {table.source}.{table.table}"
        argument = {"schema": table.schema, "table": table.identifier, "uri": uri}
        return [_action(title, HERE_KIND, argument)]
    model = staging_model_at(ls, project, uri, line)
    if model is None:
        return []
    argument = {"model": model, "uri": uri}
    return [
        _action("Add verified schema tests", HERE_KIND, argument, command=ADD_TESTS),
        _action("Document columns", HERE_KIND, argument, command=DOCUMENT_COLUMNS),
    ]


def _table_at(ls: CartridgeServer, uri: str, line: int) -> SourceTableRef | None:
    # The open buffer (pygls reads the disk for documents the client has not opened).
    return source_table_at(ls.workspace.get_text_document(uri).source, line)


def _action(
    title: str, kind: str, argument: dict[str, Any], *, command: str = GENERATE_STAGING
) -> types.CodeAction:
    title = f"Cartridge: {title}"
    run = types.Command(title=title, command=command, arguments=[argument])
    return types.CodeAction(title=title, kind=kind, command=run)


def _is_kind(kind: str | None, wanted: str) -> bool:
    """LSP kinds are hierarchical: `source` asks for `source.fixAll` too."""
    return kind is not None and (kind == wanted or kind.startswith(f"{wanted}."))
