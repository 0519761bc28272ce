"""A shadow copy of a dbt project with planned files laid over it, where dbt checks them.

The shadow persists under `<root>/<target-path>/cartridge/shadow/` and is synced, not rebuilt:
only files whose bytes differ are written and files gone from the project are deleted, so dbt's
partial parsing of the shadow stays warm from one check to the next.

The shadow's dbt_packages holds a link to each package the project has installed, and one more:
Cartridge's own dbt package, linked in as `dbt deps` links a `local:` package (no packages.yml
edit, no `dbt deps`, no network). So its macros run in the shadow for any adapter (the generic
warehouse scanner) without the user installing anything; the project's own dbt_packages is never
written to. A copy the project installed itself is replaced there by the one matching this Cartridge.

Every model of the project is ephemeral in the shadow (its dbt_project.yml says so; the project's
own is untouched): Cartridge never builds anything in the warehouse, so a model that refs a model
nobody built yet (a mart over new staging models) must read the sources through inlined CTEs.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from cartridge_core.dbt.package import PACKAGE_NAME, package_path
from cartridge_core.errors import ConfigError
from cartridge_core.models import DbtProject, WarehouseTarget
from cartridge_core.project.model_configs import PROJECT_FILE, with_models_ephemeral

logger = logging.getLogger(__name__)

PACKAGES_DIR = "dbt_packages"
# Never part of what dbt parses, and often large or busy.
_SKIPPED_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__"})
_SKIPPED_TOP_DIRS = frozenset({"logs", PACKAGES_DIR})
# Warehouse files in the project (a DuckDB database beside dbt_project.yml is common): dbt never
# parses them, profiles reach them relative to the real root, and copying them costs gigabytes.
_SKIPPED_SUFFIXES = (".duckdb", ".duckdb.wal", ".db", ".db.wal", ".sqlite", ".sqlite3")


@dataclass(frozen=True, slots=True, kw_only=True)
class ShadowSync:
    """What one sync changed in the shadow (paths relative to it, posix)."""

    written: tuple[str, ...]
    deleted: tuple[str, ...]


def work_dir(project: DbtProject) -> Path:
    """Cartridge's own directory inside the project's target path."""
    return project.root / project.target_path / "cartridge"


def shadow_dir(project: DbtProject) -> Path:
    """Where the shadow copy of `project` lives."""
    return work_dir(project) / "shadow"


def sync_shadow(project: DbtProject, overlay: Mapping[str, str]) -> ShadowSync:
    """Bring the shadow in line with the project on disk with `overlay` (relpath -> text) laid over."""
    shadow = shadow_dir(project)
    shadow.mkdir(parents=True, exist_ok=True)
    wanted: dict[str, Path | bytes] = dict(_project_files(project))
    wanted.update((rel, text.encode("utf-8")) for rel, text in overlay.items())
    _make_models_ephemeral(project, wanted)
    written = [rel for rel, source in sorted(wanted.items()) if _put(shadow / rel, source)]
    deleted = _delete_extra(shadow, wanted.keys())
    _link_packages(project.root, shadow)
    if written or deleted:
        logger.debug("Shadow %s: %d written, %d deleted", shadow, len(written), len(deleted))
    return ShadowSync(written=tuple(written), deleted=tuple(deleted))


def _make_models_ephemeral(project: DbtProject, wanted: dict[str, Path | bytes]) -> None:
    """Make the shadow's dbt_project.yml configure every model of the project `ephemeral`."""
    source = wanted.get(PROJECT_FILE)
    if source is None:
        return
    text = (source.read_bytes() if isinstance(source, Path) else source).decode("utf-8", "replace")
    try:
        wanted[PROJECT_FILE] = with_models_ephemeral(text, project.name).encode("utf-8")
    except ConfigError:
        logger.debug("%s is not a mapping: the shadow keeps it as it is, for dbt to report", PROJECT_FILE)


def restore_file(project: DbtProject, relpath: str) -> None:
    """Put the project's own version of `relpath` back in the shadow (or remove it if none)."""
    original = project.root / relpath
    target = shadow_dir(project) / relpath
    if original.is_file():
        _put(target, original)
    else:
        target.unlink(missing_ok=True)


def _project_files(project: DbtProject) -> Iterator[tuple[str, Path]]:
    root = project.root
    skipped_top = _SKIPPED_TOP_DIRS | {Path(project.target_path).parts[0]}
    for directory, dirnames, filenames in os.walk(root):
        here = Path(directory)
        at_top = here == root
        dirnames[:] = [
            d
            for d in dirnames
            if d not in _SKIPPED_DIRS
            and not (at_top and d in skipped_top)
            and not (here / d / "pyvenv.cfg").exists()  # a virtualenv by any name
        ]
        for name in filenames:
            if not name.endswith(_SKIPPED_SUFFIXES):
                path = here / name
                yield path.relative_to(root).as_posix(), path


def _put(target: Path, source: Path | bytes) -> bool:
    """Make `target` hold `source` (a file to copy, or bytes); True if its bytes were written."""
    if isinstance(source, Path) and _same_stat(source, target):
        return False
    data = source.read_bytes() if isinstance(source, Path) else source
    changed = not (target.is_file() and target.read_bytes() == data)
    if changed:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    if isinstance(source, Path):
        shutil.copystat(source, target)  # so the next sync compares stats, not bytes
    return changed


def _same_stat(source: Path, target: Path) -> bool:
    try:
        a, b = source.stat(), target.stat()
    except FileNotFoundError:
        return False
    return a.st_size == b.st_size and a.st_mtime_ns == b.st_mtime_ns


def _delete_extra(shadow: Path, wanted: Iterable[str]) -> list[str]:
    keep = set(wanted)
    deleted = []
    directories = []
    for directory, dirnames, filenames in os.walk(shadow):
        here = Path(directory)
        if here == shadow and PACKAGES_DIR in dirnames:
            dirnames.remove(PACKAGES_DIR)
        directories.append(here)
        for name in filenames:
            rel = (here / name).relative_to(shadow).as_posix()
            if rel not in keep:
                (here / name).unlink()
                deleted.append(rel)
    for here in reversed(directories):  # deepest first, so emptied parents go too
        if here != shadow and not any(here.iterdir()):
            here.rmdir()
    return deleted


def _link_packages(root: Path, shadow: Path) -> None:
    """Fill the shadow's dbt_packages with links to the project's packages and to Cartridge's own."""
    packages = shadow / PACKAGES_DIR
    if packages.is_symlink():  # a shadow made when the whole directory was one link
        packages.unlink()
    packages.mkdir(exist_ok=True)
    real = root / PACKAGES_DIR
    wanted = {p.name: p for p in real.iterdir() if p.is_dir()} if real.is_dir() else {}
    wanted[PACKAGE_NAME] = package_path()
    for entry in packages.iterdir():
        source = wanted.get(entry.name)
        if source is None or (entry.is_symlink() and entry.readlink() != source):
            _remove(entry)
    for name, source in wanted.items():
        link = packages / name
        if link.is_symlink() or link.exists():
            continue
        try:
            link.symlink_to(source, target_is_directory=True)
        except OSError:  # no symlinks here (e.g. Windows without the privilege): copy instead
            shutil.copytree(source, link)


def _remove(entry: Path) -> None:
    if entry.is_symlink() or not entry.is_dir():
        entry.unlink()
    else:
        shutil.rmtree(entry)


def shadow_command(project: DbtProject, target: WarehouseTarget, *command: str) -> list[str]:
    """A dbt command line that runs `command` in the shadow, with the user's profile and target,
    keeping dbt's target and logs under Cartridge's own work directory."""
    work = work_dir(project)
    return [
        *command,
        "--project-dir",
        str(shadow_dir(project)),
        "--profiles-dir",
        str(target.profiles_dir),
        "--profile",
        target.profile_name,
        "--target",
        target.target_name,
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
    ]
