"""Materializations per layer in dbt_project.yml, as dbt Labs' guides set them, without touching the rest.

Staging models are views (cheap, always current), intermediate models ephemeral (steps inlined as
CTEs into the marts that use them, nothing built for them), marts tables (what people and BI
tools query). Each is added under `models: <project>:` only where the user has set no
materialization: not for the layer's folder, and not for the whole project.
"""

from __future__ import annotations

from cartridge_core.project.model_configs import (
    TextEdit,
    add_entries,
    append_to_document,
    apply_edits,
    entry,
    fill_entry,
    guess_indent,
    load_project_yaml,
    sets_materialized,
)
from cartridge_core.project.yamlio import YamlNode

LAYER_MATERIALIZATIONS = (("staging", "view"), ("intermediate", "ephemeral"), ("marts", "table"))


def with_layer_materializations(text: str, project_name: str, *, path: str = "dbt_project.yml") -> str:
    """dbt_project.yml's `text` with `+materialized` set per layer where the user set nothing.

    Every byte already there stays as written (comments, order, quoting); the text comes back
    unchanged, byte for byte, when there is nothing to add. ConfigError naming `path` when the
    text is not a YAML mapping.
    """
    root = load_project_yaml(text, path=path)
    indent = guess_indent(text, root)
    return apply_edits(text, _edits(text, root, project_name, indent))


def _layers() -> dict[str, dict[str, str]]:
    return {layer: {"+materialized": materialized} for layer, materialized in LAYER_MATERIALIZATIONS}


def _edits(text: str, root: YamlNode, project_name: str, indent: int) -> list[TextEdit]:
    models = entry(root, "models")
    if models is None:
        return [append_to_document(text, root, {"models": {project_name: _layers()}}, indent=indent)]
    if models.value.is_null:
        return fill_entry(text, models, {project_name: _layers()}, indent=indent)
    if models.value.kind != "map" or sets_materialized(models.value):
        return []  # not dbt's shape, or a materialization for every project: the user's call
    project = entry(models.value, project_name)
    if project is None:
        return add_entries(text, models.value, {project_name: _layers()}, indent=indent)
    if project.value.is_null:
        return fill_entry(text, project, _layers(), indent=indent)
    if project.value.kind != "map" or sets_materialized(project.value):
        return []
    return _layer_edits(text, project.value, indent)


def _layer_edits(text: str, project: YamlNode, indent: int) -> list[TextEdit]:
    """Edits for the layers the project's configs leave unset; a layer's own edits come first."""
    edits: list[TextEdit] = []
    missing: dict[str, dict[str, str]] = {}
    for layer, configs in _layers().items():
        found = entry(project, layer)
        if found is None:
            missing[layer] = configs
        elif found.value.is_null:
            edits += fill_entry(text, found, configs, indent=indent, order=0)
        elif found.value.kind == "map" and not sets_materialized(found.value):
            edits += add_entries(text, found.value, configs, indent=indent, order=0)
    return edits + add_entries(text, project, missing, indent=indent, order=1)
