"""merge_sources_yaml: a person's sources file gains new tables and columns; every byte of theirs stays."""

from __future__ import annotations

import pytest

from cartridge_core.errors import CartridgeError
from cartridge_core.project.yaml_sources import merge_sources_yaml

GENERATED = """\
version: 2

sources:
  - name: raw
    schema: raw
    tables:
      - name: customers
        columns:
          - name: id
          - name: nickname
          - name: email
      - name: orders
      - name: refunds
        description: Money paid back.
"""

HAND = """\
version: 2

sources:
  - name: raw   # loaded by Fivetran
    schema: raw
    freshness:
      warn_after: {count: 12, period: hour}
    loaded_at_field: _loaded_at
    tables:
      - name: customers
        description: >
          Everyone with an account.
        columns:
          - name: id
            description: ""
          - name: email
      - name: orders
        tags: [core]
"""


def test_new_table_and_column_are_added_in_place() -> None:
    merged = merge_sources_yaml(HAND, GENERATED)
    assert merged == HAND.replace(
        '          - name: id\n            description: ""\n',
        '          - name: id\n            description: ""\n          - name: nickname\n',
    ).replace(
        "        tags: [core]\n",
        "        tags: [core]\n      - name: refunds\n        description: Money paid back.\n",
    )


def test_nothing_to_add_is_byte_for_byte() -> None:
    complete = merge_sources_yaml(HAND, GENERATED)
    assert merge_sources_yaml(complete, GENERATED) == complete


def test_a_new_source_is_added_after_the_others() -> None:
    other = GENERATED.replace("name: raw\n    schema: raw", "name: billing\n    schema: billing")
    merged = merge_sources_yaml(HAND, other)
    assert merged.startswith(HAND) and "  - name: billing\n    schema: billing\n" in merged


def test_not_a_sources_file_is_one_line_naming_it() -> None:
    with pytest.raises(CartridgeError, match="models/x.yml: `sources` is not a list"):
        merge_sources_yaml("sources: 3\n", GENERATED, path="models/x.yml")
