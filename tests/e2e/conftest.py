"""A real Cartridge server over stdio (pytest-lsp), as VS Code or Neovim, and an editor applying edits."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.uris import to_fs_path
from pytest_lsp import ClientServerConfig, LanguageClient

SERVER = [sys.executable, "-m", "cartridge_lsp"]
CLIENTS = ["visual-studio-code", "neovim"]


class Editor:
    """What the test client does with workspace/applyEdit: records each edit and applies it to disk.

    Edits whose change annotation needs confirmation are what a user is asked to review: this user
    declines them (`accept_reviewed` flips that), and they are kept in `declined`.
    """

    def __init__(self) -> None:
        self.edits: list[types.WorkspaceEdit] = []
        self.declined: list[str] = []
        self.accept_reviewed = False

    def apply(self, edit: types.WorkspaceEdit) -> None:
        self.edits.append(edit)
        confirm = {k for k, a in (edit.change_annotations or {}).items() if a.needs_confirmation}
        for uri, text_edits in (edit.changes or {}).items():
            _edit_file(uri, text_edits)
        for change in edit.document_changes or []:
            if isinstance(change, types.CreateFile):
                path = Path(str(to_fs_path(change.uri)))
                assert not path.exists(), f"CreateFile over an existing file: {path}"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("")
            elif isinstance(change, types.TextDocumentEdit):
                asked = [e for e in change.edits if getattr(e, "annotation_id", None) in confirm]
                if asked and not self.accept_reviewed:
                    self.declined.append(change.text_document.uri)
                    continue
                _edit_file(change.text_document.uri, change.edits)
            else:
                raise AssertionError(f"unexpected resource operation {change!r}")


def _edit_file(uri: str, edits: Any) -> None:
    path = Path(str(to_fs_path(uri)))
    text = path.read_text()
    starts = [0]
    for line in text.split("\n"):
        starts.append(starts[-1] + len(line) + 1)

    def offset(position: types.Position) -> int:
        return min(starts[position.line] + position.character, len(text))

    # Apply from the end so earlier offsets stay valid (test files are ASCII: UTF-16 = chars).
    for edit in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    path.write_text(text)


def decode_code_actions(client: LanguageClient) -> None:
    # lsprotocol 2025.0.0 decodes any object with a "command" key as a Command, mangling a
    # CodeAction that carries one (the wire is right); see /work/shared/pygls2-cheatsheet.md.
    converter = client.protocol._converter

    def command_or_action(obj: Any, _: Any) -> Any:
        kind = types.Command if isinstance(obj.get("command"), str) else types.CodeAction
        return converter.structure(obj, kind)

    converter.register_structure_hook(types.Command | types.CodeAction, command_or_action)


@pytest_lsp.fixture(params=CLIENTS, config=ClientServerConfig(server_command=SERVER))
async def client(request: pytest.FixtureRequest, lsp_client: LanguageClient):
    """A started (not yet initialized) server; `start_session` initializes it for a project."""
    decode_code_actions(lsp_client)
    editor = Editor()

    @lsp_client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        editor.apply(params.edit)
        return types.ApplyWorkspaceEditResult(applied=True)

    lsp_client.editor = editor  # type: ignore[attr-defined]
    lsp_client.client_name = request.param  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def start_session(client: LanguageClient, root: Path, *, options: Any = None) -> types.InitializeResult:
    """initialize + initialized with the client's capabilities, the project as workspace root."""
    name = client.client_name  # type: ignore[attr-defined]
    return await client.initialize_session(
        types.InitializeParams(
            capabilities=pytest_lsp.client_capabilities(name),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
            initialization_options=options,
        )
    )


async def execute(client: LanguageClient, command: str, *arguments: Any) -> Any:
    """workspace/executeCommand with the arguments as given."""
    params = types.ExecuteCommandParams(command=command, arguments=list(arguments) or None)
    return await client.workspace_execute_command_async(params)


async def code_actions(client: LanguageClient, path: Path, line: int = 0) -> list[types.CodeAction]:
    """The code actions the server offers at `line` of the file at `path`."""
    at = types.Position(line=line, character=0)
    params = types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=path.as_uri()),
        range=types.Range(start=at, end=at),
        context=types.CodeActionContext(diagnostics=[]),
    )
    return list(await client.text_document_code_action_async(params) or [])


async def first_progress_begin(client: LanguageClient, timeout: float = 30) -> types.ProgressToken:
    """The token of the first work-done progress that has begun."""
    for _ in range(int(timeout / 0.01)):
        for token, reports in client.progress_reports.items():
            if any(isinstance(r, types.WorkDoneProgressBegin) for r in reports):
                return token
        await asyncio.sleep(0.01)
    raise AssertionError(f"no progress began within {timeout} s")


def progress_of(client: LanguageClient) -> list[Any]:
    """Every progress value received, in order, across tokens."""
    return [value for reports in client.progress_reports.values() for value in reports]


def messages(client: LanguageClient, prefix: str = "Cartridge:") -> list[types.ShowMessageParams]:
    """The window/showMessage notifications from Cartridge."""
    return [m for m in client.messages if m.message.startswith(prefix)]
