"""textDocument/codeAction: "Cartridge: Generate staging models …" inside a dbt project.

Code actions are asked for on every cursor move, so this handler only reads the document and the
session's last scan: it never scans, never starts dbt.
"""

from __future__ import annotations

import logging
from typing import Any

from lsprotocol import types

from cartridge_core.errors import CartridgeError
from cartridge_core.project.discovery import find_project
from cartridge_core.project.sources import SourceTableRef, source_table_at
from cartridge_lsp.convert import path_of
from cartridge_lsp.features.commands import GENERATE_STAGING, SCAN_WAREHOUSE
from cartridge_lsp.server import CartridgeServer

logger = logging.getLogger(__name__)

PROJECT_KIND = types.CodeActionKind.Source  # whole-project actions: the "Source Action…" menu
TABLE_KIND = types.CodeActionKind.Refactor  # the table under the cursor: the light bulb
YAML_SUFFIXES = (".yml", ".yaml")


def register(server: CartridgeServer) -> None:
    """Add the code action provider to `server`."""

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[PROJECT_KIND, TABLE_KIND]),
    )
    def code_actions(ls: CartridgeServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        """The generate actions that apply to this document and cursor."""
        actions = _actions(ls, params.text_document.uri, params.range.start.line)
        only = params.context.only
        return [a for a in actions if not only or any(_is_kind(a.kind, k) for k in only)]


def _actions(ls: CartridgeServer, uri: str, line: int) -> list[types.CodeAction]:
    path = path_of(uri)
    if path is None:
        return []
    try:
        root = find_project(path).root
    except CartridgeError as error:
        logger.debug("No code actions for %s: %s", uri, error.message)
        return []
    actions = [
        _action("Scan warehouse", PROJECT_KIND, {"uri": uri}, command=SCAN_WAREHOUSE),
        _action("Generate staging models for all source schemas", PROJECT_KIND, {"uri": uri}),
    ]
    for schema in ls.scans.schemas_for(root):
        title = f"Generate staging models for schema {schema}"
        actions.append(_action(title, PROJECT_KIND, {"schema": schema, "uri": uri}))
    if path.suffix in YAML_SUFFIXES and (table := _table_at(ls, uri, line)) is not None:
        title = f"Generate staging model for {table.source}.{table.table}"
        argument = {"schema": table.schema, "table": table.identifier, "uri": uri}
        actions.append(_action(title, TABLE_KIND, argument))
    return actions


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
