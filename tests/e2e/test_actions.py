"""Editor actions in context end to end: tests, docs and marts as one edit, checked after it is applied.

A real server, warehouse and dbt; the test client applies each workspace/applyEdit to disk.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import duckdb
import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pytest_lsp import LanguageClient

from tests.e2e.conftest import code_actions, execute, messages, progress_of, start_session

STAGING = "models/staging/raw"
MODELS_YAML = f"{STAGING}/_raw__models.yml"
PROJECT_TITLES = [
    "Cartridge: Scan warehouse",
    "Cartridge: Generate staging models for all source schemas",
    "Cartridge: Generate intermediate and mart models",
]
ADD_TESTS = "Cartridge: Add verified schema tests"
DOCUMENT = "Cartridge: Document columns"
# A person's additions to the generated models YAML: a comment, and a description with its own comment.
HAND_WRITTEN = [
    ("  - name: stg_raw__orders\n", "  # orders as the shop's checkout records them\n"),
    (
        "      - name: status\n",
        "        # set by the checkout service\n"
        "        description: 'Where the order is: placed or shipped.'\n",
    ),
]


def _run_sql(root: Path, *statements: str) -> None:
    con = duckdb.connect(str(root / "shop.duckdb"))
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


def _hand_edit(path: Path) -> str:
    """Add HAND_WRITTEN to the models YAML at `path`; its new text."""
    text = path.read_text()
    for anchor, addition in HAND_WRITTEN:
        assert text.count(anchor) == 1, anchor
        if addition.startswith("  #"):
            text = text.replace(anchor, addition + anchor)
        else:
            text = text.replace(anchor, anchor + addition)
    path.write_text(text)
    return text


def _only_insertions(old: str, new: str) -> bool:
    """Whether `new` is `old` with lines added and none changed or removed."""
    matcher = difflib.SequenceMatcher(a=old.splitlines(True), b=new.splitlines(True), autojunk=False)
    return all(tag in ("equal", "insert") for tag, *_ in matcher.get_opcodes())


def _titled(actions: list[types.CodeAction], title: str) -> types.Command:
    [action] = [a for a in actions if a.title == title]
    assert action.command is not None
    return action.command


async def _run_action(client: LanguageClient, path: Path, title: str, line: int = 0) -> dict[str, Any]:
    command = _titled(await code_actions(client, path, line), title)
    return await execute(client, command.command, *(command.arguments or []))


def _edited_uris(edit: types.WorkspaceEdit) -> list[str]:
    uris = list((edit.changes or {}).keys())
    for change in edit.document_changes or []:
        uris.append(change.uri if isinstance(change, types.CreateFile) else change.text_document.uri)
    return sorted(set(uris))


@pytest.mark.parametrize("client", ["visual-studio-code"], indirect=True)
@pytest.mark.parametrize(
    ("where", "line", "expected"),
    [
        pytest.param("stg_sql", 0, [ADD_TESTS, DOCUMENT], id="staging-model-sql"),
        pytest.param("models_yaml", 5, [ADD_TESTS, DOCUMENT], id="yaml-model-entry"),
        pytest.param("models_yaml", 0, [], id="yaml-version-line"),
        pytest.param("models_yaml", 8, [], id="yaml-non-staging-entry"),
        pytest.param("mart_sql", 0, [], id="mart-sql"),
        pytest.param("analysis_sql", 0, [], id="stg-sql-outside-model-paths"),
        pytest.param("project_file", 0, [], id="dbt-project-yml"),
    ],
)
async def test_actions_offered_in_context(
    client: LanguageClient, duckdb_project: Path, where: str, line: int, expected: list[str]
) -> None:
    """Tests and docs are offered in a staging model's SQL and YAML entry; marts anywhere in the project."""
    paths = {
        "stg_sql": duckdb_project / STAGING / "stg_raw__orders.sql",
        "models_yaml": duckdb_project / STAGING / "_raw__models.yml",
        "mart_sql": duckdb_project / "models" / "marts" / "fct_orders.sql",
        "analysis_sql": duckdb_project / "analyses" / "stg_raw__orders.sql",
        "project_file": duckdb_project / "dbt_project.yml",
    }
    for path in list(paths.values())[:-1]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("select 1\n")
    paths["models_yaml"].write_text(
        "version: 2\n\nmodels:\n  # staged orders\n  - name: stg_raw__orders\n    columns:\n"
        "      - name: order_id\n  - name: fct_orders\n    description: Orders.\n"
    )
    await start_session(client, duckdb_project)

    actions = await code_actions(client, paths[where], line)

    assert [a.title for a in actions] == PROJECT_TITLES + expected
    marts = _titled(actions, PROJECT_TITLES[2])
    assert marts.command == "cartridge.generateMarts"
    assert list(marts.arguments or []) == [{"uri": paths[where].as_uri()}]
    if expected:
        tests, docs = actions[-2:]
        assert tests.kind == docs.kind == types.CodeActionKind.Refactor
        assert tests.command is not None and docs.command is not None
        assert (tests.command.command, docs.command.command) == (
            "cartridge.addTests",
            "cartridge.documentColumns",
        )
        argument = {"model": "stg_raw__orders", "uri": paths[where].as_uri()}
        assert list(tests.command.arguments or []) == list(docs.command.arguments or []) == [argument]


@pytest.mark.parametrize("client", ["neovim"], indirect=True)
async def test_actions_commands_check_their_arguments(client: LanguageClient, duckdb_project: Path) -> None:
    """Malformed arguments are InvalidParams naming the key; no model where the user is, one message."""
    await start_session(client, duckdb_project)
    for command, argument, complaint in [
        ("cartridge.addTests", {"model": "stg_raw__orders", "line": "3"}, "argument.line"),
        ("cartridge.documentColumns", {"model": "stg_raw__orders", "domain": "x"}, "domain"),
        ("cartridge.generateMarts", {"domain": ""}, "folder name"),
    ]:
        with pytest.raises(JsonRpcInvalidParams, match=complaint):
            await execute(client, command, argument)

    # From a palette the client sends only where the user is: here, a file that is no staging model.
    summary = await execute(
        client, "cartridge.addTests", {"uri": (duckdb_project / "dbt_project.yml").as_uri()}
    )
    assert summary["error"].startswith("Name a model, or run this in a staging model (stg_*.sql)")
    assert [m.message for m in messages(client)] == [f"Cartridge: {summary['error']}"]


@pytest.mark.parametrize(
    "project_fixture",
    [
        pytest.param("duckdb_project", id="duckdb"),
        pytest.param("pg_project", id="postgres", marks=pytest.mark.postgres),
    ],
)
@pytest.mark.parametrize("client", ["visual-studio-code"], indirect=True)
async def test_add_tests_keeps_hand_written_yaml_in_one_edit(
    client: LanguageClient, request: pytest.FixtureRequest, project_fixture: str
) -> None:
    """Adding tests from the model's SQL edits only its models YAML, adding lines and keeping the person's."""
    root: Path = request.getfixturevalue(project_fixture)
    await start_session(client, root)
    await execute(client, "cartridge.generateStaging", {"schema": "raw"})
    models_yaml = root / MODELS_YAML
    before = _hand_edit(models_yaml)
    edits_before = len(client.editor.edits)  # type: ignore[attr-defined]

    summary = await _run_action(client, root / STAGING / "stg_raw__orders.sql", ADD_TESTS)

    assert summary["error"] is None and summary["failed"] == [] and summary["checked"] is True
    assert summary["replaced"] == [MODELS_YAML] and summary["created"] == []
    [edit] = client.editor.edits[edits_before:]  # type: ignore[attr-defined]
    assert _edited_uris(edit) == [models_yaml.as_uri()]
    after = models_yaml.read_text()
    assert _only_insertions(before, after)
    assert "relationships:" in after and "to: ref('stg_raw__customers')" in after
    assert "evidence: declared foreign key" in after
    reports = [v.message for v in progress_of(client) if isinstance(v, types.WorkDoneProgressReport)]
    applied = len(reports) - 1 - reports[::-1].index("Applying the edit…")
    assert "Checking 1 model with dbt" in reports[applied:]  # the check runs after the edit
    assert messages(client)[-1].message.startswith("Cartridge: created 0 files, replaced 1")


@pytest.mark.parametrize("client", ["visual-studio-code"], indirect=True)
async def test_add_tests_check_after_edit_publishes_diagnostic(
    client: LanguageClient, duckdb_project: Path
) -> None:
    """A column dropped since the scan: the edit is applied, then its model's failing line gets an Error."""
    await start_session(client, duckdb_project)
    await execute(client, "cartridge.scanWarehouse", {"schema": "raw"})
    await execute(client, "cartridge.generateStaging", {"schema": "raw"})
    _run_sql(duckdb_project, "alter table raw.orders drop column status")
    model = duckdb_project / STAGING / "stg_raw__orders.sql"

    summary = await _run_action(client, model, ADD_TESTS)

    assert summary["replaced"] == [MODELS_YAML]
    [failure] = summary["failed"]
    assert failure["path"] == f"{STAGING}/stg_raw__orders.sql"
    [diagnostic] = client.diagnostics[model.as_uri()]
    assert diagnostic.severity == types.DiagnosticSeverity.Error
    assert model.read_text().splitlines()[diagnostic.range.start.line].strip() == "status,"
    assert messages(client)[-1].type == types.MessageType.Warning


@pytest.mark.parametrize("client", ["visual-studio-code"], indirect=True)
@pytest.mark.parametrize(
    ("settings", "kept", "warning"),
    [
        pytest.param(None, False, None, id="default-drops"),
        pytest.param({"tests": {"onFailure": "warn"}}, True, None, id="warn-keeps"),
        pytest.param({"tests": {"onFailure": "fail"}}, False, "tests.onFailure", id="invalid-warns"),
    ],
)
async def test_add_tests_failing_proposal_follows_on_failure_setting(
    client: LanguageClient, duckdb_project: Path, settings: Any, kept: bool, warning: str | None
) -> None:
    """A relationship inferred at scan time that the data breaks since: dropped, or written as a warning."""
    await start_session(client, duckdb_project, options=settings)
    await execute(client, "cartridge.scanWarehouse", {"schema": "raw"})
    await execute(client, "cartridge.generateStaging", {"schema": "raw"})
    _run_sql(duckdb_project, """insert into raw."Order Events" values (99, 'clicked', null)""")

    models_yaml = duckdb_project / MODELS_YAML
    line = models_yaml.read_text().splitlines().index("  - name: stg_raw__order_events") + 1
    # As a palette sends it: the file and the cursor's line, which is in the model's entry.
    summary = await execute(client, "cartridge.addTests", {"uri": models_yaml.as_uri(), "line": line})

    assert summary["error"] is None and summary["failed"] == []
    text = models_yaml.read_text()
    assert ("to: ref('stg_raw__orders')" in text) is kept
    assert ("severity: warn" in text and "1 value not found in orders.id" in text) is kept
    invalid = [m.message for m in messages(client) if "invalid settings" in m.message]
    assert len(invalid) == (warning is not None)
    assert all(warning in message for message in invalid)


@pytest.mark.parametrize("client", ["neovim"], indirect=True)
async def test_document_columns_from_yaml_entry_keeps_descriptions(
    client: LanguageClient, duckdb_project: Path
) -> None:
    """Documenting from the model's YAML entry adds descriptions and never replaces one a person wrote."""
    await start_session(client, duckdb_project)
    await execute(client, "cartridge.generateStaging", {"schema": "raw"})
    models_yaml = duckdb_project / MODELS_YAML
    before = _hand_edit(models_yaml)
    line = before.splitlines().index("  - name: stg_raw__orders") + 2

    summary = await _run_action(client, models_yaml, DOCUMENT, line)

    assert summary["error"] is None and summary["replaced"] == [MODELS_YAML]
    after = models_yaml.read_text()
    assert _only_insertions(before, after)
    assert "description: Foreign key to customers." in after
    assert after.count("description:") > before.count("description:")
    assert "description: 'Where the order is: placed or shipped.'" in after
    assert "data_tests:" not in after  # documenting adds no tests

    # The file open with unsaved changes: replacing the buffer with the saved file + tests would lose them.
    item = types.TextDocumentItem(uri=models_yaml.as_uri(), language_id="yaml", version=1, text=after + "#\n")
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))
    edits = len(client.editor.edits)  # type: ignore[attr-defined]
    refused = await execute(client, "cartridge.addTests", {"model": "stg_raw__orders"})
    assert refused["error"] == f"Save {MODELS_YAML} first: Cartridge adds to the file as saved"
    assert len(client.editor.edits) == edits and models_yaml.read_text() == after  # type: ignore[attr-defined]


@pytest.mark.parametrize("client", ["visual-studio-code"], indirect=True)
async def test_generate_marts_creates_dimensions_and_facts_in_one_edit(
    client: LanguageClient, duckdb_project: Path
) -> None:
    """From a staging model, marts go to the configured domain's folder in one edit and pass the check."""
    await start_session(client, duckdb_project, options={"domain": "Sales"})
    await execute(client, "cartridge.generateStaging", {"schema": "raw"})
    edits_before = len(client.editor.edits)  # type: ignore[attr-defined]

    summary = await _run_action(client, duckdb_project / STAGING / "stg_raw__orders.sql", PROJECT_TITLES[2])

    marts = ["models/marts/sales/_sales__models.yml", "models/marts/sales/dim_customers.sql"]
    marts.append("models/marts/sales/fct_orders.sql")
    assert summary["error"] is None and summary["failed"] == []
    assert summary["created"] == marts and summary["replaced"] == ["dbt_project.yml"]
    [edit] = client.editor.edits[edits_before:]  # type: ignore[attr-defined]
    created = [op.uri for op in edit.document_changes or [] if isinstance(op, types.CreateFile)]
    assert created == [(duckdb_project / p).as_uri() for p in marts]
    assert "ref('stg_raw__customers')" in (duckdb_project / marts[1]).read_text()
    assert "materialized" in (duckdb_project / "dbt_project.yml").read_text()


@pytest.mark.parametrize("client", ["visual-studio-code"], indirect=True)
async def test_generate_staging_in_editor_records_files_for_regeneration(
    client: LanguageClient, duckdb_project: Path
) -> None:
    """Files the editor took are recorded: after a warehouse change, untouched ones are replaced."""
    await start_session(client, duckdb_project)
    first = await execute(client, "cartridge.generateStaging", {"schema": "raw"})
    assert first["writtenToDisk"] == [] and (duckdb_project / ".cartridge" / "generated.json").is_file()
    orders = duckdb_project / STAGING / "stg_raw__orders.sql"
    orders.write_text(orders.read_text() + "-- a hand edit\n")
    _run_sql(
        duckdb_project,
        "alter table raw.customers add column nickname varchar",
        "alter table raw.orders add column channel varchar",
    )

    again = await execute(client, "cartridge.generateStaging", {"schema": "raw", "rescan": True})

    assert f"{STAGING}/stg_raw__customers.sql" in again["replaced"]
    edited = [f"{STAGING}/stg_raw__orders.sql"]  # declined for review in VS Code, skipped elsewhere
    assert again["skipped"] + again["offeredForReview"] == edited
    assert "nickname" in (duckdb_project / STAGING / "stg_raw__customers.sql").read_text()
    assert orders.read_text().endswith("-- a hand edit\n") and "channel" not in orders.read_text()
