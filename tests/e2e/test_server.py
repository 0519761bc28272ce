"""The server as a process: errors become one message and it keeps serving; settings; a light start-up."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.e2e.conftest import (
    code_actions,
    decode_code_actions,
    execute,
    messages,
    progress_of,
    start_session,
)


def _break_project_file(root: Path) -> str:
    (root / "dbt_project.yml").write_text("name: shop\nprofile: [shop\n")
    return "Invalid YAML in"


def _no_profiles(root: Path) -> str:
    (root / "profiles.yml").unlink()
    return "No profiles.yml found"


def _missing_duckdb_file(root: Path) -> str:
    (root / "shop.duckdb").rename(root / "elsewhere.duckdb")
    return "does not exist"


@pytest.mark.parametrize("client", ["visual-studio-code"], indirect=True)
@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        pytest.param(_break_project_file, "dbt_project.yml", id="bad-dbt-project-yml"),
        pytest.param(_no_profiles, "profiles.yml", id="missing-profile"),
        pytest.param(_missing_duckdb_file, "shop.duckdb", id="wrong-duckdb-path"),
    ],
)
async def test_server_broken_setup_reports_once_and_keeps_serving(
    client: LanguageClient, duckdb_project: Path, break_it: Callable[[Path], str], expected: str
) -> None:
    """A broken project, profile or DuckDB path: one Error message, progress ends, the server goes on."""
    reason = break_it(duckdb_project)
    await start_session(client, duckdb_project)

    summary = await execute(client, "cartridge.generateStaging")

    [message] = messages(client)
    assert message.type == types.MessageType.Error
    assert reason in message.message and expected in message.message
    assert summary["error"] == message.message.removeprefix("Cartridge: ")
    assert isinstance(progress_of(client)[-1], types.WorkDoneProgressEnd)
    # Still serving: the next command runs and fails the same way, with its own single message.
    await execute(client, "cartridge.scanWarehouse")
    assert len(messages(client)) == 2
    assert not (duckdb_project / "models" / "staging").exists()


@pytest.mark.postgres
@pytest.mark.parametrize("client", ["neovim"], indirect=True)
async def test_server_unknown_postgres_database_reports(client: LanguageClient, pg_project: Path) -> None:
    """A profile naming a database that does not exist gives one "Cartridge:" error naming it."""
    profiles = pg_project / "profiles.yml"
    text = profiles.read_text()
    profiles.write_text(text.replace("dbname: cartridge_test_", "dbname: no_such_db_"))
    await start_session(client, pg_project)

    summary = await execute(client, "cartridge.scanWarehouse")

    [message] = messages(client)
    assert message.type == types.MessageType.Error
    assert "no_such_db_" in message.message
    assert summary["error"] is not None


@pytest.mark.parametrize("client", ["neovim"], indirect=True)
async def test_server_settings_and_arguments_are_checked(
    client: LanguageClient, duckdb_project: Path
) -> None:
    """Bad options warn and fall back to defaults; bad command arguments are InvalidParams."""
    init = await start_session(client, duckdb_project, options={"replaceExisting": "yes"})
    commands = init.capabilities.execute_command_provider
    assert commands is not None and commands.work_done_progress
    assert sorted(commands.commands) == [
        "cartridge.addTests",
        "cartridge.askAi",
        "cartridge.documentColumns",
        "cartridge.generateMarts",
        "cartridge.generateStaging",
        "cartridge.previewPrompt",
        "cartridge.scanWarehouse",
    ]
    [warning] = messages(client)
    assert warning.type == types.MessageType.Warning
    assert "replaceExisting" in warning.message

    for argument, complaint in [("raw", "must be an object"), ({"tabel": "x"}, "tabel")]:
        with pytest.raises(JsonRpcInvalidParams, match=complaint):
            await execute(client, "cartridge.generateStaging", argument)

    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"cartridge": {"schemas": ["raw"]}})
    )
    scan = await execute(client, "cartridge.scanWarehouse")
    assert scan["schemas"] == ["raw"]  # by default the empty `main` schema is scanned too
    # The core logs on its own thread; the records reach the client as window/logMessage.
    assert any(m.message.startswith("cartridge_core.") for m in client.log_messages)
    assert len(messages(client)) == 2  # the warning, then the scan's summary: no new warning


START_UP_PROBE = textwrap.dedent(
    """\
    import atexit, sys
    def report():
        heavy = {m.split(".")[0] for m in sys.modules} & {"dbt", "sqlalchemy", "duckdb", "psycopg2"}
        with open(sys.argv[1], "w") as out:
            out.write(",".join(sorted(heavy)))
    atexit.register(report)
    from cartridge_lsp.server import serve
    serve()
    """
)


async def test_server_start_up_and_code_actions_load_no_dbt(duckdb_project: Path, tmp_path: Path) -> None:
    """Initialize and code actions (in a sources file) import neither dbt nor a warehouse driver."""
    report = tmp_path / "modules.txt"
    config = ClientServerConfig(server_command=[sys.executable, "-c", START_UP_PROBE, str(report)])
    client = await config.start()
    decode_code_actions(client)
    try:
        await client.initialize_session(
            types.InitializeParams(
                capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
                root_uri=duckdb_project.as_uri(),
            )
        )
        sources = duckdb_project / "models" / "_sources.yml"
        sources.write_text("sources:\n  - name: raw\n    tables:\n      - name: orders\n")
        titles = [a.title for a in await code_actions(client, sources, line=3)]
        outside = tmp_path / "outside.sql"
        outside.write_text("select 1\n")
        outside_actions = await code_actions(client, outside)
        await client.shutdown_session()
    finally:
        await client.stop()
    assert "Cartridge: Generate staging model for raw.orders" in titles
    assert outside_actions == []  # not in a dbt project: nothing offered
    assert report.read_text() == ""
