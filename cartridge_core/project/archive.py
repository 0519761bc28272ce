"""Pack a dbt project into a .tar.gz to hand it over: its sources, never its build output, data or secrets.

Left out: dbt's target path, `dbt_packages/` and `logs/` at the root; `.git`, virtualenvs,
`node_modules` and `__pycache__` anywhere; dbt's per-user `.user.yml`; warehouse data files
(`*.duckdb`, `*.db`, `*.sqlite` and their write-ahead logs), which can be large and hold the data
itself; `.env` files; and any `profiles.yml` that writes a secret (a password, token, key) as a
literal instead of reading it with `env_var()`: such a file is left out with a warning, and the
rest is packed. Everything sits under one top directory named after the project's directory,
owned by no named user.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from cartridge_core.errors import ConfigError
from cartridge_core.models import DbtProject
from cartridge_core.project.profiles import PROFILES_FILE, _is_secret_key
from cartridge_core.project.yamlio import load_yaml_file

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")
_SKIPPED_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__"})
_SKIPPED_TOP_DIRS = frozenset({"dbt_packages", "logs"})
_DBT_USER_FILE = ".user.yml"  # dbt's anonymous id of the person who ran it, beside profiles.yml
DATA_SUFFIXES = (".duckdb", ".duckdb.wal", ".db", ".db.wal", ".sqlite", ".sqlite3")


@dataclass(frozen=True, slots=True, kw_only=True)
class Archive:
    """What was packed where, and what was left out that a person may have expected inside."""

    path: Path
    files: tuple[str, ...]  # relative to the project root, posix
    data_files: tuple[str, ...] = ()  # warehouse data left out
    warnings: tuple[str, ...] = ()  # one line each: files left out because they hold secrets


def archive_project(project: DbtProject, destination: Path) -> Archive:
    """Write the project's files into the .tar.gz `destination`, atomically; see the module docstring."""
    destination = destination.expanduser().resolve()
    _check_destination(project, destination)
    files, data, warnings = [], [], []
    for relpath, path in _walk(project, skip=destination):
        if relpath.endswith(DATA_SUFFIXES):
            data.append(relpath)
        elif path.name == _DBT_USER_FILE:
            continue
        elif path.name == ".env" or path.name.startswith(".env."):
            warnings.append(f"left out {relpath}: environment files hold secrets")
        elif path.name == PROFILES_FILE and (problem := literal_secret(path)):
            warnings.append(f"left out {relpath}: {problem}")
        else:
            files.append(relpath)
    _write(destination, project.root, files)
    return Archive(path=destination, files=tuple(files), data_files=tuple(data), warnings=tuple(warnings))


def _check_destination(project: DbtProject, destination: Path) -> None:
    if not destination.name.endswith(ARCHIVE_SUFFIXES):
        raise ConfigError(f"The archive {destination} must be a .tar.gz (or .tgz) file")
    if destination.is_dir():
        raise ConfigError(f"The archive {destination} is a directory; name a .tar.gz file")
    if not destination.parent.is_dir():
        raise ConfigError(f"Cannot write the archive {destination}: {destination.parent} does not exist")
    for model_path in project.model_paths:
        models = (project.root / model_path).resolve()
        if destination.is_relative_to(models):
            raise ConfigError(
                f"Refusing to write the archive {destination} inside the model path {model_path}: "
                "dbt parses everything there"
            )


def literal_secret(profiles: Path) -> str | None:
    """Why `profiles` must not be shared (a literal secret in it), or None when env_var() reads them all."""
    try:
        document = load_yaml_file(profiles)
    except ConfigError:
        return "it cannot be read as YAML, so it cannot be checked for secrets"
    for where, value in _secret_values(document, ()):
        if value is None or value == "" or (isinstance(value, str) and "env_var(" in value):
            continue
        # Name the key, never the value.
        return f"'{'.'.join(where)}' holds a literal secret; read it with env_var() to share this file"
    return None


def _secret_values(node: Any, where: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            here = (*where, str(key))
            if _is_secret_key(str(key)) and not isinstance(value, (Mapping, list)):
                yield here, value
            else:
                yield from _secret_values(value, here)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _secret_values(item, (*where, str(index)))


def _walk(project: DbtProject, *, skip: Path) -> Iterator[tuple[str, Path]]:
    """The project's files (and symlinks) to consider, sorted, relative posix path first."""
    root = project.root.resolve()
    skipped_top = _SKIPPED_TOP_DIRS | {PurePosixPath(project.target_path).parts[0]}
    for directory, dirnames, filenames in os.walk(root):
        here = Path(directory)
        at_top = here == root
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in _SKIPPED_DIRS
            and not (at_top and d in skipped_top)
            and not (here / d / "pyvenv.cfg").exists()  # a virtualenv by any name
        )
        for name in sorted(filenames):
            path = here / name
            is_ours = path == skip or (path.parent == skip.parent and name.startswith(f".{skip.name}."))
            if not is_ours:
                yield path.relative_to(root).as_posix(), path


def _write(destination: Path, root: Path, files: list[str]) -> None:
    """Write the archive beside `destination` and move it into place, so no half archive is ever seen."""
    top = root.name
    fd, tmp = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle, tarfile.open(fileobj=handle, mode="w:gz") as tar:
            for relpath in files:
                tar.add(root / relpath, arcname=f"{top}/{relpath}", recursive=False, filter=_anonymous)
        os.replace(tmp, destination)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _anonymous(member: tarfile.TarInfo) -> tarfile.TarInfo:
    # Who packed it is none of the recipient's business.
    member.uid = member.gid = 0
    member.uname = member.gname = ""
    return member
