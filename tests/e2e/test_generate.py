"""cartridge.generateStaging end to end: real server, warehouse and dbt; an editor applying the edit."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import duckdb
import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import (
    code_actions,
    execute,
    first_progress_begin,
    messages,
    progress_of,
    start_session,
)

STAGING = "models/staging/raw"
GENERATED = [
    f"{STAGING}/_raw__models.yml",
    f"{STAGING}/_raw__sources.yml",
    f"{STAGING}/stg_raw__big_orders.sql",
    f"{STAGING}/stg_raw__customers.sql",
    f"{STAGING}/stg_raw__order_events.sql",
    f"{STAGING}/stg_raw__orders.sql",
]
ALL_SCHEMAS = "Cartridge: Generate staging models for all source schemas"
SCAN = "Cartridge: Scan warehouse"
MARTS = "Cartridge: Generate intermediate and mart models"


@pytest.mark.parametrize(
    "project_fixture",
    [
        pytest.param("duckdb_project", id="duckdb"),
        pytest.param("pg_project", id="postgres", marks=pytest.mark.postgres),
    ],
)
async def test_generate_staging_delivers_checked_models(
    client: LanguageClient, request: pytest.FixtureRequest, project_fixture: str
) -> None:
    """Generation reports progress, delivers the files as the client allows, and is idempotent."""
    root: Path = request.getfixturevalue(project_fixture)
    await start_session(client, root)
    assert [a.title for a in await code_actions(client, root / "dbt_project.yml")] == [
        SCAN,
        ALL_SCHEMAS,
        MARTS,
    ]

    summary = await execute(client, "cartridge.generateStaging", {"schema": "raw"})

    assert summary["created"] == GENERATED
    assert summary["failed"] == [] and summary["skipped"] == [] and summary["error"] is None
    customers = (root / STAGING / "stg_raw__customers.sql").read_text()
    assert '"FirstName" as first_name,' in customers
    values = progress_of(client)
    assert isinstance(values[0], types.WorkDoneProgressBegin) and values[0].cancellable
    assert "Checking 4 models with dbt" in [v.message for v in values[1:-1]]
    assert isinstance(values[-1], types.WorkDoneProgressEnd)
    # One edit: a CreateFile and an insert for each new file, so one undo removes them all. Neovim
    # lists resource operations without the documentChanges flag; it gets the same edit.
    [edit] = client.editor.edits  # type: ignore[attr-defined]
    created = [op.uri for op in edit.document_changes if isinstance(op, types.CreateFile)]
    assert created == [(root / p).as_uri() for p in GENERATED]
    assert summary["writtenToDisk"] == []
    [message] = messages(client)
    assert message.message.startswith("Cartridge: created 6 files, unchanged 0, skipped 0")

    titles = [a.title for a in await code_actions(client, root / "dbt_project.yml")]
    assert titles == [SCAN, ALL_SCHEMAS, "Cartridge: Generate staging models for schema raw", MARTS]

    orders = root / STAGING / "stg_raw__orders.sql"
    generated = orders.read_text()
    orders.write_text(generated + "-- a hand edit\n")
    kept = await execute(client, "cartridge.generateStaging", {"schema": "raw"})
    assert kept["created"] == [] and kept["unchanged"] == [
        p for p in GENERATED if p != f"{STAGING}/stg_raw__orders.sql"
    ]
    assert orders.read_text().endswith("-- a hand edit\n")
    if client.client_name == "visual-studio-code":  # type: ignore[attr-defined]
        # A client with change annotations is offered the change to review; this user declines it.
        assert kept["offeredForReview"] == [f"{STAGING}/stg_raw__orders.sql"] and kept["skipped"] == []
        assert client.editor.declined == [orders.as_uri()]  # type: ignore[attr-defined]
        review = client.editor.edits[-1].change_annotations["cartridge.review"]  # type: ignore[attr-defined]
        assert review.needs_confirmation
        assert "1 you edited offered for review" in messages(client)[-1].message
    else:
        assert kept["skipped"] == [f"{STAGING}/stg_raw__orders.sql"] and kept["offeredForReview"] == []
        assert "skipped 1 (changed on disk)" in messages(client)[-1].message

    replaced = await execute(client, "cartridge.generateStaging", {"schema": "raw", "replace": True})
    assert replaced["replaced"] == [f"{STAGING}/stg_raw__orders.sql"]
    assert replaced["writtenToDisk"] == []  # both clients can edit an existing file
    assert orders.read_text() == generated


@pytest.mark.parametrize("client", ["visual-studio-code"], indirect=True)
async def test_generate_staging_code_action_for_source_table(
    client: LanguageClient, duckdb_project: Path
) -> None:
    """In a sources file, the table under the cursor gets an action with its schema and identifier."""
    sources = duckdb_project / "models" / "_sources.yml"
    sources.write_text(
        "version: 2\nsources:\n  - name: shop\n    schema: raw\n    tables:\n"
        "      - name: events\n        identifier: Order Events\n      - name: orders\n"
    )
    await start_session(client, duckdb_project)

    at_events = await code_actions(client, sources, line=6)
    at_header = await code_actions(client, sources, line=3)

    assert [a.title for a in at_header] == [SCAN, ALL_SCHEMAS, MARTS]
    assert [a.title for a in at_events] == [
        SCAN,
        ALL_SCHEMAS,
        MARTS,
        "Cartridge: Generate staging model for shop.events",
    ]
    command = at_events[3].command
    assert command is not None and command.command == "cartridge.generateStaging"
    assert list(command.arguments or []) == [
        {"schema": "raw", "table": "Order Events", "uri": sources.as_uri()}
    ]
    summary = await execute(client, command.command, *command.arguments)
    assert summary["created"] == [
        f"{STAGING}/_raw__models.yml",
        f"{STAGING}/_raw__sources.yml",
        f"{STAGING}/stg_raw__order_events.sql",
    ]
    assert summary["failed"] == []


async def _generate_from_stale_scan(client: LanguageClient, root: Path) -> dict[str, Any]:
    """Scan `raw` (on a progress token the client chose), drop orders.status, generate from the scan."""
    await start_session(client, root)
    client.progress_reports["scan-token"] = []
    scan = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="cartridge.scanWarehouse",
            arguments=[{"schema": "raw"}],
            work_done_token="scan-token",
        )
    )
    assert {k: scan[k] for k in ("schemas", "tables", "columns", "relationships", "inferred")} == {
        "schemas": ["raw"],
        "tables": 4,
        "columns": 16,
        "relationships": 2,  # orders.customer_id declared; "Order Events".order_id inferred from data
        "inferred": 1,
    }
    assert scan["roles"] and scan["changes"] == []
    assert isinstance(client.progress_reports["scan-token"][-1], types.WorkDoneProgressEnd)
    con = duckdb.connect(str(root / "shop.duckdb"))
    try:
        con.execute("alter table raw.orders drop column status")
    finally:
        con.close()
    return await execute(client, "cartridge.generateStaging", {"schema": "raw"})


@pytest.mark.parametrize("client", ["visual-studio-code"], indirect=True)
async def test_generate_staging_stale_scan_publishes_diagnostic(
    client: LanguageClient, duckdb_project: Path
) -> None:
    """A column dropped after the scan fails dbt's check: an Error diagnostic on that column's line."""
    stale = await _generate_from_stale_scan(client, duckdb_project)

    model = duckdb_project / STAGING / "stg_raw__orders.sql"
    [failure] = stale["failed"]
    assert failure["model"] == "stg_raw__orders"
    assert failure["path"] == f"{STAGING}/stg_raw__orders.sql"
    [diagnostic] = client.diagnostics[model.as_uri()]
    assert diagnostic.severity == types.DiagnosticSeverity.Error
    assert diagnostic.source == "cartridge"
    assert model.read_text().splitlines()[diagnostic.range.start.line].strip() == "status,"
    assert diagnostic.range.start.line == failure["line"] - 1
    assert [m.type for m in messages(client)][-1] == types.MessageType.Warning


@pytest.mark.parametrize("client", ["visual-studio-code"], indirect=True)
async def test_generate_staging_rescan_replaces_and_clears_diagnostic(
    client: LanguageClient, duckdb_project: Path
) -> None:
    """Rescanning and replacing after a stale scan rewrites the model and clears its diagnostic."""
    await _generate_from_stale_scan(client, duckdb_project)
    model = duckdb_project / STAGING / "stg_raw__orders.sql"
    assert client.diagnostics[model.as_uri()]

    fixed = await execute(
        client, "cartridge.generateStaging", {"schema": "raw", "rescan": True, "replace": True}
    )

    assert fixed["error"] is None and fixed["failed"] == []
    assert f"{STAGING}/stg_raw__orders.sql" in fixed["replaced"]
    assert "status" not in model.read_text()
    assert list(client.diagnostics[model.as_uri()]) == []


@pytest.mark.parametrize("client", ["neovim"], indirect=True)
async def test_generate_staging_cancel_leaves_no_files(client: LanguageClient, duckdb_project: Path) -> None:
    """Cancelling the progress stops the run before anything is written, even by the server itself."""
    await start_session(client, duckdb_project)
    run = asyncio.create_task(execute(client, "cartridge.generateStaging"))
    token = await first_progress_begin(client)
    second = await execute(client, "cartridge.generateStaging")  # a double click: refused, not queued

    client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    summary = await run

    assert summary["cancelled"] is True and summary["created"] == []
    assert not (duckdb_project / "models" / "staging").exists()
    assert client.progress_reports[token][-1] == types.WorkDoneProgressEnd(message="Cancelled")
    assert second["error"].startswith("Another Cartridge scan or generation is running")
    assert [m.message for m in messages(client)] == [
        "Cartridge: " + second["error"],
        "Cartridge: cancelled; no file was changed",
    ]


@pytest.mark.parametrize("client", ["visual-studio-code"], indirect=True)
async def test_generate_staging_client_without_file_creation_gets_files_on_disk(
    client: LanguageClient, duckdb_project: Path
) -> None:
    """A client that cannot create files gets them written by the server, atomically, and is told so."""
    capabilities = pytest_lsp.client_capabilities("visual-studio-code")
    assert capabilities.workspace is not None
    capabilities.workspace.workspace_edit = types.WorkspaceEditClientCapabilities(document_changes=False)
    await client.initialize_session(
        types.InitializeParams(capabilities=capabilities, root_uri=duckdb_project.as_uri())
    )

    summary = await execute(client, "cartridge.generateStaging", {"schema": "raw"})

    assert summary["error"] is None and summary["failed"] == []
    assert summary["writtenToDisk"] == GENERATED
    assert client.editor.edits == []  # type: ignore[attr-defined]
    assert "source('raw', 'orders')" in (duckdb_project / STAGING / "stg_raw__orders.sql").read_text()
