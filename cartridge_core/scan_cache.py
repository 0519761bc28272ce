"""Scans kept on disk between runs, and what changed in the warehouse from one scan to the next.

The cache is one SQLite file under the project's target directory (which dbt already keeps out of git):
`<project>/<target-path>/cartridge/scans.sqlite`, one row per scan holding the Scan as JSON. A cache that
cannot be read (not SQLite, truncated, another layout, another format, JSON that no longer fits the
dataclasses) is never an error: it is ignored with one warning, and the next save starts a fresh file.
SQLAlchemy is imported inside the functions so that importing this module stays cheap for the server.
A little over the house's ~400 lines: the JSON codec, the file and the diff are one feature, used together.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import sqlite3
import tempfile
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Union, get_args, get_origin, get_type_hints

from cartridge_core.errors import CartridgeError, ConfigError
from cartridge_core.models import Column, DbtProject, Scan, Table

if TYPE_CHECKING:
    import sqlalchemy as sa

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1  # bump when a saved Scan can no longer be read back into the dataclasses
DEFAULT_KEEP = 10
CACHE_DIR = "cartridge"
CACHE_FILE = "scans.sqlite"


# --- Scan <-> JSON, generic over the dataclasses' fields and type hints -------------------------------


class _Mismatch(ValueError):
    """Stored data that no longer fits the dataclasses (or the cache layout)."""


def scan_to_json(scan: Scan) -> str:
    """The scan as JSON text: dataclasses become objects, tuples become arrays."""
    return json.dumps(dataclasses.asdict(scan), ensure_ascii=False, separators=(",", ":"))


def scan_from_json(text: str) -> Scan:
    """The Scan that `scan_to_json` wrote; ValueError naming the field when the JSON no longer fits."""
    scan: Scan = _decode(Scan, json.loads(text), "scan")
    return scan


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _decode(tp: Any, value: Any, where: str) -> Any:
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _decode_dataclass(tp, value, where)
    origin, args = get_origin(tp), get_args(tp)
    if origin is Literal:
        if value not in args:
            raise _Mismatch(f"{where}: {value!r} is not one of {args!r}")
        return value
    if origin in (Union, types.UnionType):
        return _decode_union(args, value, where)
    if origin is tuple or tp is tuple:
        return _decode_tuple(args, value, where)
    if origin is list:
        return [_decode(args[0], v, f"{where}[{i}]") for i, v in enumerate(_expect(list, value, where))]
    if origin in (dict, Mapping):
        items = _expect(dict, value, where).items()
        return {k: _decode(args[1], v, f"{where}[{k!r}]") for k, v in items}
    if tp is Any:
        return value
    return _decode_plain(tp, value, where)


def _decode_dataclass(cls: type, value: Any, where: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    data = _expect(dict, value, where)
    unknown = sorted(data.keys() - fields.keys())
    if unknown:
        raise _Mismatch(f"{where}: unknown field {unknown[0]!r}")
    for name, f in fields.items():
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if required and name not in data:
            raise _Mismatch(f"{where}.{name}: missing")
    hints = _hints(cls)
    return cls(**{name: _decode(hints[name], v, f"{where}.{name}") for name, v in data.items()})


def _decode_union(args: tuple[Any, ...], value: Any, where: str) -> Any:
    for option in args:
        try:
            return _decode(option, value, where)
        except _Mismatch:
            continue
    raise _Mismatch(f"{where}: {value!r} fits none of {args!r}")


def _decode_tuple(args: tuple[Any, ...], value: Any, where: str) -> tuple[Any, ...]:
    items = _expect(list, value, where)
    if not args or (len(args) == 2 and args[1] is Ellipsis):  # tuple[X, ...] (or a bare tuple)
        item_type = args[0] if args else Any
        return tuple(_decode(item_type, v, f"{where}[{i}]") for i, v in enumerate(items))
    if len(items) != len(args):
        raise _Mismatch(f"{where}: expected {len(args)} items, found {len(items)}")
    return tuple(_decode(t, v, f"{where}[{i}]") for i, (t, v) in enumerate(zip(args, items, strict=True)))


def _decode_plain(tp: Any, value: Any, where: str) -> Any:
    # bool is an int in Python, and JSON writes 1.0 back as 1.0 but a hand-edited file may say 1.
    fits = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
        type(None): value is None,
    }
    if tp not in fits:
        raise _Mismatch(f"{where}: cannot read values of type {tp!r}")
    if not fits[tp]:
        raise _Mismatch(f"{where}: {value!r} is not a {getattr(tp, '__name__', tp)}")
    return float(value) if tp is float else value


def _expect(kind: type, value: Any, where: str) -> Any:
    if not isinstance(value, kind):
        raise _Mismatch(f"{where}: expected a JSON {'object' if kind is dict else 'array'}")
    return value


# --- The cache file ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CachedScan:
    """A scan read back from the cache, with when it was taken (UTC)."""

    scanned_at: datetime
    scan: Scan


def scan_cache_path(project: DbtProject) -> Path:
    """Where the project's scans are kept; refuses a target-path that leaves the project (or is its root)."""
    root = project.root.resolve()
    target_dir = (root / project.target_path).resolve()
    path = (target_dir / CACHE_DIR / CACHE_FILE).resolve()
    if root not in target_dir.parents or target_dir not in path.parents:
        raise ConfigError(
            f"Refusing to keep the scan cache outside the project's target directory: target-path "
            f"{project.target_path!r} in {project.project_file} is not a directory inside the project",
            file=str(project.project_file),
        )
    return path


def save_scan(
    project: DbtProject,
    target_name: str,
    scan: Scan,
    *,
    keep: int = DEFAULT_KEEP,
    scanned_at: datetime | None = None,
) -> None:
    """Add `scan` to the project's cache, keeping the newest `keep` scans of that target and those schemas.

    A cache file that cannot be used is replaced atomically by a fresh one holding only this scan.
    Raises CartridgeError when the file cannot be written at all (read-only, locked, disk full).
    """
    from sqlalchemy.exc import DBAPIError

    if keep < 1:
        raise ValueError(f"keep must be at least 1, not {keep}")
    path = scan_cache_path(project)
    row = _new_row(target_name, scan, scanned_at or datetime.now(timezone.utc))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        problem = _append(path, row, keep)
        if problem is not None:
            logger.warning("Replacing the unreadable scan cache %s: %s", path, problem)
            _replace_with_fresh(path, row)
    except DBAPIError as exc:
        raise CartridgeError(f"Cannot write the scan cache {path}: {exc.orig}") from exc
    except OSError as exc:
        raise CartridgeError(f"Cannot write the scan cache {path}: {exc.strerror or exc}") from exc


def load_latest_scan(
    project: DbtProject, target_name: str, schemas: Sequence[str] | None = None
) -> CachedScan | None:
    """The scan of `target_name` saved last, of exactly `schemas` (in any order) when given.

    None when there is none, or when the cache cannot be read (one warning names the file).
    """
    from sqlalchemy.exc import DBAPIError

    path = scan_cache_path(project)
    if not path.is_file():
        return None
    try:
        row = _latest_row(path, target_name, schemas)
        return None if row is None else _cached_scan(row)
    except DBAPIError as exc:
        logger.warning("Ignoring the unreadable scan cache %s: %s", path, exc.orig)
    except (ValueError, TypeError) as exc:
        logger.warning(
            "Ignoring the latest scan of target %r in the scan cache %s: %s", target_name, path, exc
        )
    return None


@functools.cache
def _table() -> sa.Table:
    import sqlalchemy as sa

    return sa.Table(
        "scans",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("scanned_at", sa.String, nullable=False),  # UTC, ISO 8601
        sa.Column("target", sa.String, nullable=False),
        sa.Column("engine", sa.String, nullable=False),
        sa.Column("database", sa.String, nullable=False),
        sa.Column("schemas", sa.String, nullable=False),  # JSON array, sorted: the same set is the same key
        sa.Column("format_version", sa.Integer, nullable=False),
        sa.Column("scan", sa.Text, nullable=False),
        sa.Index("ix_scans_key", "target", "schemas", "id"),
        sqlite_autoincrement=True,  # ids only grow, so the highest id is the scan saved last
    )


def _engine(path: Path, *, read_only: bool) -> sa.Engine:
    import sqlalchemy as sa

    if read_only:  # a reader never creates or changes the file
        url = sa.URL.create("sqlite", database=path.as_uri(), query={"mode": "ro", "uri": "true"})
        return sa.create_engine(url, poolclass=sa.NullPool)
    engine = sa.create_engine(sa.URL.create("sqlite", database=str(path)), poolclass=sa.NullPool)
    # The sqlite3 driver does not BEGIN before DDL or SELECT; take over, as SQLAlchemy's SQLite docs show,
    # so each save is one transaction, and IMMEDIATE so two writers queue instead of failing halfway.
    sa.event.listen(engine, "connect", _no_driver_begin)
    sa.event.listen(engine, "begin", _begin_immediate)
    return engine


def _no_driver_begin(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    dbapi_connection.isolation_level = None


def _begin_immediate(conn: sa.Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _is_corrupt(exc: sa.exc.DBAPIError) -> bool:
    # sqlite3 raises its base DatabaseError (not a subclass) for "file is not a database" and
    # "database disk image is malformed"; locks and read-only files are OperationalError.
    return type(exc.orig) is sqlite3.DatabaseError


def _layout_problem(conn: sa.Connection) -> str | None:
    import sqlalchemy as sa

    inspector = sa.inspect(conn)
    names = inspector.get_table_names()
    if not names:  # a new file, or an empty one: the scans table is created on save
        return None
    if _table().name not in names:
        return "it holds no scans table"
    found = {c["name"] for c in inspector.get_columns(_table().name)}
    missing = sorted(set(_table().c.keys()) - found)
    return f"its scans table lacks {', '.join(missing)}" if missing else None


def _append(path: Path, row: dict[str, Any], keep: int) -> str | None:
    """Insert `row` and prune, in one transaction; the reason the file is unusable, if it is."""
    from sqlalchemy.exc import DBAPIError

    table = _table()
    engine = _engine(path, read_only=False)
    try:
        with engine.begin() as conn:
            problem = _layout_problem(conn)
            if problem is not None:
                return problem
            table.metadata.create_all(conn)
            conn.execute(table.delete().where(table.c.format_version != FORMAT_VERSION))
            conn.execute(table.insert().values(**row))
            _prune(conn, row, keep)
        return None
    except DBAPIError as exc:
        if _is_corrupt(exc):
            return str(exc.orig)
        raise
    finally:
        engine.dispose()


def _prune(conn: sa.Connection, row: dict[str, Any], keep: int) -> None:
    import sqlalchemy as sa

    table = _table()
    same_key = (table.c.target == row["target"], table.c.schemas == row["schemas"])
    newest = sa.select(table.c.id).where(*same_key).order_by(table.c.id.desc()).limit(keep)
    conn.execute(table.delete().where(*same_key, table.c.id.not_in(newest.scalar_subquery())))


def _replace_with_fresh(path: Path, row: dict[str, Any]) -> None:
    """Build a new cache holding `row` beside `path`, then swap it in, so readers never see half a file."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    fresh = Path(name)
    try:
        engine = _engine(fresh, read_only=False)
        try:
            with engine.begin() as conn:
                _table().metadata.create_all(conn)
                conn.execute(_table().insert().values(**row))
        finally:
            engine.dispose()
        os.replace(fresh, path)
    except BaseException:
        fresh.unlink(missing_ok=True)
        raise


def _latest_row(path: Path, target_name: str, schemas: Sequence[str] | None) -> sa.Row[Any] | None:
    table = _table()
    query = table.select().where(table.c.target == target_name).order_by(table.c.id.desc()).limit(1)
    if schemas is not None:
        query = query.where(table.c.schemas == _schemas_key(schemas))
    engine = _engine(path, read_only=True)
    try:
        with engine.connect() as conn:  # another layout fails here, with "no such table" or "no such column"
            return conn.execute(query).first()
    finally:
        engine.dispose()


def _cached_scan(row: sa.Row[Any]) -> CachedScan:
    if row.format_version != FORMAT_VERSION:
        raise _Mismatch(f"it is in format {row.format_version}, this Cartridge reads format {FORMAT_VERSION}")
    return CachedScan(scanned_at=datetime.fromisoformat(row.scanned_at), scan=scan_from_json(row.scan))


def _new_row(target_name: str, scan: Scan, scanned_at: datetime) -> dict[str, Any]:
    if scanned_at.tzinfo is None:
        raise ValueError("scanned_at must be timezone-aware")
    return {
        "scanned_at": scanned_at.astimezone(timezone.utc).isoformat(timespec="microseconds"),
        "target": target_name,
        "engine": scan.engine,
        "database": scan.database,
        "schemas": _schemas_key(scan.schemas),
        "format_version": FORMAT_VERSION,
        "scan": scan_to_json(scan),
    }


def _schemas_key(schemas: Sequence[str]) -> str:
    names = (schemas,) if isinstance(schemas, str) else schemas  # a lone "raw" means one schema, not r, a, w
    return json.dumps(sorted(set(names)), ensure_ascii=False)


# --- What changed --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnChange:
    """A column that differs between two scans of one table: `old` is None when added, `new` when removed."""

    schema: str
    table: str
    column: str
    old: Column | None
    new: Column | None

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.table}.{self.column}"

    def both(self) -> tuple[Column, Column]:
        """The column before and after; only for a column present in both scans."""
        if self.old is None or self.new is None:
            raise ValueError(f"column {self.qualified} is not in both scans")
        return self.old, self.new


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanDiff:
    """What changed in the warehouse's structure between two scans, each part sorted by name."""

    tables_added: tuple[Table, ...] = ()
    tables_removed: tuple[Table, ...] = ()
    columns_added: tuple[ColumnChange, ...] = ()
    columns_removed: tuple[ColumnChange, ...] = ()
    columns_retyped: tuple[ColumnChange, ...] = ()
    nullability_changed: tuple[ColumnChange, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not any(getattr(self, f.name) for f in dataclasses.fields(self))

    def lines(self) -> list[str]:
        """One human line per change, e.g. `~ column raw.orders.amount: numeric(10,2) → numeric(12,2)`."""
        out = [f"+ table {t.schema}.{t.name}" for t in self.tables_added]
        out += [f"- table {t.schema}.{t.name}" for t in self.tables_removed]
        out += [f"+ column {c.qualified}" for c in self.columns_added]
        out += [f"- column {c.qualified}" for c in self.columns_removed]
        for change in self.columns_retyped:
            old, new = change.both()
            out.append(f"~ column {change.qualified}: {old.data_type} → {new.data_type}")
        for change in self.nullability_changed:
            old, new = change.both()
            out.append(f"~ column {change.qualified}: {_nullability(old)} → {_nullability(new)}")
        return out


def diff_scans(old: Scan, new: Scan) -> ScanDiff:
    """Tables and columns added or removed, columns retyped or changing nullability, from `old` to `new`.

    Compare scans of the same schemas (see `load_latest_scan`): a schema scanned only once shows whole.
    """
    before = {(t.schema, t.name): t for t in old.tables}
    after = {(t.schema, t.name): t for t in new.tables}
    changes = [
        c for key in sorted(before.keys() & after.keys()) for c in _column_changes(before[key], after[key])
    ]
    return ScanDiff(
        tables_added=tuple(after[key] for key in sorted(after.keys() - before.keys())),
        tables_removed=tuple(before[key] for key in sorted(before.keys() - after.keys())),
        columns_added=tuple(c for c in changes if c.old is None),
        columns_removed=tuple(c for c in changes if c.new is None),
        columns_retyped=tuple(c for c in changes if c.old and c.new and c.old.data_type != c.new.data_type),
        nullability_changed=tuple(c for c in changes if c.old and c.new and c.old.nullable != c.new.nullable),
    )


def _column_changes(old: Table, new: Table) -> list[ColumnChange]:
    before = {c.name: c for c in old.columns}
    after = {c.name: c for c in new.columns}
    changes = []
    for name in sorted(before.keys() | after.keys()):
        was, now = before.get(name), after.get(name)
        if was is None or now is None or (was.data_type, was.nullable) != (now.data_type, now.nullable):
            changes.append(ColumnChange(schema=new.schema, table=new.name, column=name, old=was, new=now))
    return changes


def _nullability(column: Column) -> str:
    return "nullable" if column.nullable else "not null"
