"""verify_tests: proposed tests run on the real data with real dbt before they are written.

One DuckDB warehouse (built once for the module) holds what each outcome needs: a NOT NULL column,
a nullable column with nulls, a 3-value status, a declared foreign key, and an inferred one with an
orphan. A PostgreSQL test covers an enum and CHECK (... IN ...) lists. dbt runs few times: one
verification per outcome setting, and one `dbt build` per engine of what would be written.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import pytest

from cartridge_core import services
from cartridge_core.dbt.runner import DbtInvocation, default_runner
from cartridge_core.dbt.shadow import shadow_dir
from cartridge_core.dbt.verify import VERIFY_FILE, verify_tests
from cartridge_core.errors import Cancelled, DbtError
from cartridge_core.generation.docs import propose_staging_docs
from cartridge_core.generation.staging import StagingModel, generate_staging, staging_models
from cartridge_core.models import ColumnDoc, ModelDoc, Scan, SchemaTest
from cartridge_core.progress import NullProgress
from cartridge_core.project.changes import plan_changes, write_plan
from cartridge_core.project.yaml_edit import merge_models_yaml
from tests.conftest import PG_HOST, PG_PORT, PG_USER, run_pg, write_project

TIERS = ("gold", "silver", "bronze")
STATUSES = ("placed", "shipped", "returned")

CRM_DDL = [
    "create schema crm",
    """create table crm.customers (
        id integer primary key,
        name varchar not null,
        nickname varchar,
        tier varchar,
        signed_up_at timestamp
    )""",
    """create table crm.orders (
        id integer primary key,
        customer_id integer not null references crm.customers(id),
        status varchar not null
    )""",
    "create table crm.payments (payment_id integer, order_id integer, amount decimal(10, 2))",
    # 20 customers, 3 tiers; nicknames missing on 3 of them.
    "insert into crm.customers select i, 'name ' || i, case when i % 7 = 0 then null else 'nick ' || i end, "
    f"(array{list(TIERS)!r})[i % 3 + 1], timestamp '2024-01-01' + i * interval '1 day' "
    "from range(1, 21) as t(i)",
    # 40 orders over the customers, 3 statuses.
    "insert into crm.orders select i, i % 20 + 1, "
    f"(array{list(STATUSES)!r})[i % 3 + 1] from range(1, 41) as t(i)",
    # 40 payments; payment 40 refers to order 99, which does not exist (97.5 % found: inferred).
    "insert into crm.payments select i, case when i = 40 then 99 else i end, i * 1.5 "
    "from range(1, 41) as t(i)",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Crm:
    ctx: services.Context
    scan: Scan
    staging: list[StagingModel]
    docs: list[ModelDoc]


def _duckdb_root(base: Path) -> Path:
    root = base / "crm"
    root.mkdir()
    db_file = root / "warehouse.duckdb"
    con = duckdb.connect(str(db_file))
    try:
        for statement in CRM_DDL:
            con.execute(statement)
    finally:
        con.close()
    profile = f"crm:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: '{db_file}'\n"
    return write_project(
        root, profile_yaml=profile + "      schema: analytics\n      threads: 1\n", name="crm"
    )


def _analyzed(root: Path, schema: str) -> tuple[services.Context, Scan]:
    ctx = services.load_context(root, profiles_dir=root)
    return ctx, services.analyze(ctx, services.scan(ctx, schemas=[schema]))


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> Crm:
    """The CRM warehouse in DuckDB, scanned and analyzed, with its staging models and proposals."""
    ctx, scan = _analyzed(_duckdb_root(tmp_path_factory.mktemp("verify")), "crm")
    staging = staging_models(scan)
    return Crm(ctx=ctx, scan=scan, staging=staging, docs=propose_staging_docs(scan, staging))


@pytest.fixture(scope="module")
def dropped(crm: Crm) -> list[ModelDoc]:
    """The proposals after one verification that drops failing tests."""
    return verify_tests(
        crm.ctx.project, crm.ctx.target, crm.docs, crm.staging, on_failure="drop", progress=NullProgress()
    )


def summary(docs: list[ModelDoc]) -> dict[tuple[str, str], list[tuple[str, str, str | None]]]:
    """(model, column) -> [(kind, severity, evidence)] for every column with tests."""
    return {
        (d.name, c.name): [(t.kind, t.severity, t.evidence) for t in c.tests]
        for d in docs
        for c in d.columns
        if c.tests
    }


FK_EVIDENCE = "name order_id matches orders.id; 97.5 % of 40 non-null values found"
PASSING = {
    ("stg_crm__customers", "customer_id"): [
        ("unique", "error", "primary key"),
        ("not_null", "error", "0 nulls in 20 rows"),
    ],
    ("stg_crm__customers", "name"): [("not_null", "error", "0 nulls in 20 rows")],
    ("stg_crm__customers", "tier"): [("accepted_values", "error", "all 3 values seen in 20 rows")],
    ("stg_crm__orders", "order_id"): [
        ("unique", "error", "primary key"),
        ("not_null", "error", "0 nulls in 40 rows"),
    ],
    ("stg_crm__orders", "customer_id"): [
        ("not_null", "error", "0 nulls in 40 rows"),
        ("relationships", "error", "declared foreign key orders_customer_id_id_fkey"),
    ],
    ("stg_crm__orders", "status"): [
        ("not_null", "error", "0 nulls in 40 rows"),
        ("accepted_values", "error", "all 3 values seen in 40 rows"),
    ],
    ("stg_crm__payments", "payment_id"): [
        ("unique", "error", "distinct = rows (40)"),
        ("not_null", "error", "0 nulls in 40 rows"),
    ],
}


def with_tests(
    docs: list[ModelDoc], added: dict[tuple[str, str], SchemaTest], *, replace_all: bool = False
) -> list[ModelDoc]:
    """`docs` with a test added to (or, with `replace_all`, put instead of) some columns' tests."""

    def column(model: str, doc: ColumnDoc) -> ColumnDoc:
        test = added.get((model, doc.name))
        if test is None:
            return doc
        return replace(doc, tests=(test,) if replace_all else (*doc.tests, test))

    return [replace(d, columns=tuple(column(d.name, c) for c in d.columns)) for d in docs]


def test_verify_proposals_from_real_scan(crm: Crm) -> None:
    """The real DuckDB scan yields the expected proposals, the orphaned inferred key among them."""
    expected = {key: list(tests) for key, tests in PASSING.items()}
    expected[("stg_crm__payments", "order_id")] = [("relationships", "error", FK_EVIDENCE)]
    assert summary(crm.docs) == expected
    tier = next(c for d in crm.docs for c in d.columns if c.name == "tier")
    assert tier.tests[0].values == ("bronze", "gold", "silver")


def test_verify_drop_keeps_passing_tests_with_evidence(dropped: list[ModelDoc], crm: Crm) -> None:
    """Passing tests are kept with their evidence; the failing relationships test is dropped."""
    assert summary(dropped) == PASSING
    assert [d.description for d in dropped] == [d.description for d in crm.docs]


def test_verify_warn_keeps_failing_tests_as_warnings(crm: Crm) -> None:
    """With on_failure="warn", failing tests stay as warnings saying what dbt found; the rest pass."""
    docs = with_tests(
        crm.docs,
        {
            ("stg_crm__customers", "nickname"): SchemaTest(kind="not_null"),
            ("stg_crm__orders", "customer_id"): SchemaTest(kind="unique"),
        },
    )
    tier = SchemaTest(kind="accepted_values", values=("gold", "silver"), evidence="guess")
    unknown = ModelDoc(
        name="stg_crm__nowhere", columns=(ColumnDoc(name="x", tests=(SchemaTest(kind="unique"),)),)
    )
    docs = [*with_tests(docs, {("stg_crm__customers", "tier"): tier}, replace_all=True), unknown]
    warned = verify_tests(
        crm.ctx.project, crm.ctx.target, docs, crm.staging, on_failure="warn", progress=NullProgress()
    )
    got = summary(warned)
    assert got[("stg_crm__payments", "order_id")] == [
        ("relationships", "warn", "1 value not found in orders.id")
    ]
    assert got[("stg_crm__customers", "nickname")] == [("not_null", "warn", "2 nulls found")]
    assert got[("stg_crm__customers", "tier")] == [("accepted_values", "warn", "1 other value found")]
    assert got[("stg_crm__orders", "customer_id")] == [
        *PASSING[("stg_crm__orders", "customer_id")],
        ("unique", "warn", "20 duplicated values found"),
    ]
    assert ("stg_crm__nowhere", "x") not in got  # no source column to run it on: dropped, not warned
    changed = {("stg_crm__customers", "tier"), ("stg_crm__orders", "customer_id")}
    assert {k: v for k, v in got.items() if k in PASSING and k not in changed} == {
        k: v for k, v in PASSING.items() if k not in changed
    }


def test_verify_leaves_no_trace(crm: Crm, dropped: list[ModelDoc]) -> None:
    """The temporary sources YAML is in neither the project nor, after the run, its shadow."""
    root = crm.ctx.project.root
    assert not [p for p in root.rglob(VERIFY_FILE) if p.relative_to(root).parts[0] != "target"]
    assert not (shadow_dir(crm.ctx.project) / "models" / VERIFY_FILE).exists()


def test_verify_honours_cancellation(crm: Crm) -> None:
    """A cancelled verification stops before dbt runs."""

    class Cancelling(NullProgress):
        def cancelled(self) -> bool:
            return True

    with pytest.raises(Cancelled):
        verify_tests(
            crm.ctx.project, crm.ctx.target, crm.docs, crm.staging, on_failure="drop", progress=Cancelling()
        )


def test_verify_nothing_to_run(crm: Crm) -> None:
    """Docs without tests come back unchanged, and dbt is not run."""
    bare = [replace(d, columns=tuple(replace(c, tests=()) for c in d.columns)) for d in crm.docs]

    class NoDbt:
        def invoke(self, args: Sequence[str], *, cwd: Path) -> DbtInvocation:
            raise AssertionError("dbt should not run")

    assert (
        verify_tests(
            crm.ctx.project,
            crm.ctx.target,
            bare,
            crm.staging,
            on_failure="drop",
            progress=NullProgress(),
            runner=NoDbt(),
        )
        == bare
    )


def test_verify_unparseable_project_raises(crm: Crm, tmp_path: Path) -> None:
    """A project dbt cannot parse is reported as a DbtError naming it, not as failing proposals."""
    root = _duckdb_root(tmp_path)
    (root / "models" / "broken.yml").write_text("version: 2\nmodels: [\n")
    ctx = services.load_context(root, profiles_dir=root)
    with pytest.raises(DbtError, match="dbt cannot run the proposed tests on crm"):
        verify_tests(
            ctx.project, ctx.target, crm.docs, crm.staging, on_failure="drop", progress=NullProgress()
        )


def write_and_build(root: Path, scan: Scan, docs: list[ModelDoc]) -> dict[str, str]:
    """Write the staging for `scan` with `docs` merged into its models YAML; `dbt build`; node statuses."""
    ctx = services.load_context(root, profiles_dir=root)
    files = generate_staging(scan, ctx.project)
    for path in [p for p in files if p.endswith("__models.yml")]:
        files[path] = merge_models_yaml(files[path], docs, path=path)
    write_plan(root, plan_changes(root, files).to_write)
    invocation = default_runner().invoke(
        ["build", "--project-dir", str(root), "--profiles-dir", str(root)], cwd=root
    )
    return {n.unique_id: n.status for n in invocation.nodes}


def assert_built_clean(statuses: dict[str, str], *, models: int, tests: int) -> None:
    built = [s for k, s in statuses.items() if k.startswith("model.")]
    tested = [s for k, s in statuses.items() if k.startswith("test.")]
    assert built == ["success"] * models, statuses
    assert tested == ["pass"] * tests, statuses


def test_verify_dropped_tests_build_clean(crm: Crm, dropped: list[ModelDoc]) -> None:
    """Staging plus the verified tests (failing ones dropped) builds with zero failures and warnings."""
    statuses = write_and_build(crm.ctx.project.root, crm.scan, dropped)
    assert_built_clean(statuses, models=3, tests=sum(len(v) for v in PASSING.values()))


PROJECT_THAT_WRITES = """\
on-run-start:
  - "create table crm.hook_ran as select 1 as x"
data_tests:
  +store_failures: true
"""


def test_verify_never_writes_to_the_warehouse(tmp_path: Path) -> None:
    """Neither the project's on-run hooks nor its store_failures setting write while proposals run."""
    root = _duckdb_root(tmp_path)
    project_file = root / "dbt_project.yml"
    original = project_file.read_text() + PROJECT_THAT_WRITES
    project_file.write_text(original)
    ctx, scan = _analyzed(root, "crm")
    staging = staging_models(scan)
    docs = with_tests(
        [d for d in propose_staging_docs(scan, staging) if d.name == "stg_crm__orders"],
        {("stg_crm__orders", "customer_id"): SchemaTest(kind="unique")},
    )
    verified = verify_tests(
        ctx.project, ctx.target, docs, staging, on_failure="drop", progress=NullProgress()
    )
    assert summary(verified) == {k: v for k, v in PASSING.items() if k[0] == "stg_crm__orders"}
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        tables = con.execute("select schema_name, table_name from duckdb_tables() order by all").fetchall()
        schemas = {r[0] for r in con.execute("select schema_name from duckdb_schemas()").fetchall()}
    finally:
        con.close()
    assert tables == [("crm", "customers"), ("crm", "orders"), ("crm", "payments")]
    assert schemas == {"crm", "main", "information_schema", "pg_catalog"}
    assert project_file.read_text() == original
    assert "hook_ran" in (shadow_dir(ctx.project) / "dbt_project.yml").read_text()  # the shadow is put back


PG_DDL = [
    "create schema support",
    "create type ticket_state as enum ('open', 'pending', 'closed')",
    """create table support.tickets (
        id serial primary key,
        state ticket_state not null,
        priority integer check (priority in (1, 2, 3)),
        channel varchar(10) not null check (channel in ('email', 'phone', 'chat')),
        body text
    )""",
    "comment on column support.tickets.body is 'What the customer wrote.'",
    """insert into support.tickets (state, priority, channel, body)
       select (array['open', 'pending']::ticket_state[])[i % 2 + 1],
              case when i % 4 = 0 then null else i % 2 + 1 end,
              (array['email', 'phone'])[i % 2 + 1], 'text ' || i
       from generate_series(1, 12) as i""",
]


@pytest.mark.postgres
def test_verify_postgres_enum_and_check_lists(tmp_path: Path, pg_database: str) -> None:
    """On PostgreSQL, enum labels and CHECK lists become accepted_values that pass, build and all."""
    run_pg(pg_database, PG_DDL)
    profile = textwrap.dedent(
        f"""\
        support:
          target: dev
          outputs:
            dev:
              type: postgres
              host: {PG_HOST}
              port: {PG_PORT}
              user: {PG_USER}
              password: ""
              dbname: {pg_database}
              schema: analytics
              threads: 1
        """
    )
    root = write_project(tmp_path / "support", profile_yaml=profile, name="support")
    ctx, scan = _analyzed(root, "support")
    staging = staging_models(scan)
    docs = propose_staging_docs(scan, staging)
    assert summary(docs) == {
        ("stg_support__tickets", "ticket_id"): [
            ("unique", "error", "primary key"),
            ("not_null", "error", "0 nulls in 12 rows"),
        ],
        ("stg_support__tickets", "state"): [
            ("not_null", "error", "0 nulls in 12 rows"),
            ("accepted_values", "error", "enum labels"),
        ],
        ("stg_support__tickets", "priority"): [("accepted_values", "error", "CHECK constraint")],
        ("stg_support__tickets", "channel"): [
            ("not_null", "error", "0 nulls in 12 rows"),
            ("accepted_values", "error", "CHECK constraint"),
        ],
    }
    columns = {c.name: c for c in docs[0].columns}
    assert (columns["priority"].tests[0].values, columns["priority"].tests[0].quote_values) == (
        ("1", "2", "3"),
        False,
    )
    assert columns["body"].description == "What the customer wrote."
    verified = verify_tests(
        ctx.project, ctx.target, docs, staging, on_failure="drop", progress=NullProgress()
    )
    assert verified == docs
    assert_built_clean(write_and_build(root, scan, verified), models=1, tests=7)
