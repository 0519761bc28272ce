"""Finding the dbt project a file belongs to, and the settings Cartridge needs from dbt_project.yml."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cartridge_core.errors import ConfigError
from cartridge_core.models import DbtProject
from cartridge_core.project.profiles import render_value
from cartridge_core.project.yamlio import load_yaml_file

logger = logging.getLogger(__name__)

PROJECT_FILE = "dbt_project.yml"


def find_project(start: Path) -> DbtProject:
    """The dbt project holding `start` (a file or directory): the nearest dbt_project.yml at or above it."""
    start = start.expanduser().resolve()
    here = start if start.is_dir() else start.parent
    for directory in (here, *here.parents):
        if (directory / PROJECT_FILE).is_file():
            logger.debug("dbt project found at %s", directory)
            return read_project(directory)
    raise ConfigError(f"No {PROJECT_FILE} found in {start} or any parent directory")


def read_project(root: Path) -> DbtProject:
    """The settings of the dbt project whose dbt_project.yml is in `root`."""
    file = root / PROJECT_FILE
    data = load_yaml_file(file)
    if not isinstance(data, Mapping):
        raise ConfigError(f"{file} is not a mapping of settings", file=str(file))
    # dbt 1.0 renamed source-paths to model-paths and still reads the old name.
    paths_key = "model-paths" if "model-paths" in data else "source-paths"
    return DbtProject(
        root=root,
        name=_text(data, "name", file),
        profile_name=_text(data, "profile", file),
        model_paths=_paths(data, paths_key, file),
        target_path=_text(data, "target-path", file, default="target"),
    )


def _rendered(data: Mapping[str, Any], key: str, file: Path) -> Any:
    return render_value(data.get(key), file=file, where=f"key '{key}'")


def _text(data: Mapping[str, Any], key: str, file: Path, *, default: str | None = None) -> str:
    value = _rendered(data, key, file)
    if value is None or value == "":
        if default is not None:
            return default
        raise ConfigError(f"Missing key '{key}' in {file}", file=str(file))
    if isinstance(value, (Mapping, list)):
        raise ConfigError(f"Key '{key}' in {file} must be a single value", file=str(file))
    return str(value)


def _paths(data: Mapping[str, Any], key: str, file: Path) -> tuple[str, ...]:
    value = _rendered(data, key, file)
    if value is None:
        return ("models",)
    paths = [value] if isinstance(value, str) else value
    if not isinstance(paths, list) or not paths or not all(isinstance(p, str) and p for p in paths):
        raise ConfigError(f"Key '{key}' in {file} must be a list of directories", file=str(file))
    return tuple(paths)
