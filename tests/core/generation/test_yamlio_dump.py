"""dump_yaml: the layout dbt Labs' files use, and text that dbt (PyYAML, YAML 1.1) reads back exactly."""

from __future__ import annotations

import pytest
import yaml as pyyaml  # the library dbt itself reads YAML with

from cartridge_core.project.yamlio import dump_yaml


def test_dump_yaml_layout() -> None:
    """Keys keep their order, sequences sit two spaces under their key, top-level keys are spaced."""
    data = {
        "version": 2,
        "models": [{"name": "stg_raw__orders", "columns": [{"name": "id", "data_tests": ["unique"]}]}],
    }
    assert dump_yaml(data, spaced=True) == (
        "version: 2\n"
        "\n"
        "models:\n"
        "  - name: stg_raw__orders\n"
        "    columns:\n"
        "      - name: id\n"
        "        data_tests:\n"
        "          - unique\n"
    )
    assert dump_yaml({"b": 1, "a": 2}) == "b: 1\na: 2\n"


def test_dump_yaml_no_wrapping() -> None:
    """A long description stays on one line."""
    text = " ".join(["word"] * 100)
    assert dump_yaml({"description": text}) == f"description: {text}\n"


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        pytest.param("customers", True, id="plain-word"),
        pytest.param("People who bought something.", True, id="sentence"),
        pytest.param("Order Events", True, id="space"),
        pytest.param("on", False, id="yaml11-bool-on"),
        pytest.param("yes", False, id="yaml11-bool-yes"),
        pytest.param("N", False, id="yaml11-bool-n"),
        pytest.param("010", False, id="yaml11-octal"),
        pytest.param("1_000", False, id="yaml11-underscore-int"),
        pytest.param("12:30", False, id="yaml11-sexagesimal"),
        pytest.param("2024-01-01", False, id="date"),
        pytest.param("null", False, id="null"),
        pytest.param("", False, id="empty"),
        pytest.param("x: y", False, id="colon"),
        pytest.param("#hash", False, id="comment-sign"),
        pytest.param("{% raw %}{{ x }}{% endraw %}", False, id="jinja"),
        pytest.param("Größe", True, id="unicode"),
    ],
)
def test_dump_yaml_strings_round_trip(value: str, plain: bool) -> None:
    """Strings come back as the same strings in dbt's reader, quoted only when they must be."""
    text = dump_yaml({"name": value})
    assert pyyaml.safe_load(text) == {"name": value}
    assert (text == f"name: {value}\n") is plain


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("Lines of an order.\nOne row per product.", id="two-lines"),
        pytest.param("ends with newline\n", id="trailing-newline"),
        pytest.param("trailing space \nnext", id="trailing-space"),
        pytest.param("  indented\nfirst", id="leading-space"),
        pytest.param("a\n\n\nb", id="blank-lines"),
    ],
)
def test_dump_yaml_multiline_round_trip(value: str) -> None:
    """Multi-line text is written as a readable block and read back exactly."""
    text = dump_yaml({"description": value})
    assert pyyaml.safe_load(text) == {"description": value}


def test_dump_yaml_multiline_is_a_literal_block() -> None:
    """A two-line description is a literal block, not an escaped one-liner."""
    text = dump_yaml({"description": "Lines of an order.\nOne row per product."})
    assert text == "description: |-\n  Lines of an order.\n  One row per product.\n"
