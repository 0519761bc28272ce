"""The scan cache: scans survive between runs and processes, bad caches are ignored, changes read as lines."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from cartridge_core.errors import ConfigError
from cartridge_core.models import (
    Column,
    ColumnProfile,
    DbtProject,
    ForeignKey,
    Relationship,
    Scan,
    SkippedTable,
    Table,
    TableProfile,
    TableRole,
)
from cartridge_core.scan_cache import (
    FORMAT_VERSION,
    diff_scans,
    load_latest_scan,
    save_scan,
    scan_cache_path,
    scan_from_json,
    scan_to_json,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
LOGGER = "cartridge_core.scan_cache"


def make_project(root: Path, target_path: str = "target") -> DbtProject:
    return DbtProject(root=root, name="shop", profile_name="shop", target_path=target_path)


@pytest.fixture
def project(tmp_path: Path) -> DbtProject:
    return make_project(tmp_path / "proj")


def rich_scan() -> Scan:
    """A scan using every field and value type the models have, with unicode and awkward names."""
    customers = Table(
        schema="raw",
        name="顧客 \"Kunden\" ü",
        kind="table",
        columns=(
            Column(name="id", data_type="integer", nullable=False, position=1, type_family="integer"),
            Column(
                name="select",
                data_type="character varying(20)",
                nullable=True,
                position=2,
                comment="Reserved word; a 'quoted' comment\nover two lines 🎉",
                type_family="text",
                enum_values=("ä", "b", ""),
            ),
            Column(name="since", data_type="TIMESTAMP WITH TIME ZONE", nullable=True, position=3,
                   type_family="timestamptz"),
        ),
        primary_key=("id",),
        unique_keys=(("select", "since"), ("id",)),
        check_constraints=("CHECK ((id > 0))",),
        comment="People who bought something.",
        row_estimate=0,
        size_bytes=2**40,
    )  # fmt: skip
    orders = Table(
        schema="raw",
        name="Order Events",
        kind="view",
        columns=(Column(name="customer_id", data_type="integer", nullable=False, position=1),),
        foreign_keys=(
            ForeignKey(name=None, columns=("customer_id",), ref_schema="raw", ref_table=customers.name,
                       ref_columns=("id",)),
            ForeignKey(name="fk_named", columns=("a", "b"), ref_schema="other", ref_table="t",
                       ref_columns=("x", "y")),
        ),
        view_definition="select * from raw.orders where amount > 100",
    )  # fmt: skip
    return Scan(
        engine="postgres",
        database="shöp",
        schemas=("raw", "other"),
        tables=(customers, orders, Table(schema="other", name="bare")),
        skipped=(SkippedTable(schema="raw", name="locked", reason="no privilege"),),
        profiles=(
            TableProfile(
                schema="raw",
                table=customers.name,
                row_count=1_000_000,
                method="sample",
                sample_percent=10.0,
                columns=(
                    ColumnProfile(
                        column="select",
                        null_fraction=0.1,
                        distinct_count=3,
                        min_value="a",
                        max_value="ü",
                        top_values=(("ü", 3), ("", 0)),
                        samples=("a", "ü"),
                    ),
                    ColumnProfile(column="id"),
                ),
            ),
            TableProfile(schema="other", table="bare", row_count=0, method="exact"),
        ),
        relationships=(
            Relationship(
                child_schema="raw", child_table="Order Events", child_columns=("customer_id",),
                parent_schema="raw", parent_table=customers.name, parent_columns=("id",),
                source="inferred", confidence=0.998, evidence=("name matches", "99.8 % contained"),
            ),
            Relationship(
                child_schema="other", child_table="bare", child_columns=(), parent_schema="raw",
                parent_table="x", parent_columns=(), source="declared", confidence=1.0,
            ),
        ),
        roles=(TableRole(schema="raw", table="Order Events", role="fact", reasons=("has 1 foreign key",)),),
    )  # fmt: skip


def small_scan(*schemas: str, database: str = "shop", tables: tuple[Table, ...] = ()) -> Scan:
    return Scan(engine="duckdb", database=database, schemas=schemas, tables=tables)


def rows(path: Path, sql: str = "select target, schemas, database, format_version from scans") -> list[Any]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


# --- round trips ----------------------------------------------------------------------------------------


def test_scan_cache_round_trip_keeps_every_value(project: DbtProject) -> None:
    """A rich scan saved and loaded back equals the original, and keeps when it was taken, in UTC."""
    scan = rich_scan()
    taken = datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=timezone(timedelta(hours=2)))
    save_scan(project, "dev", scan, scanned_at=taken)
    cached = load_latest_scan(project, "dev", ["other", "raw"])
    assert cached is not None
    assert cached.scan == scan
    assert cached.scanned_at == taken
    assert cached.scanned_at.utcoffset() == timedelta(0)
    assert scan_from_json(scan_to_json(scan)) == scan


def test_scan_from_json_reads_whole_numbers_as_floats() -> None:
    """A float field written as a whole number (a hand-edited cache) comes back as a float."""
    scan = small_scan("raw")
    stored = json.loads(
        scan_to_json(
            replace(
                scan,
                profiles=(
                    TableProfile(schema="raw", table="t", row_count=1, method="sample", sample_percent=10.0),
                ),
            )
        )
    )
    stored["profiles"][0]["sample_percent"] = 10
    (profile,) = scan_from_json(json.dumps(stored)).profiles
    assert profile.sample_percent == 10.0 and isinstance(profile.sample_percent, float)


def test_scan_cache_saved_by_one_process_is_loaded_by_another(project: DbtProject) -> None:
    """A scan saved by another Python process is read back here: the cache is on disk."""
    code = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from cartridge_core.models import DbtProject
        from cartridge_core.scan_cache import save_scan
        from tests.core.test_scan_cache import rich_scan
        save_scan(DbtProject(root=Path(sys.argv[1]), name="shop", profile_name="shop"), "dev", rich_scan())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(project.root)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    cached = load_latest_scan(project, "dev")
    assert cached is not None and cached.scan == rich_scan()


def test_scan_cache_import_does_not_load_sqlalchemy() -> None:
    """Importing the module stays cheap: SQLAlchemy loads only when the cache is used."""
    code = "import sys, cartridge_core.scan_cache; print('sqlalchemy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


# --- which scan comes back, and how many are kept -------------------------------------------------------


def test_scan_cache_latest_is_per_target_and_schemas(project: DbtProject) -> None:
    """The latest scan is chosen by target and by the set of schemas scanned, whatever their order."""
    save_scan(project, "dev", small_scan("raw", database="first"))
    save_scan(project, "dev", small_scan("shop", "raw", database="both"))
    save_scan(project, "dev", small_scan("raw", database="second"))
    save_scan(project, "prod", small_scan("raw", database="prod"))

    def latest(target: str, schemas: list[str] | None) -> str | None:
        cached = load_latest_scan(project, target, schemas)
        return None if cached is None else cached.scan.database

    assert latest("dev", ["raw"]) == "second"
    assert latest("dev", ["raw", "shop"]) == "both"
    assert latest("dev", ["shop", "raw", "shop"]) == "both"
    assert latest("dev", None) == "second"
    assert latest("prod", None) == "prod"
    assert latest("dev", ["shop"]) is None
    assert latest("staging", None) is None


def test_scan_cache_prunes_to_the_newest_ten_per_target_and_schemas(project: DbtProject) -> None:
    """Only the newest ten scans of one target and schemas are kept; other keys are untouched."""
    for i in range(12):
        save_scan(project, "dev", small_scan("raw", database=f"db{i}"))
    save_scan(project, "dev", small_scan("shop", database="shop"))
    save_scan(project, "prod", small_scan("raw", database="prod"))
    kept = rows(scan_cache_path(project))
    assert sorted(r[2] for r in kept if r[:2] == ("dev", '["raw"]')) == sorted(f"db{i}" for i in range(2, 12))
    assert [r[2] for r in kept if r[2] in ("shop", "prod")] == ["shop", "prod"]
    cached = load_latest_scan(project, "dev", ["raw"])
    assert cached is not None and cached.scan.database == "db11"
    with pytest.raises(ValueError, match="keep"):
        save_scan(project, "dev", small_scan("raw"), keep=0)


def test_scan_cache_load_without_cache_creates_nothing(project: DbtProject) -> None:
    """Loading before any save returns None and creates no file or directory."""
    project.root.mkdir()
    assert load_latest_scan(project, "dev") is None
    assert list(project.root.iterdir()) == []


# --- where the cache lives ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target_path", "expected"),
    [
        pytest.param("target", "target/cartridge/scans.sqlite", id="default"),
        pytest.param("build/dbt", "build/dbt/cartridge/scans.sqlite", id="nested"),
    ],
)
def test_scan_cache_path_is_under_target(tmp_path: Path, target_path: str, expected: str) -> None:
    """The cache is `<target-path>/cartridge/scans.sqlite` under the project root; saving writes it there."""
    project = make_project(tmp_path, target_path)
    path = scan_cache_path(project)
    assert path == tmp_path.resolve() / expected
    save_scan(project, "dev", small_scan("raw"))
    assert path.is_file()
    assert sorted(p.name for p in path.parent.iterdir()) == ["scans.sqlite"]


@pytest.mark.parametrize(
    "target_path",
    [
        pytest.param("../elsewhere", id="parent"),
        pytest.param("{tmp}/outside", id="absolute"),
        pytest.param(".", id="project-root"),
        pytest.param("", id="empty"),
    ],
)
def test_scan_cache_refuses_a_place_outside_target(tmp_path: Path, target_path: str) -> None:
    """A target-path outside the project, or the project root itself, is refused and nothing is written."""
    project = make_project(tmp_path / "proj", target_path.format(tmp=tmp_path))
    project.root.mkdir()
    for attempt in (
        lambda: save_scan(project, "dev", small_scan("raw")),
        lambda: load_latest_scan(project, "dev"),
    ):
        with pytest.raises(ConfigError, match="target-path"):
            attempt()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]
    assert list(project.root.iterdir()) == []


def test_scan_cache_refuses_a_symlink_out_of_target(tmp_path: Path) -> None:
    """A `cartridge` directory that is a symlink leading out of target/ is refused."""
    project = make_project(tmp_path / "proj")
    (project.root / "target").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (project.root / "target" / "cartridge").symlink_to(tmp_path / "outside")
    with pytest.raises(ConfigError):
        save_scan(project, "dev", small_scan("raw"))
    assert list((tmp_path / "outside").iterdir()) == []


# --- caches that cannot be used -------------------------------------------------------------------------


def write_garbage(path: Path) -> None:
    path.write_bytes(b"\x00\xffnot a database at all\n" * 300)
    Path(f"{path}-journal").write_bytes(b"a stale journal of the old file" * 100)  # SQLite discards it


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def write_foreign_sqlite(path: Path) -> None:
    path.unlink()
    with sqlite3.connect(path) as conn:
        conn.execute("create table scans (id integer primary key, payload blob)")


def write_empty(path: Path) -> None:
    path.write_bytes(b"")


def write_other_tables(path: Path) -> None:
    path.unlink()
    with sqlite3.connect(path) as conn:
        conn.execute("create table notes (body text)")


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(write_garbage, id="garbage-bytes"),
        pytest.param(truncate, id="truncated"),
        pytest.param(write_foreign_sqlite, id="foreign-layout"),
        pytest.param(write_empty, id="empty-file"),
        pytest.param(write_other_tables, id="other-tables"),
    ],
)
def test_scan_cache_unreadable_file_is_ignored_then_replaced(
    project: DbtProject, caplog: pytest.LogCaptureFixture, spoil: Callable[[Path], None]
) -> None:
    """An unusable cache loads as None with one warning naming the file, and the next save starts afresh."""
    # Enough rows, each large enough to span pages, that cutting the file in half loses some.
    for i in range(4):
        big = Table(schema="raw", name=f"t{i}", view_definition="x" * 20_000)
        save_scan(project, "dev", small_scan("raw", tables=(big,)))
    path = scan_cache_path(project)
    spoil(path)
    caplog.set_level(logging.WARNING, logger=LOGGER)

    assert load_latest_scan(project, "dev") is None
    assert len(warnings_of(caplog)) == 1
    assert str(path) in warnings_of(caplog)[0]

    save_scan(project, "dev", small_scan("raw", database="fresh"))
    cached = load_latest_scan(project, "dev")
    assert cached is not None and cached.scan.database == "fresh"
    assert rows(path) == [("dev", '["raw"]', "fresh", FORMAT_VERSION)]
    assert rows(path, "select name from sqlite_master where type = 'table'") == [
        ("scans",),
        ("sqlite_sequence",),
    ]
    assert sorted(p.name for p in path.parent.iterdir()) == ["scans.sqlite"]


@pytest.mark.parametrize(
    "version", [pytest.param(0, id="old"), pytest.param(FORMAT_VERSION + 1, id="unknown-newer")]
)
def test_scan_cache_other_format_version_is_discarded(
    project: DbtProject, caplog: pytest.LogCaptureFixture, version: int
) -> None:
    """Scans written in another format are ignored with one warning and dropped by the next save."""
    save_scan(project, "dev", small_scan("raw"))
    save_scan(project, "prod", small_scan("raw"))
    path = scan_cache_path(project)
    with sqlite3.connect(path) as conn:
        conn.execute("update scans set format_version = ?", (version,))
    caplog.set_level(logging.WARNING, logger=LOGGER)

    assert load_latest_scan(project, "dev") is None
    assert len(warnings_of(caplog)) == 1
    assert str(path) in warnings_of(caplog)[0] and f"format {version}" in warnings_of(caplog)[0]

    save_scan(project, "dev", small_scan("raw", database="fresh"))
    assert rows(path) == [("dev", '["raw"]', "fresh", FORMAT_VERSION)]


def edit_first_table(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    return lambda scan: change(scan["tables"][0])


@pytest.mark.parametrize(
    ("spoil", "where"),
    [
        pytest.param(
            edit_first_table(lambda t: t.update(kind="sofa")), "scan.tables[0].kind", id="bad-literal"
        ),
        pytest.param(edit_first_table(lambda t: t.pop("name")), "scan.tables[0].name", id="required-missing"),
        pytest.param(edit_first_table(lambda t: t.update(colour="red")), "'colour'", id="unknown-field"),
        pytest.param(
            edit_first_table(lambda t: t["columns"][0].update(position="1")),
            "scan.tables[0].columns[0].position",
            id="str-for-int",
        ),
        pytest.param(
            edit_first_table(lambda t: t["columns"][0].update(nullable=1)),
            "scan.tables[0].columns[0].nullable",
            id="int-for-bool",
        ),
        pytest.param(
            edit_first_table(lambda t: t["columns"][0].update(position=True)),
            "scan.tables[0].columns[0].position",
            id="bool-for-int",
        ),
        pytest.param(
            lambda s: s["relationships"][0].update(confidence=True),
            "scan.relationships[0].confidence",
            id="bool-for-float",
        ),
        pytest.param(
            lambda s: s["profiles"][0]["columns"][0]["top_values"][0].append(9),
            "scan.profiles[0].columns[0].top_values[0]",
            id="pair-too-long",
        ),
        pytest.param(lambda s: s.update(tables={}), "scan.tables", id="object-for-tuple"),
    ],
)
def test_scan_cache_row_that_no_longer_fits_is_ignored(
    project: DbtProject,
    caplog: pytest.LogCaptureFixture,
    spoil: Callable[[dict[str, Any]], None],
    where: str,
) -> None:
    """JSON that no longer fits the dataclasses loads as None, with one warning naming file and field."""
    save_scan(project, "dev", rich_scan())
    path = scan_cache_path(project)
    stored = json.loads(rows(path, "select scan from scans")[0][0])
    spoil(stored)
    with sqlite3.connect(path) as conn:
        conn.execute("update scans set scan = ?", (json.dumps(stored),))
    caplog.set_level(logging.WARNING, logger=LOGGER)

    assert load_latest_scan(project, "dev") is None
    (warning,) = warnings_of(caplog)
    assert str(path) in warning and where in warning


# --- what changed ---------------------------------------------------------------------------------------


def col(
    name: str, data_type: str, nullable: bool = True, position: int = 1, comment: str | None = None
) -> Column:
    return Column(name=name, data_type=data_type, nullable=nullable, position=position, comment=comment)


def tbl(schema: str, name: str, *columns: Column) -> Table:
    return Table(schema=schema, name=name, columns=columns)


ORDERS = (col("id", "integer", False), col("amount", "numeric(10,2)"), col("legacy_code", "text"))
CUSTOMERS = (col("id", "integer", False), col("email", "text"))
BASE = small_scan("raw", tables=(tbl("raw", "orders", *ORDERS), tbl("raw", "customers", *CUSTOMERS)))


def base_with(
    *, orders: tuple[Column, ...] = ORDERS, extra: tuple[Table, ...] = (), customers: bool = True
) -> Scan:
    tables = (tbl("raw", "orders", *orders), *((tbl("raw", "customers", *CUSTOMERS),) if customers else ()))
    return small_scan("raw", tables=(*extra, *tables))


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        pytest.param(base_with(), [], id="no-change"),
        pytest.param(
            small_scan(
                "raw",
                tables=(
                    tbl("raw", "customers", col("email", "text", position=7, comment="new"), CUSTOMERS[0]),
                    tbl("raw", "orders", *reversed(ORDERS)),
                ),
            ),
            [],
            id="order-positions-comments-ignored",
        ),
        pytest.param(base_with(extra=(tbl("raw", "refunds"),)), ["+ table raw.refunds"], id="table-added"),
        pytest.param(base_with(customers=False), ["- table raw.customers"], id="table-removed"),
        pytest.param(
            base_with(extra=(tbl("shop", "orders"),)), ["+ table shop.orders"], id="same-name-other-schema"
        ),
        pytest.param(
            base_with(orders=(*ORDERS, col("note", "text"))), ["+ column raw.orders.note"], id="column-added"
        ),
        pytest.param(base_with(orders=ORDERS[:2]), ["- column raw.orders.legacy_code"], id="column-removed"),
        pytest.param(
            base_with(orders=(ORDERS[0], col("amount", "numeric(12,2)"), ORDERS[2])),
            ["~ column raw.orders.amount: numeric(10,2) → numeric(12,2)"],
            id="column-retyped",
        ),
        pytest.param(
            base_with(orders=(ORDERS[0], col("amount", "numeric(10,2)", nullable=False), ORDERS[2])),
            ["~ column raw.orders.amount: nullable → not null"],
            id="nullability-changed",
        ),
        pytest.param(
            base_with(orders=(col("id", "bigint", True), *ORDERS[1:])),
            ["~ column raw.orders.id: integer → bigint", "~ column raw.orders.id: not null → nullable"],
            id="retyped-and-nullability",
        ),
        pytest.param(
            small_scan(
                "raw",
                tables=(
                    *(tbl("raw", t) for t in ("zeta", "mu", "delta")),
                    tbl(
                        "raw",
                        "orders",
                        *(col(c, "text") for c in "fedcba"),
                        col("amount", "money"),
                        ORDERS[0],
                    ),
                    tbl("raw", "alpha"),
                ),
            ),
            [
                "+ table raw.alpha",
                "+ table raw.delta",
                "+ table raw.mu",
                "+ table raw.zeta",
                "- table raw.customers",
                *(f"+ column raw.orders.{c}" for c in "abcdef"),
                "- column raw.orders.legacy_code",
                "~ column raw.orders.amount: numeric(10,2) → money",
            ],
            id="many-changes-in-a-fixed-order",
        ),
    ],
)
def test_diff_scans_reports_structure_changes(new: Scan, expected: list[str]) -> None:
    """Tables and columns added, removed, retyped or changing nullability come out as ordered human lines."""
    diff = diff_scans(BASE, new)
    assert diff.lines() == expected
    assert diff.is_empty == (expected == [])


def test_diff_scans_keeps_the_columns_before_and_after() -> None:
    """Each column change carries the old and new Column, so callers need not look them up again."""
    new = base_with(orders=(ORDERS[0], col("amount", "numeric(12,2)", nullable=False), ORDERS[2]))
    diff = diff_scans(BASE, new)
    (retyped,) = diff.columns_retyped
    assert (retyped.schema, retyped.table, retyped.column) == ("raw", "orders", "amount")
    assert retyped.old == ORDERS[1] and retyped.new == new.tables[0].columns[1]
    assert diff.nullability_changed == (retyped,)
    assert diff_scans(new, BASE).lines() == [
        "~ column raw.orders.amount: numeric(12,2) → numeric(10,2)",
        "~ column raw.orders.amount: not null → nullable",
    ]
