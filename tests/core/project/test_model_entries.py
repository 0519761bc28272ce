"""Which model entry of a models YAML a line belongs to (for code actions on an open document)."""

from __future__ import annotations

import pytest

from cartridge_core.project.model_entries import model_at

MODELS = """\
version: 2

models:
  # staged orders
  - name: stg_raw__orders
    description: |
      Orders.

    columns:
      - name: order_id

  - {name: stg_raw__customers, description: People.}
sources:
  - name: raw
"""


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param(0, None, id="version"),
        pytest.param(2, None, id="models-key"),
        pytest.param(3, None, id="comment-before-entry"),
        pytest.param(4, "stg_raw__orders", id="name-line"),
        pytest.param(6, "stg_raw__orders", id="block-scalar"),
        pytest.param(9, "stg_raw__orders", id="column"),
        pytest.param(10, None, id="blank-between-entries"),
        pytest.param(11, "stg_raw__customers", id="flow-entry"),
        pytest.param(13, None, id="source"),
        pytest.param(40, None, id="past-the-end"),
    ],
)
def test_model_at_line(line: int, expected: str | None) -> None:
    """A line inside a model's entry names that model; other lines name none."""
    assert model_at(MODELS, line) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("models: [\n", id="not-yaml"),
        pytest.param("- name: stg_x\n", id="not-a-mapping"),
        pytest.param("models:\n  - columns: []\n", id="entry-without-name"),
        pytest.param("models: stg_x\n", id="models-not-a-list"),
        pytest.param("", id="empty"),
    ],
)
def test_model_at_other_documents(text: str) -> None:
    """Documents that are not models YAML (or entries without a name) name no model."""
    assert all(model_at(text, line) is None for line in range(3))
