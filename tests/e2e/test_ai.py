"""cartridge.askAi and cartridge.previewPrompt end to end: a real server, warehouse and dbt, and the real
OpenAI SDK inside the server talking to a local fake provider (tests/core/llm/fake_provider.py)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.core.llm.fake_provider import FakeProvider, Scripted, error_reply, openai_answer
from tests.core.llm.test_modelling import BAD_SQL, GOOD_SQL, REQUEST, model_answer
from tests.e2e.conftest import (
    code_actions,
    execute,
    first_progress_begin,
    messages,
    progress_of,
    start_session,
)
from tests.e2e.test_nvim import PLUGIN_DIR, SUBPROCESS_TIMEOUT_S, TIMEOUTS_MS

KEY_ENV = "CARTRIDGE_TEST_LSP_OPENAI_KEY"
KEY = "sk-test-CARTRIDGE-lsp-3c4d5e6f7a8b9c0d"
ASK_AI = "Cartridge: Ask AI for a model…"
MODEL = "models/intermediate/int_customer_order_totals.sql"
MODEL_YAML = "models/intermediate/_int_customer_order_totals__models.yml"
NOT_CONFIGURED = "Cartridge: set cartridge.llm.provider"
NVIM_SCRIPT = Path(__file__).resolve().parent / "nvim" / "ai.lua"


@pytest.fixture(autouse=True)
def key_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API key in the environment the server inherits (autouse: set before `client` starts it)."""
    monkeypatch.setenv(KEY_ENV, KEY)


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    """The fake provider on 127.0.0.1, closed after the test (which lets hanging replies go)."""
    server = FakeProvider().start()
    try:
        yield server
    finally:
        server.close()


def llm_options(fake: FakeProvider, **more: Any) -> dict[str, Any]:
    """Initialization options pointing the server's LLM settings at the fake provider."""
    settings = {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "baseUrl": f"{fake.url}/v1",
        "apiKeyEnv": KEY_ENV,
        "timeoutSeconds": 20,
        "maxAttempts": 2,
        "maxRepairs": 2,
    }
    return {"llm": settings | more}


def _everything_said(client: LanguageClient) -> str:
    """Every showMessage and logMessage the client received, as one text to search."""
    return "\n".join(m.message for m in [*client.messages, *client.log_messages])


def _reports(client: LanguageClient) -> list[str]:
    return [v.message or "" for v in progress_of(client) if isinstance(v, types.WorkDoneProgressReport)]


def _edited_uris(edit: types.WorkspaceEdit) -> list[str]:
    uris = list((edit.changes or {}).keys())
    for change in edit.document_changes or []:
        uris.append(change.uri if isinstance(change, types.CreateFile) else change.text_document.uri)
    return sorted(set(uris))


@pytest.mark.parametrize(
    "project_fixture",
    [
        pytest.param("duckdb_project", id="duckdb"),
        pytest.param("pg_project", id="postgres", marks=pytest.mark.postgres),
    ],
)
@pytest.mark.parametrize("client", ["visual-studio-code"], indirect=True)
async def test_ask_ai_action_writes_checked_model_in_one_edit(
    client: LanguageClient, fake: FakeProvider, request: pytest.FixtureRequest, project_fixture: str
) -> None:
    """The action (plus the request an input box adds) writes the model in one edit, checked after."""
    root: Path = request.getfixturevalue(project_fixture)
    fake.script = [openai_answer(model_answer(GOOD_SQL))]
    await start_session(client, root, options=llm_options(fake))
    [action] = [a for a in await code_actions(client, root / "dbt_project.yml") if a.title == ASK_AI]
    assert action.kind == types.CodeActionKind.Source and action.command is not None
    assert action.command.command == "cartridge.askAi"
    [argument] = action.command.arguments or []
    assert argument == {"uri": (root / "dbt_project.yml").as_uri()}

    summary = await execute(client, "cartridge.askAi", argument | {"request": REQUEST})

    assert summary["error"] is None and summary["failed"] == [] and summary["checked"] is True
    assert (summary["source"], summary["model"], summary["path"]) == (
        "llm",
        "int_customer_order_totals",
        MODEL,
    )
    assert summary["repairs"] == 0 and summary["usage"]["requests"] == 1
    assert summary["usage"]["inputTokens"] == 120 and summary["usage"]["costUsd"] > 0
    assert MODEL in summary["created"] and MODEL_YAML in summary["created"]
    assert "models/staging/raw/stg_raw__orders.sql" in summary["created"]  # what the model refs
    [edit] = client.editor.edits  # type: ignore[attr-defined]
    assert (root / MODEL).as_uri() in _edited_uris(edit)
    assert (root / MODEL).read_text() == GOOD_SQL
    reports = _reports(client)
    applied = reports.index("Applying the edit…")
    assert any(r.startswith("Checking ") and r.endswith(" with dbt") for r in reports[applied:])
    [message] = messages(client)
    assert message.type == types.MessageType.Info
    assert message.message.startswith("Cartridge: int_customer_order_totals passed the dbt check: created ")
    assert "1 LLM request to gpt-4o-mini: 120 tokens in, 30 out" in message.message
    assert len(fake.requests) == 1 and REQUEST in fake.requests[0].body
    assert KEY not in _everything_said(client)


@pytest.mark.parametrize("client", ["neovim"], indirect=True)
async def test_ask_ai_repairs_sql_that_fails_the_check_once(
    client: LanguageClient, fake: FakeProvider, duckdb_project: Path
) -> None:
    """dbt's error goes back to the LLM; the repaired model is written and the message says so."""
    fake.script = [openai_answer(model_answer(BAD_SQL)), openai_answer(model_answer(GOOD_SQL))]
    await start_session(client, duckdb_project, options=llm_options(fake))

    summary = await execute(client, "cartridge.askAi", {"request": REQUEST})

    assert summary["error"] is None and summary["source"] == "llm-repaired" and summary["repairs"] == 1
    assert (duckdb_project / MODEL).read_text() == GOOD_SQL
    assert len(fake.requests) == 2
    repair = fake.requests[1].json["messages"][-1]["content"]
    assert "dbt checked the model" in repair and "line 8: `shipping_method,`" in repair
    assert len(client.editor.edits) == 1  # type: ignore[attr-defined]
    [message] = messages(client)
    assert "passed the dbt check after 1 repair" in message.message
    assert "2 LLM requests to gpt-4o-mini" in message.message


@pytest.mark.parametrize("client", ["visual-studio-code"], indirect=True)
async def test_ask_ai_model_that_never_passes_is_not_written(
    client: LanguageClient, fake: FakeProvider, duckdb_project: Path
) -> None:
    """SQL that still fails after the repairs: no edit, one error message with dbt's complaint."""
    fake.script = [openai_answer(model_answer(BAD_SQL))] * 2
    await start_session(client, duckdb_project, options=llm_options(fake, maxRepairs=1))

    summary = await execute(client, "cartridge.askAi", {"request": REQUEST})

    assert summary["source"] == "failed" and summary["created"] == [] and summary["repairs"] == 1
    assert "shipping_method" in summary["error"] and "nothing will be written" in summary["error"]
    assert "shipping_method" in summary["sql"]
    assert client.editor.edits == []  # type: ignore[attr-defined]
    assert not (duckdb_project / "models" / "intermediate").exists()
    [message] = messages(client)
    assert message.type == types.MessageType.Error
    assert summary["error"] in message.message and "2 LLM requests" in message.message


@pytest.mark.parametrize("client", ["visual-studio-code"], indirect=True)
async def test_ask_ai_cancel_mid_request_writes_nothing(
    client: LanguageClient, fake: FakeProvider, duckdb_project: Path
) -> None:
    """Cancel while the provider is still thinking: the run stops at once, nothing is written, and the
    server goes on serving."""
    fake.script = [Scripted(body=openai_answer(model_answer(GOOD_SQL)).body, delay=60)]
    await start_session(client, duckdb_project, options=llm_options(fake, timeoutSeconds=120))
    run = asyncio.create_task(execute(client, "cartridge.askAi", {"request": REQUEST}))
    token = await first_progress_begin(client)
    for _ in range(6000):  # the scan comes first: wait until the request is out
        if fake.requests or run.done():
            break
        await asyncio.sleep(0.01)
    assert len(fake.requests) == 1 and not run.done()

    client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    summary = await asyncio.wait_for(run, timeout=10)  # not the 60 s the reply would take

    assert summary["cancelled"] is True and summary["created"] == [] and summary["source"] is None
    assert client.editor.edits == []  # type: ignore[attr-defined]
    assert not (duckdb_project / "models" / "intermediate").exists()
    assert client.progress_reports[token][-1] == types.WorkDoneProgressEnd(message="Cancelled")
    assert [m.message for m in messages(client)] == ["Cartridge: cancelled; no file was changed"]
    preview = await asyncio.wait_for(execute(client, "cartridge.previewPrompt", {"request": REQUEST}), 30)
    assert preview["error"] is None and REQUEST in preview["prompt"]
    assert len(fake.requests) == 1


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("client", ["neovim"], indirect=True)
@pytest.mark.parametrize(
    ("failure", "kind", "said", "requests"),
    [
        pytest.param(
            "401", "auth", f"OpenAI rejected the API key in ${KEY_ENV} (401 Unauthorized)", 1, id="401"
        ),
        pytest.param("404", "model", "OpenAI does not know model gpt-4o-mini (404 Not Found)", 1, id="404"),
        pytest.param("429", "quota", "OpenAI refused more requests to gpt-4o-mini (429", 2, id="429-retried"),
        pytest.param("down", "unreachable", "Cannot reach OpenAI at http://127.0.0.1:", 0, id="unreachable"),
    ],
)
async def test_ask_ai_provider_error_is_one_message_without_the_key(
    client: LanguageClient,
    fake: FakeProvider,
    duckdb_project: Path,
    failure: str,
    kind: str,
    said: str,
    requests: int,
) -> None:
    """A provider failure is one Error (the 401's fake echoes the key it got); the key is nowhere, nothing
    is written, and the server keeps serving."""
    options = llm_options(fake)
    if failure == "401":
        fake.key = "sk-the-right-one-0000000000000000"
    elif failure == "404":
        fake.script = [error_reply(404, "The model does not exist", code="model_not_found")]
    elif failure == "429":
        fake.script = [
            error_reply(429, "You exceeded your quota", code="insufficient_quota", retry_after="0")
        ] * 2
    else:
        options["llm"]["baseUrl"] = f"http://127.0.0.1:{_closed_port()}/v1"
    await start_session(client, duckdb_project, options=options)

    summary = await execute(client, "cartridge.askAi", {"request": REQUEST})

    assert summary["errorKind"] == kind and summary["created"] == [] and summary["source"] is None
    assert summary["error"].startswith(said)
    [message] = messages(client)
    assert (message.type, message.message) == (types.MessageType.Error, f"Cartridge: {summary['error']}")
    everything = _everything_said(client)
    assert KEY not in everything and KEY[:12] not in everything and KEY[-12:] not in everything
    assert client.editor.edits == [] and not client.diagnostics  # type: ignore[attr-defined]
    assert len(fake.requests) == requests  # 429 is retried (maxAttempts 2); 401 and 404 are not
    scan = await execute(client, "cartridge.scanWarehouse")  # the server keeps serving
    assert scan["tables"] == 4


@pytest.mark.parametrize("client", ["visual-studio-code"], indirect=True)
async def test_preview_prompt_returns_the_prompt_and_sends_nothing(
    client: LanguageClient, fake: FakeProvider, duckdb_project: Path
) -> None:
    """The prompt for a request (or, without one, for staging) comes back as text; no request leaves."""
    await start_session(client, duckdb_project, options=llm_options(fake))

    preview = await execute(client, "cartridge.previewPrompt", {"request": REQUEST})
    staging = await execute(client, "cartridge.previewPrompt")

    assert preview["error"] is None and staging["error"] is None
    prompt = preview["prompt"]
    assert prompt.startswith("--- system ---") and f"Request: {REQUEST}" in prompt
    assert "stg_raw__orders" in prompt and "raw.orders" in prompt
    assert "Ada" not in prompt and "ada@example.com" not in prompt  # no row data while sampling is off
    assert REQUEST not in staging["prompt"] and staging["prompt"] != prompt
    assert fake.requests == []
    assert client.editor.edits == [] and messages(client) == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("client", ["visual-studio-code"], indirect=True)
async def test_ai_commands_without_provider_answer_one_message(
    client: LanguageClient, fake: FakeProvider, duckdb_project: Path
) -> None:
    """No provider: no action, and each AI command is one message saying what to set, nothing else;
    once the settings name one, the action is offered."""
    await start_session(client, duckdb_project)
    project_file = duckdb_project / "dbt_project.yml"
    assert ASK_AI not in [a.title for a in await code_actions(client, project_file)]

    asked = await execute(client, "cartridge.askAi", {"request": REQUEST})
    previewed = await execute(client, "cartridge.previewPrompt", {"request": REQUEST})

    assert asked["error"].startswith("set cartridge.llm.provider") and asked["created"] == []
    assert previewed["error"] == asked["error"] and previewed["prompt"] is None
    said = [m.message for m in messages(client)]
    assert len(said) == 2 and all(m.startswith(NOT_CONFIGURED) for m in said)
    assert progress_of(client) == [] and fake.requests == []

    settings = {"cartridge": llm_options(fake)}
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=settings))
    assert ASK_AI in [a.title for a in await code_actions(client, project_file)]


@pytest.mark.parametrize("client", ["neovim"], indirect=True)
@pytest.mark.parametrize(
    ("llm", "setting"),
    [
        pytest.param({"apiKey": KEY}, "cartridge.llm.apiKey", id="key-in-settings"),
        pytest.param({"timeoutSeconds": 0}, "cartridge.llm.timeoutSeconds", id="bad-timeout"),
        pytest.param({"provider": "skynet"}, "cartridge.llm.provider", id="unknown-provider"),
    ],
)
async def test_bad_llm_setting_is_one_warning_naming_it(
    client: LanguageClient, fake: FakeProvider, duckdb_project: Path, llm: dict[str, Any], setting: str
) -> None:
    """A bad LLM setting: one warning naming it (never echoing a value), the AI off, other settings kept."""
    options = llm_options(fake)
    options["llm"] |= llm
    await start_session(client, duckdb_project, options=options | {"domain": "sales"})

    [warning] = messages(client)
    assert warning.type == types.MessageType.Warning
    assert warning.message.startswith("Cartridge: invalid LLM settings, the AI commands are off: " + setting)
    assert KEY not in _everything_said(client)
    assert ASK_AI not in [a.title for a in await code_actions(client, duckdb_project / "dbt_project.yml")]
    asked = await execute(client, "cartridge.askAi", {"request": REQUEST})
    assert asked["error"].startswith("set cartridge.llm.provider")
    assert any("domain='sales'" in m.message for m in client.log_messages)  # the rest still applies


@pytest.mark.nvim
def test_nvim_preview_prompt_and_ask_ai_action(
    fake: FakeProvider, duckdb_project: Path, tmp_path: Path
) -> None:
    """Neovim: :CartridgePreviewPrompt opens a read-only scratch buffer; the code action asks for the
    request, and the checked model arrives as an edit that `:wall` saves."""
    nvim = shutil.which(os.environ.get("CARTRIDGE_TEST_NVIM", "nvim"))
    if nvim is None:
        pytest.skip("nvim is not installed (Debian package `neovim`)")
    fake.script = [openai_answer(model_answer(GOOD_SQL))]
    config = {
        "plugin_dir": str(PLUGIN_DIR),
        "cmd": [sys.executable, "-m", "cartridge_lsp"],
        "init_options": llm_options(fake),
        "open_file": str(duckdb_project / "dbt_project.yml"),
        "action_title": ASK_AI,
        "request": REQUEST,
        "result_file": str(tmp_path / "result.json"),
        "log_file": str(tmp_path / "nvim.log"),
        "timeouts": TIMEOUTS_MS,
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    env = {
        **os.environ,
        "CARTRIDGE_E2E_CONFIG": str(tmp_path / "config.json"),
        **{f"XDG_{kind}_HOME": str(tmp_path / "xdg" / kind.lower()) for kind in ("CACHE", "STATE", "DATA")},
    }
    command = [nvim, "--headless", "--clean", "-u", "NONE", "-c", f"luafile {NVIM_SCRIPT}"]
    done = subprocess.run(
        command, cwd=duckdb_project, env=env, capture_output=True, text=True,
        timeout=SUBPROCESS_TIMEOUT_S, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    log = tmp_path / "nvim.log"
    report = f"{done.stdout}{done.stderr}\n{log.read_text() if log.exists() else ''}"
    result = json.loads((tmp_path / "result.json").read_text())
    assert done.returncode == 0 and "error" not in result, report

    prompt = result["prompt"]
    assert prompt["lines"][0] == "--- system ---" and f"Request: {REQUEST}" in prompt["lines"], report
    assert (prompt["buftype"], prompt["modifiable"]) == ("nofile", False), report
    assert ASK_AI in result["titles"] and len(result["asked"]) == 1, report
    assert result["edits"] and all(edit["applied"] for edit in result["edits"]), report
    # Neovim saves the buffer the edit filled with a final empty line: compare without it.
    assert (duckdb_project / MODEL).read_text().rstrip("\n") == GOOD_SQL.rstrip("\n"), report
    assert any("passed the dbt check" in m for m in result["messages"]), report
    assert len(fake.requests) == 1  # the preview sent nothing; the action sent one request
