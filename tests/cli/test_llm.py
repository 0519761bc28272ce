"""`cartridge-lsp --generate --llm …`: the LLM's model checked by real dbt, the prompt shown without
sending, provider errors as one line; the real OpenAI SDK talks to a local fake server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cartridge_lsp.cli import main
from tests.core.llm.fake_provider import FakeProvider, error_reply, openai_answer
from tests.core.llm.test_modelling import BAD_SQL, GOOD_SQL, REQUEST, model_answer

KEY_ENV = "CARTRIDGE_TEST_CLI_OPENAI_KEY"
KEY = "sk-test-CARTRIDGE-cli-5e6f7a8b9c0d1e2f"
MODEL = "models/intermediate/int_customer_order_totals.sql"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProvider]:
    monkeypatch.setenv(KEY_ENV, KEY)
    server = FakeProvider().start()
    try:
        yield server
    finally:
        server.close()


def _llm(fake: FakeProvider, root: Path, *extra: str) -> list[str]:
    return [
        "--generate", "--project-dir", str(root), "--profiles-dir", str(root),
        "--llm", "openai", "--llm-model", "gpt-4o-mini", "--llm-base-url", f"{fake.url}/v1",
        "--llm-key-env", KEY_ENV, *extra,
    ]  # fmt: skip


def test_request_is_written_after_dbt_rejects_it_once(
    fake: FakeProvider, duckdb_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.script = [openai_answer(model_answer(BAD_SQL)), openai_answer(model_answer(GOOD_SQL))]
    code = main(_llm(fake, duckdb_project, "--request", REQUEST))
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert (duckdb_project / MODEL).read_text() == GOOD_SQL
    assert f"created   {MODEL}" in out
    assert "2 LLM requests to gpt-4o-mini" in out
    assert KEY not in out + err
    assert len(fake.requests) == 2


def test_show_prompt_sends_nothing_and_writes_nothing(
    fake: FakeProvider, duckdb_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sorted(p.relative_to(duckdb_project) for p in (duckdb_project / "models").rglob("*"))
    code = main(_llm(fake, duckdb_project, "--request", REQUEST, "--show-prompt"))
    out, err = capsys.readouterr()
    assert code == 0, err
    assert REQUEST in out and "--- system ---" in out and "stg_raw__orders" in out
    assert "Ada" not in out  # row data stays home: sampling is off
    assert fake.requests == []
    assert sorted(p.relative_to(duckdb_project) for p in (duckdb_project / "models").rglob("*")) == before


def test_sql_that_never_passes_is_not_written_and_exits_1(
    fake: FakeProvider, duckdb_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.script = [openai_answer(model_answer(BAD_SQL))] * 3
    code = main(_llm(fake, duckdb_project, "--request", REQUEST))
    out, _ = capsys.readouterr()
    assert code == 1
    assert not (duckdb_project / MODEL).exists()
    assert "not written" in out and "shipping_method" in out


def test_wrong_key_is_one_line_naming_the_provider_and_never_the_key(
    fake: FakeProvider, duckdb_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.key = "sk-the-right-one-0000000000"
    code = main(_llm(fake, duckdb_project, "--request", REQUEST))
    out, err = capsys.readouterr()
    assert code == 2
    [line] = err.strip().splitlines()
    assert line.startswith("Cartridge: ") and "OpenAI" in line
    assert KEY not in out + err and KEY[:12] not in out + err


def test_request_without_a_provider_is_a_config_error(duckdb_project: Path, capsys) -> None:
    code = main(["--generate", "--project-dir", str(duckdb_project), "--request", REQUEST])
    assert code == 2
    assert "--llm PROVIDER" in capsys.readouterr().err


def test_unknown_provider_names_the_setting(duckdb_project: Path, capsys) -> None:
    code = main(["--generate", "--project-dir", str(duckdb_project), "--llm", "skynet"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("Cartridge: --llm") and "openai, anthropic, gemini" in err


def test_server_error_then_success_is_retried(
    fake: FakeProvider, duckdb_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.script = [error_reply(503, "overloaded", kind="server_error"), openai_answer(model_answer(GOOD_SQL))]
    code = main(_llm(fake, duckdb_project, "--request", REQUEST))
    assert code == 0, capsys.readouterr()
    assert len(fake.requests) == 2


def test_llm_test_ideas_are_run_on_the_data_before_they_are_written(
    fake: FakeProvider, duckdb_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--llm --tests: the idea that holds is merged into the models YAML; the one the data breaks is not."""
    from tests.core.llm.test_tasks import idea

    assert main(["--generate", "--project-dir", str(duckdb_project)]) == 0
    ideas = {
        "tests": [
            idea(
                "stg_raw__orders", "status", "accepted_values", values=["placed", "shipped"], reason="states"
            ),
            idea("stg_raw__customers", "first_name", "accepted_values", values=["Ada"], reason="only Ada"),
        ]
    }
    fake.script = [openai_answer(ideas)]
    capsys.readouterr()
    code = main(_llm(fake, duckdb_project, "--tests"))
    out, err = capsys.readouterr()
    assert code == 0, out + err
    yaml = (duckdb_project / "models/staging/raw/_raw__models.yml").read_text()
    assert (
        "evidence: 'proposed by the LLM: states'" in yaml or 'evidence: "proposed by the LLM: states"' in yaml
    )
    assert "Ada" not in yaml
    assert "1 of 2 proposed tests pass on the data" in err
    assert "replaced  models/staging/raw/_raw__models.yml" in out


def test_llm_docs_fill_only_missing_descriptions(
    fake: FakeProvider, duckdb_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--llm --docs: the LLM's descriptions go where there are none; the warehouse comment stays."""
    assert main(["--generate", "--project-dir", str(duckdb_project)]) == 0
    answer = {
        "models": [
            {
                "name": "stg_raw__customers",
                "description": "One row per customer account.",
                "columns": [
                    {"name": "first_name", "description": "Given name as typed at sign-up."},
                    {"name": "email", "description": "LLM text that must not replace the comment."},
                    {"name": "shoe_size", "description": "Invented."},
                ],
            }
        ]
    }
    fake.script = [openai_answer(answer)]
    capsys.readouterr()
    code = main(_llm(fake, duckdb_project, "--docs"))
    out, err = capsys.readouterr()
    assert code == 0, out + err
    yaml = (duckdb_project / "models/staging/raw/_raw__models.yml").read_text()
    assert "Given name as typed at sign-up." in yaml
    assert "Contact e-mail address." in yaml and "must not replace" not in yaml
    assert "shoe_size" not in yaml and "shoe_size, which it does not have" in out
    assert "Ada" not in fake.requests[0].body  # row data never sent while sampling is off
