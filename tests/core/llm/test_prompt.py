"""What the prompt holds: metadata by default; values and comments only when allowed; never denied ones."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from cartridge_core.llm import LlmConfig, ModelSource, render_prompt
from cartridge_core.llm.prompt import denied, describe_warehouse
from cartridge_core.models import DbtProject, Scan
from tests.core.llm.conftest import SAMPLE_EMAIL, SAMPLE_VALUE

MOCK = LlmConfig(provider="mock")


def _project(root: Path) -> DbtProject:
    (root / "models" / "marts").mkdir(parents=True)
    (root / "models" / "marts" / "fct_orders.sql").write_text("select 1 as order_id -- house style\n")
    (root / "models" / "stg_x.sql").write_text("select 2 as x\n")
    return DbtProject(root=root, name="shop", profile_name="shop")


def test_prompt_default_sends_metadata_only(shop_scan: Scan) -> None:
    """By default: names, types, keys, row and distinct counts; no values, min/max or comments."""
    text = describe_warehouse(shop_scan, MOCK)
    for expected in (
        "Table raw.orders (table; 2 rows; role: fact), staged as {{ ref('stg_raw__orders') }}",
        "primary key: id",
        "foreign key: customer_id -> raw.customers(id)",
        "status: VARCHAR [0% null; 2 distinct]",
        "id: INTEGER not null -> order_id",
        "raw.orders(customer_id) -> raw.customers(id), declared",
    ):
        assert expected in text
    for absent in (SAMPLE_VALUE, SAMPLE_EMAIL, "placed", "Ada", "People who bought", "Contact e-mail"):
        assert absent not in text


def test_prompt_samples_only_when_allowed_and_never_denied(shop_scan: Scan) -> None:
    """With send_samples, values of ordinary columns are sent; email and FirstName (denylist) never are."""
    text = describe_warehouse(shop_scan, replace(MOCK, send_samples=True))
    assert f"top values: placed (1), {SAMPLE_VALUE} (1)" in text and f"max {SAMPLE_VALUE}" in text
    assert SAMPLE_EMAIL not in text and "Ada" not in text


def test_prompt_comments_only_when_allowed(shop_scan: Scan) -> None:
    """Warehouse comments are sent only with send_comments."""
    text = describe_warehouse(shop_scan, replace(MOCK, send_comments=True))
    assert "comment: People who bought something." in text and "comment: Contact e-mail address." in text


@pytest.mark.parametrize(
    ("name", "is_denied"),
    [
        pytest.param("customer_email", True, id="email"),
        pytest.param("FirstName", True, id="name-camel"),
        pytest.param("phone_number", True, id="phone"),
        pytest.param("ip", True, id="ip"),
        pytest.param("client_ip_address", True, id="ip-address"),
        pytest.param("date_of_birth", True, id="birth"),
        pytest.param("api_token", True, id="token"),
        pytest.param("ship_date", False, id="ship-is-not-ip"),
        pytest.param("status", False, id="status"),
        pytest.param("amount", False, id="amount"),
    ],
)
def test_prompt_denylist_patterns(name: str, is_denied: bool) -> None:
    """The default denylist catches personal and secret columns, not ordinary ones."""
    assert denied(name, MOCK.denylist) is is_denied


def test_render_prompt_model_has_request_and_style_examples(shop_scan: Scan, tmp_path: Path) -> None:
    """The model prompt carries the request, the project's models (marts first) and the answer schema."""
    prompt = render_prompt(
        _project(tmp_path), shop_scan, MOCK, task="model", request="monthly revenue per customer"
    )
    assert [m.role for m in prompt.messages] == ["system", "user"]
    assert "select from {{ source() }}" in prompt.messages[0].content  # Jinja braces survive
    user = prompt.messages[1].content
    assert "Request: monthly revenue per customer" in user
    assert "Existing models: fct_orders, stg_x." in user
    assert user.index("models/marts/fct_orders.sql") < user.index("models/stg_x.sql")
    text = prompt.as_text()
    assert "--- answer schema: dbt_model ---" in text and '"sql"' in text
    assert prompt.example is not None and prompt.example not in text  # the mock's answer is never shown


@pytest.mark.parametrize("task", ["staging", "tests", "docs"])
def test_render_prompt_each_task_sends_no_values(shop_scan: Scan, tmp_path: Path, task: str) -> None:
    """Every task's prompt is free of warehouse values while sampling is off."""
    details = {"models": [ModelSource(name="fct_orders", sql="select 1", columns=("order_id",))]}
    prompt = render_prompt(
        _project(tmp_path), shop_scan, MOCK, task=task, **(details if task == "docs" else {})
    )
    text = prompt.as_text()
    assert SAMPLE_VALUE not in text and SAMPLE_EMAIL not in text and "placed" not in text
    assert "stg_raw__orders" in text or task == "docs"
