"""The one module that owns the YAML library (ruamel.yaml): reading dbt's YAML files, and writing them."""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    Event,
    MappingStartEvent,
    ScalarEvent,
)
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.resolver import VersionedResolver

from cartridge_core.errors import ConfigError

# ruamel quotes the offending values in some problems (duplicate keys); a value may be a password.
_QUOTED_VALUE = re.compile(r"\s+with value .*$")


def load_yaml_file(path: Path) -> Any:
    """Safe-load one YAML file as dbt reads it; ConfigError with file and line when it cannot."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ConfigError(f"Cannot read {path}: {reason}", file=str(path)) from exc
    data = load_yaml_text(text, path=path)
    if data is None:
        raise ConfigError(f"{path} is empty", file=str(path))
    return data


def load_yaml_text(text: str, *, path: Path | str) -> Any:
    """Safe-load YAML text as dbt reads it (None when empty); ConfigError naming `path` and the line."""
    problem: ConfigError | None = None
    try:
        data = _safe_yaml().load(text)
    except YAMLError as exc:
        problem = _yaml_error(path, exc)
    if problem is not None:
        # Raised outside the handler so the YAML error, which quotes the file's lines (maybe a
        # password), is not chained to ours and cannot reach a traceback in a log.
        raise problem
    return data


def _safe_yaml() -> YAML:
    # A fresh loader per call: YAML instances keep state and the server loads from worker threads.
    yaml = YAML(typ="safe", pure=True)
    # dbt reads its files with PyYAML, which speaks YAML 1.1 (`yes` is true, `010` is octal).
    yaml.version = (1, 1)
    return yaml


def _yaml_error(path: Path | str, exc: YAMLError) -> ConfigError:
    """A one-line error naming the file and line, without quoting the file's text."""
    if not isinstance(exc, MarkedYAMLError) or exc.problem_mark is None:
        return ConfigError(f"Invalid YAML in {path}", file=str(path))
    line = exc.problem_mark.line + 1
    column = exc.problem_mark.column + 1
    problem = _QUOTED_VALUE.sub("", exc.problem or "syntax error")
    if exc.context:
        problem = f"{problem} ({exc.context})"
    return ConfigError(
        f"Invalid YAML in {path} at line {line}, column {column}: {problem}",
        file=str(path),
        line=line,
    )


# --- Dumping: YAML text that dbt reads back as written, in the layout dbt Labs' own files use. ---

_STR_TAG = "tag:yaml.org,2002:str"


def dump_yaml(data: Any, *, spaced: bool = False) -> str:
    """YAML text for `data`: keys in the given order, no line wrapping, strings quoted only when needed.

    Mappings indent by 2, sequences by 4 with the dash at 2 (`- name:` under its key, as dbt's docs
    write it). With `spaced`, top-level keys are separated by a blank line (`version: 2`, blank, `models:`).
    """
    yaml = _round_trip_yaml()
    if spaced and isinstance(data, Mapping):
        return "\n".join(_dump(yaml, {key: value}) for key, value in data.items())
    return _dump(yaml, data)


def dump_fragment(
    data: Any, *, mapping: int = 2, sequence: int = 4, offset: int = 2, flow: bool = False
) -> str:
    """YAML text for `data` in another file's layout: its indents, or one line in flow style.

    The indents are ruamel's: `mapping` for a mapping under a key, `sequence` for a sequence item's
    content and `offset` for its dash. Strings are made safe for YAML 1.1 readers, as in dump_yaml.
    """
    yaml = _round_trip_yaml(mapping=mapping, sequence=sequence, offset=offset)
    if flow:
        yaml.default_flow_style = True
        yaml.brace_single_entry_mapping_in_flow_sequence = True  # `[{a: b}]`, not the rarer `[a: b]`
    return _dump(yaml, data)


def _dump(yaml: YAML, data: Any) -> str:
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()


def _round_trip_yaml(*, mapping: int = 2, sequence: int = 4, offset: int = 2) -> YAML:
    # A fresh dumper per call, for the same reason as _safe_yaml.
    yaml = YAML(typ="rt", pure=True)
    yaml.Representer = _DbtRepresenter
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    yaml.width = sys.maxsize  # long descriptions stay on one line; wrapped ones diff badly
    return yaml


def _represent_str(representer: RoundTripRepresenter, data: str) -> ScalarNode:
    if "\n" in data:
        # A literal block keeps a multi-line description readable; the emitter falls back to
        # quoting when a block cannot hold the text exactly (e.g. trailing spaces).
        return representer.represent_scalar(_STR_TAG, data, style="|")
    if _YAML11_RESOLVER.resolve(ScalarNode, data, (True, False)) != _STR_TAG:
        # The emitter checks plain scalars against YAML 1.2 only, but dbt reads with PyYAML (1.1),
        # where a column called `on`, `yes` or `no` would come back as a boolean.
        return representer.represent_scalar(_STR_TAG, data, style="'")
    return representer.represent_scalar(_STR_TAG, data)


class _DbtRepresenter(RoundTripRepresenter):
    """The round-trip representer, with strings made safe for YAML 1.1 readers."""


_DbtRepresenter.add_representer(str, _represent_str)
_YAML11_RESOLVER = VersionedResolver(version=(1, 1))


# --- Positions: where each node sits in a file's text, so an edit can add to the file and leave every
# byte a person wrote as it was. (Loading and dumping a whole file round-trip re-emits it: spacing,
# per-block indentation and flow layout come out in ruamel's one style, not the person's.) ---

NodeKind = Literal["map", "seq", "scalar", "alias"]
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_KEEP_CHOMPING = re.compile(r"[|>][1-9]?\+")


@dataclass(frozen=True, slots=True, kw_only=True)
class YamlNode:
    """One node of a YAML document, and where it sits in the text (character offsets into it)."""

    kind: NodeKind
    start: int  # its first character (anchor and tag included); a block sequence's first dash
    end: int  # just past its content; a block collection ends with its last entry, before any comment
    column: int  # of `start`
    flow: bool = False
    style: str | None = None  # a scalar's: None (plain), "'", '"', "|" or ">"
    value: str = ""  # a scalar's text; an alias's anchor name
    anchor: str | None = None
    items: tuple[YamlNode, ...] = ()  # a sequence's
    pairs: tuple[tuple[YamlNode, YamlNode], ...] = ()  # a mapping's (key, value) pairs
    target: YamlNode | None = None  # an alias's node, when its anchor was defined before it

    @property
    def is_null(self) -> bool:
        return self.kind == "scalar" and self.style is None and self.value in _NULLS

    def get(self, key: str) -> YamlNode | None:
        """The value of `key` in this mapping's own pairs (merge keys `<<` are not followed)."""
        return next((v for k, v in self.pairs if k.kind == "scalar" and k.value == key), None)


def pair_end(key: YamlNode, value: YamlNode) -> int:
    """Just past a mapping entry's content: its value's, or its key's when the value is left empty."""
    empty = value.kind == "scalar" and value.style is None and value.value == ""
    return key.end if empty else value.end


def yaml_positions(text: str, *, path: Path | str) -> YamlNode | None:
    """The document in `text` as a tree of positioned nodes; None when it holds no node (only comments).

    ConfigError naming `path` and the line when `text` is not YAML or holds more than one document.
    """
    problem: ConfigError | None = None
    try:
        events = list(YAML(typ="rt", pure=True).parse(text))
    except YAMLError as exc:
        problem = _yaml_error(path, exc)
    if problem is not None:
        raise problem  # outside the handler, for the reason given in load_yaml_file
    if sum(isinstance(e, DocumentStartEvent) for e in events) > 1:
        raise ConfigError(f"{path} holds more than one YAML document", file=str(path))
    return _tree(events, text)


def _tree(events: Iterable[Event], text: str) -> YamlNode | None:
    stack: list[tuple[CollectionStartEvent, list[YamlNode]]] = []
    anchors: dict[str, YamlNode] = {}
    root = None
    for event in events:
        if isinstance(event, CollectionStartEvent):
            stack.append((event, []))
            continue
        if isinstance(event, CollectionEndEvent):
            start, children = stack.pop()
            node = _collection(start, children, event)
        elif isinstance(event, ScalarEvent):
            node = _scalar(event, text)
        elif isinstance(event, AliasEvent):
            target = anchors.get(event.anchor)
            node = _node("alias", event, event.end_mark.index, value=event.anchor, target=target)
        else:
            continue
        if node.anchor:
            anchors[node.anchor] = node
        if stack:
            stack[-1][1].append(node)
        else:
            root = node
    return root


def _node(kind: NodeKind, event: Event, end: int, **fields: Any) -> YamlNode:
    mark = event.start_mark
    return YamlNode(kind=kind, start=mark.index, end=end, column=mark.column, **fields)


def _collection(start: CollectionStartEvent, children: list[YamlNode], end: CollectionEndEvent) -> YamlNode:
    flow = bool(start.flow_style)
    if isinstance(start, MappingStartEvent):
        pairs = tuple(zip(children[::2], children[1::2], strict=True))
        last = end.end_mark.index if flow or not pairs else pair_end(*pairs[-1])
        return _node("map", start, last, flow=flow, anchor=start.anchor, pairs=pairs)
    last = end.end_mark.index if flow or not children else children[-1].end
    return _node("seq", start, last, flow=flow, anchor=start.anchor, items=tuple(children))


def _scalar(event: ScalarEvent, text: str) -> YamlNode:
    end = event.end_mark.index
    if event.style in ("|", ">"):
        # A block scalar's mark runs over the blank lines after it; they are its content only when it
        # keeps them (`|+`), otherwise they separate it from what follows.
        line_end = text.find("\n", event.start_mark.index)
        header = text[event.start_mark.index : line_end if line_end >= 0 else len(text)]
        if not _KEEP_CHOMPING.search(header.split("#")[0]):
            end = event.start_mark.index + len(text[event.start_mark.index : end].rstrip())
    return _node("scalar", event, end, style=event.style, value=event.value, anchor=event.anchor)
