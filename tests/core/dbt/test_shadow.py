"""The shadow copy: what it holds, and that a sync rewrites only what changed."""

from __future__ import annotations

from pathlib import Path

from cartridge_core.dbt.package import package_path
from cartridge_core.dbt.shadow import restore_file, shadow_dir, sync_shadow
from cartridge_core.models import DbtProject


def _project(root: Path) -> DbtProject:
    files = {
        "dbt_project.yml": "name: shop\n",
        "models/a.sql": "select 1 as a\n",
        "models/b.sql": "select 2 as b\n",
        "macros/m.sql": "{% macro m() %}1{% endmacro %}\n",
        "target/manifest.json": "{}",
        "logs/dbt.log": "log",
        ".git/HEAD": "ref",
        ".venv/pyvenv.cfg": "home",
        "env311/pyvenv.cfg": "home",
        "node_modules/x.js": "x",
        "models/__pycache__/x.pyc": "x",
        "shop.duckdb": "data",
        "dbt_packages/pkg/dbt_project.yml": "name: pkg\n",
    }
    for relpath, text in files.items():
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).write_text(text)
    return DbtProject(root=root, name="shop", profile_name="shop")


def _files(directory: Path) -> dict[str, str]:
    return {
        p.relative_to(directory).as_posix(): p.read_text()
        for p in directory.rglob("*")
        if p.is_file() and "dbt_packages" not in p.parts
    }


def test_sync_shadow_copies_what_dbt_reads(tmp_path: Path) -> None:
    """The shadow holds the project's dbt files with the overlay laid over (every model ephemeral), and
    links their packages."""
    project = _project(tmp_path)
    sync = sync_shadow(project, {"models/b.sql": "select 3 as b\n", "models/new.sql": "select 4\n"})
    shadow = shadow_dir(project)
    assert shadow == tmp_path / "target/cartridge/shadow"
    assert _files(shadow) == {
        "dbt_project.yml": "name: shop\n\nmodels:\n  shop:\n    +materialized: ephemeral\n",
        "models/a.sql": "select 1 as a\n",
        "models/b.sql": "select 3 as b\n",
        "models/new.sql": "select 4\n",
        "macros/m.sql": "{% macro m() %}1{% endmacro %}\n",
    }
    assert sorted(sync.written) == sorted(_files(shadow))
    assert (shadow / "dbt_packages/pkg").resolve() == tmp_path / "dbt_packages/pkg"


def test_sync_shadow_second_sync_writes_nothing(tmp_path: Path) -> None:
    """Syncing an unchanged project again writes and deletes nothing."""
    project = _project(tmp_path)
    overlay = {"models/new.sql": "select 4\n"}
    sync_shadow(project, overlay)
    stat = (shadow_dir(project) / "models/a.sql").stat()
    again = sync_shadow(project, overlay)
    assert (again.written, again.deleted) == ((), ())
    assert (shadow_dir(project) / "models/a.sql").stat().st_mtime_ns == stat.st_mtime_ns


def test_sync_shadow_follows_changes(tmp_path: Path) -> None:
    """Edited files are rewritten, deleted ones removed, and a dropped overlay gives the disk file back."""
    project = _project(tmp_path)
    sync_shadow(project, {"models/b.sql": "select 3 as b\n", "models/new/c.sql": "select 4\n"})
    (tmp_path / "models/a.sql").write_text("select 10 as a\n")
    (tmp_path / "macros/m.sql").unlink()

    sync = sync_shadow(project, {})

    assert sorted(sync.written) == ["models/a.sql", "models/b.sql"]
    assert sorted(sync.deleted) == ["macros/m.sql", "models/new/c.sql"]
    shadow = shadow_dir(project)
    assert _files(shadow)["models/b.sql"] == "select 2 as b\n"
    assert not (shadow / "models/new").exists() and not (shadow / "macros").exists()


def test_restore_file_puts_disk_version_back(tmp_path: Path) -> None:
    """Restoring a file gives the shadow the disk's version, or removes a file the disk lacks."""
    project = _project(tmp_path)
    sync_shadow(project, {"models/b.sql": "broken\n", "models/new.sql": "broken\n"})
    restore_file(project, "models/b.sql")
    restore_file(project, "models/new.sql")
    shadow = shadow_dir(project)
    assert (shadow / "models/b.sql").read_text() == "select 2 as b\n"
    assert not (shadow / "models/new.sql").exists()


def test_sync_shadow_links_cartridge_package(tmp_path: Path) -> None:
    """The shadow gets Cartridge's dbt package beside the project's, replacing a stale link and an
    installed copy; the project's own dbt_packages is left as it was."""
    project = _project(tmp_path)
    packages = shadow_dir(project) / "dbt_packages"
    packages.parent.mkdir(parents=True)
    packages.symlink_to(tmp_path / "dbt_packages")  # how shadows were linked before
    (tmp_path / "dbt_packages/cartridge").mkdir()  # an old copy the user installed

    sync_shadow(project, {})
    (tmp_path / "dbt_packages/pkg").rename(tmp_path / "dbt_packages/pkg2")
    sync_shadow(project, {})

    assert not packages.is_symlink()
    assert {p.name: p.resolve() for p in packages.iterdir()} == {
        "pkg2": tmp_path / "dbt_packages/pkg2",
        "cartridge": package_path(),
    }
    assert sorted(p.name for p in (tmp_path / "dbt_packages").iterdir()) == ["cartridge", "pkg2"]
    assert not any((tmp_path / "dbt_packages/cartridge").iterdir())
