"""Reading dbt models YAML as text: which model entry a line of an open document belongs to."""

from __future__ import annotations

import bisect

from cartridge_core.errors import CartridgeError
from cartridge_core.project.yamlio import YamlNode, yaml_positions


def model_at(text: str, line: int) -> str | None:
    """The `name` of the model whose entry under `models:` spans `line` (0-based), if any.

    None for YAML that does not parse or has no `models` list, and for lines outside a model's
    entry (`version:`, `sources:`, comments between entries).
    """
    try:
        root = yaml_positions(text, path="models YAML")
    except CartridgeError:
        return None
    models = root.get("models") if root is not None and root.kind == "map" else None
    if models is None or models.kind != "seq":
        return None
    line_starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]
    for entry in models.items:
        name = _name(entry)
        if name is None:
            continue
        first = bisect.bisect_right(line_starts, entry.start) - 1
        last = bisect.bisect_right(line_starts, max(entry.end - 1, entry.start)) - 1
        if first <= line <= last:
            return name
    return None


def _name(entry: YamlNode) -> str | None:
    if entry.kind != "map":
        return None
    name = entry.get("name")
    if name is None or name.kind != "scalar" or not name.value:
        return None
    return name.value
