"""The one module that owns the YAML library (ruamel.yaml): reading dbt's YAML files, and writing them."""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
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
    problem: ConfigError | None = None
    try:
        data = _safe_yaml().load(text)
    except YAMLError as exc:
        problem = _yaml_error(path, exc)
    if problem is not None:
        # Raised outside the handler so the YAML error, which quotes the file's lines (maybe a
        # password), is not chained to ours and cannot reach a traceback in a log.
        raise problem
    if data is None:
        raise ConfigError(f"{path} is empty", file=str(path))
    return data


def _safe_yaml() -> YAML:
    # A fresh loader per call: YAML instances keep state and the server loads from worker threads.
    yaml = YAML(typ="safe", pure=True)
    # dbt reads its files with PyYAML, which speaks YAML 1.1 (`yes` is true, `010` is octal).
    yaml.version = (1, 1)
    return yaml


def _yaml_error(path: Path, exc: YAMLError) -> ConfigError:
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


def _dump(yaml: YAML, data: Any) -> str:
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()


def _round_trip_yaml() -> YAML:
    # A fresh dumper per call, for the same reason as _safe_yaml.
    yaml = YAML(typ="rt", pure=True)
    yaml.Representer = _DbtRepresenter
    yaml.indent(mapping=2, sequence=4, offset=2)
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
