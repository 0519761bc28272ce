"""dbt-project-evaluator's default structure, DAG, documentation and testing rules, over a manifest.

The evaluator is a dbt package that models the project graph in the warehouse; pulling it in here
would need the network and dbt_utils. This module encodes the same rules, with the package's
default variables, as plain Python over `target/manifest.json`, so a test can hold a generated
project to them. Rule names are the evaluator's model names without `fct_`; each violation names
the rule, the model (or source) and what is wrong.

How the evaluator reads a model (int_all_graph_resources): its *prefix* is the name up to the
first `_` (`stg_`, `dim_`); its *folder type* is the layer folder (`staging`, `intermediate`,
`marts`) deepest in its path; its *model type* is the prefix's type, else the folder's, else
`other`. One deliberate difference: the evaluator skips a model under no layer folder at all in
`model_directories` (a SQL `<>` against null); here that is a violation, since the quality bar
asks for every generated model to sit in its layer's folder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

# The package's defaults (dbt_project.yml vars of dbt-labs/dbt-project-evaluator).
MODEL_TYPES = ("staging", "intermediate", "marts", "other")
FOLDERS = {"staging": "staging", "intermediate": "intermediate", "marts": "marts"}
PREFIXES = {
    "staging": ("stg_",),
    "intermediate": ("int_",),
    "marts": ("fct_", "dim_"),
    "other": ("rpt_",),
}
# `primary_key_test_macros`: either set of tests on one column tests the model's primary key.
PRIMARY_KEY_TESTS = ({"unique", "not_null"}, {"unique_combination_of_columns"})

Node = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: which rule, on which model or source, and what is wrong."""

    rule: str
    model: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.model}: {self.detail}"


@dataclass(frozen=True, slots=True)
class _Model:
    """A model of the project with what the rules need: its type, folder and direct parents."""

    name: str
    path: PurePosixPath  # original_file_path, e.g. models/staging/shop/stg_shop__orders.sql
    model_type: str
    folder_type: str | None
    description: str
    model_parents: tuple[str, ...]  # names of the project's models it refs
    source_parents: tuple[str, ...]  # `source_name.table` of the sources it selects from

    @property
    def prefix(self) -> str:
        return self.name.split("_", 1)[0] + "_"


def check_project(manifest: Mapping[str, Any], *, project: str | None = None) -> list[Violation]:
    """Every violation of the default rules by the models of `project` (default: the root project)."""
    package = project or manifest["metadata"]["project_name"]
    nodes: Mapping[str, Node] = manifest["nodes"]
    sources: Mapping[str, Node] = manifest.get("sources", {})
    own = {uid: node for uid, node in nodes.items() if _is_own_model(node, package)}
    models = [_read_model(node, own, sources) for node in own.values()]
    tests = [node for node in nodes.values() if node.get("resource_type") == "test"]
    found: list[Violation] = []
    for rule in (
        model_naming_conventions,
        model_directories,
        root_models,
        source_fanout,
        direct_join_to_source,
        marts_or_intermediate_dependent_on_source,
        multiple_sources_joined,
        staging_dependent_on_staging,
        staging_dependent_on_marts_or_intermediate,
        undocumented_models,
    ):
        found.extend(rule(models))
    found.extend(missing_primary_key_tests(own, tests))
    found.extend(unused_sources(sources, models, package))
    return sorted(found, key=lambda v: (v.rule, v.model, v.detail))


def _is_own_model(node: Node, package: str) -> bool:
    enabled = node.get("config", {}).get("enabled", True)
    return node.get("resource_type") == "model" and node.get("package_name") == package and enabled


def _read_model(node: Node, own: Mapping[str, Node], sources: Mapping[str, Node]) -> _Model:
    path = PurePosixPath(node["original_file_path"])
    name = node["name"]
    parents = node.get("depends_on", {}).get("nodes", [])
    folder_type = _folder_type(path)
    prefix_type = next((t for t in MODEL_TYPES if name.startswith(PREFIXES[t])), None)
    return _Model(
        name=name,
        path=path,
        model_type=prefix_type or folder_type or "other",
        folder_type=folder_type,
        description=(node.get("description") or "").strip(),
        model_parents=tuple(own[p]["name"] for p in parents if p in own),
        source_parents=tuple(
            f"{sources[p]['source_name']}.{sources[p]['name']}" for p in parents if p in sources
        ),
    )


def _folder_type(path: PurePosixPath) -> str | None:
    """The model type of the layer folder nearest the file (the evaluator's `folder_name_rank`)."""
    for folder in reversed(path.parent.parts):
        for model_type, folder_name in FOLDERS.items():
            if folder == folder_name:
                return model_type
    return None


def model_naming_conventions(models: Iterable[_Model]) -> list[Violation]:
    """A model's prefix must be one of its model type's prefixes (stg_, int_, fct_/dim_, rpt_)."""
    return [
        Violation(
            "model_naming_conventions",
            m.name,
            f"prefix {m.prefix!r} is not one of {', '.join(PREFIXES[m.model_type])} ({m.model_type})",
        )
        for m in models
        if m.prefix not in PREFIXES[m.model_type]
    ]


def model_directories(models: Iterable[_Model]) -> list[Violation]:
    """Staging models sit under a folder named after their source; others under their layer's folder."""
    found = []
    for m in models:
        if m.model_type == "staging":
            for source in {s.split(".", 1)[0] for s in m.source_parents}:
                if source not in str(m.path.parent):
                    found.append(
                        Violation("model_directories", m.name, f"not under a folder of source {source}")
                    )
        if m.model_type == "other":
            continue
        if m.folder_type != m.model_type:
            where = f"under {m.folder_type}/" if m.folder_type else "under no layer folder"
            found.append(Violation("model_directories", m.name, f"a {m.model_type} model {where}"))
    return found


def root_models(models: Iterable[_Model]) -> list[Violation]:
    """A model with no parents at all has no source() or ref(): data enters the DAG unseen."""
    return [
        Violation("root_models", m.name, "no source() or ref() parents")
        for m in models
        if not m.model_parents and not m.source_parents
    ]


def source_fanout(models: Iterable[_Model]) -> list[Violation]:
    """A source is read by exactly one model: its staging model."""
    readers: dict[str, list[str]] = {}
    for m in models:
        for source in m.source_parents:
            readers.setdefault(source, []).append(m.name)
    return [
        Violation("source_fanout", source, f"read by {', '.join(sorted(names))}")
        for source, names in readers.items()
        if len(names) > 1
    ]


def direct_join_to_source(models: Iterable[_Model]) -> list[Violation]:
    """No model reads both a source and another model."""
    return [
        Violation("direct_join_to_source", m.name, f"reads sources {', '.join(m.source_parents)} and models")
        for m in models
        if m.source_parents and m.model_parents
    ]


def marts_or_intermediate_dependent_on_source(models: Iterable[_Model]) -> list[Violation]:
    """Marts and intermediate models read staging models, never a source."""
    return [
        Violation(
            "marts_or_intermediate_dependent_on_source",
            m.name,
            f"a {m.model_type} model reading {', '.join(m.source_parents)}",
        )
        for m in models
        if m.model_type in ("marts", "intermediate") and m.source_parents
    ]


def multiple_sources_joined(models: Iterable[_Model]) -> list[Violation]:
    """A model reads at most one source (a staging model: exactly its own)."""
    return [
        Violation("multiple_sources_joined", m.name, f"reads {', '.join(sorted(set(m.source_parents)))}")
        for m in models
        if len(set(m.source_parents)) > 1
    ]


def staging_dependent_on_staging(models: Iterable[_Model]) -> list[Violation]:
    """Staging models read sources, not one another."""
    types = {m.name: m.model_type for m in models}
    return [
        Violation("staging_dependent_on_staging", m.name, f"refs {parent}")
        for m in models
        if m.model_type == "staging"
        for parent in m.model_parents
        if types[parent] == "staging"
    ]


def staging_dependent_on_marts_or_intermediate(models: Iterable[_Model]) -> list[Violation]:
    """Data flows source -> staging -> intermediate -> marts, never back into staging."""
    types = {m.name: m.model_type for m in models}
    return [
        Violation("staging_dependent_on_marts_or_intermediate", m.name, f"refs {types[p]} model {p}")
        for m in models
        if m.model_type == "staging"
        for p in m.model_parents
        if types[p] in ("marts", "intermediate")
    ]


def undocumented_models(models: Iterable[_Model]) -> list[Violation]:
    """Every model has a non-empty description."""
    return [Violation("undocumented_models", m.name, "no description") for m in models if not m.description]


def unused_sources(sources: Mapping[str, Node], models: Iterable[_Model], package: str) -> list[Violation]:
    """Every source table the project declares is read by some model."""
    read = {source for m in models for source in m.source_parents}
    return [
        Violation("unused_sources", name, "no model selects from it")
        for node in sources.values()
        if node.get("package_name") == package
        and (name := f"{node['source_name']}.{node['name']}") not in read
    ]


def _row_value_keyed(kinds: Mapping[tuple[str, str | None], set[str]]) -> set[str]:
    """Models with `unique` on a row value "(a, b)" whose every column is tested not_null.

    Cartridge's test of a composite key without dbt_utils. The evaluator itself would ask for a
    surrogate key or dbt_utils.unique_combination_of_columns here; this is the one place this
    checker is looser than its defaults (said so in the README).
    """
    found = set()
    for (uid, column), names in kinds.items():
        if "unique" not in names or not column or not (column.startswith("(") and column.endswith(")")):
            continue
        parts = [p.strip().strip('"') for p in column[1:-1].split(",")]
        if len(parts) > 1 and all("not_null" in kinds.get((uid, part), set()) for part in parts):
            found.add(uid)
    return found


def missing_primary_key_tests(own: Mapping[str, Node], tests: Iterable[Node]) -> list[Violation]:
    """Every model has `unique` and `not_null` on one column (or unique_combination_of_columns, or
    `unique` on the row value of columns that are each not_null).

    A `not_null` constraint on the column counts as its `not_null` test (the evaluator's "mixed
    method"). Tests are matched to the model they are attached to, as dbt records it.
    """
    kinds: dict[tuple[str, str | None], set[str]] = {}
    for test in tests:
        meta = test.get("test_metadata") or {}
        model = test.get("attached_node")
        if model in own and meta.get("name"):
            # A model-level test of an expression has it only in its kwargs.
            column = test.get("column_name") or (meta.get("kwargs") or {}).get("column_name")
            kinds.setdefault((model, column), set()).add(meta["name"])
    for uid, node in own.items():
        for column in (node.get("columns") or {}).values():
            if any(c.get("type") == "not_null" for c in column.get("constraints", [])):
                kinds.setdefault((uid, column["name"]), set()).add("not_null")
    tested = {uid for (uid, _), found in kinds.items() if any(keys <= found for keys in PRIMARY_KEY_TESTS)}
    tested |= _row_value_keyed(kinds)
    return [
        Violation("missing_primary_key_tests", node["name"], "no unique + not_null test on one column")
        for uid, node in own.items()
        if uid not in tested
    ]
