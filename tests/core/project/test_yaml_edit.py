"""merge_models_yaml: fresh files as staging writes them; additions to hand-written files, byte for byte."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cartridge_core.errors import CartridgeError
from cartridge_core.models import ColumnDoc, ModelDoc, SchemaTest
from cartridge_core.project.yaml_edit import merge_models_yaml
from cartridge_core.project.yamlio import load_yaml_file

FIXTURES = Path(__file__).parent / "yaml_fixtures"
GOLDEN = Path(__file__).parents[1] / "generation" / "golden" / "models" / "staging"

UNIQUE = SchemaTest(kind="unique")
NOT_NULL = SchemaTest(kind="not_null")


def _col(name: str, description: str | None = None, *tests: SchemaTest, quote: bool = False) -> ColumnDoc:
    return ColumnDoc(name=name, description=description, tests=tests, quote=quote)


def _related(to: str, field: str, *, warn: bool = False, evidence: str | None = None) -> SchemaTest:
    severity = "warn" if warn else "error"
    return SchemaTest(
        kind="relationships", to=f"ref('{to}')", field=field, severity=severity, evidence=evidence
    )


def _values(*values: str, warn: bool = False) -> SchemaTest:
    return SchemaTest(kind="accepted_values", values=values, severity="warn" if warn else "error")


# What the generators would say about each fixture's models; the fixtures say what a person wrote.
MODELS: dict[str, tuple[ModelDoc, ...]] = {
    "comments_everywhere": (
        ModelDoc(
            name="cm_orders",
            description="Orders.",
            columns=(
                _col(
                    "order_id", "Order id.", UNIQUE, SchemaTest(kind="not_null", evidence="0 nulls in 4 rows")
                ),
                _col("customer_id", "Customer.", _related("cm_customers", "customer_id", warn=True)),
                _col("status", "Where the order is."),
                _col("amount", "Paid, in cents."),
            ),
        ),
        ModelDoc(name="cm_customers", description="People.", columns=(_col("customer_id", None, UNIQUE),)),
        ModelDoc(name="cm_payments", columns=(_col("payment_id", None, UNIQUE, NOT_NULL),)),
    ),
    "sequence_not_indented": (
        ModelDoc(
            name="sni_orders",
            columns=(_col("order_id", None, UNIQUE, NOT_NULL), _col("status"), _col("amount", "Paid.")),
        ),
        ModelDoc(name="sni_customers", columns=(_col("customer_id", None, UNIQUE), _col("email"))),
        ModelDoc(name="sni_payments", description="Payments.", columns=(_col("payment_id", None, UNIQUE),)),
    ),
    "four_space_indent": (
        ModelDoc(
            name="fsi_orders",
            columns=(
                _col("order_id", None, UNIQUE, NOT_NULL),
                _col("status", "Placed or shipped."),
                _col("amount", "Amount."),
                _col(
                    "customer_id", None, _related("fsi_customers", "customer_id", warn=True, evidence="98 %")
                ),
            ),
        ),
        ModelDoc(name="fsi_customers", columns=(_col("customer_id", None, UNIQUE),)),
    ),
    "quoting_styles": (
        ModelDoc(
            name="qs_orders",
            description="Orders.",
            columns=(
                _col("order_id", "Id.", UNIQUE),
                _col("status", "Status."),
                _col("on", "Whether it is on: yes or no."),
                _col("Select", "A reserved word #1", quote=True),
            ),
        ),
    ),
    "block_scalars": (
        ModelDoc(
            name="bs_orders",
            description="Orders.",
            columns=(
                _col("order_id", "Id.", UNIQUE),
                _col("notes", None, NOT_NULL),
                _col("status", None, _values("placed", "shipped", "returned")),
            ),
        ),
        ModelDoc(name="bs_customers", columns=(_col("customer_id", "Who.\nOne row per person."),)),
    ),
    "doc_references": (
        ModelDoc(
            name="dr_orders",
            description="Orders.",
            columns=(
                _col("order_id", "Id.", UNIQUE),
                _col("status", "Status."),
                _col("amount", "Paid."),
            ),
        ),
    ),
    "old_tests_key": (
        ModelDoc(name="otk_customers", columns=(_col("customer_id", None, UNIQUE, NOT_NULL),)),
        ModelDoc(
            name="otk_orders",
            columns=(
                _col("order_id", None, UNIQUE, NOT_NULL),
                _col("customer_id", None, _related("otk_customers", "customer_id")),
                _col("status", None, _values("placed", "shipped", warn=True)),
            ),
        ),
    ),
    "columns_out_of_order": (
        ModelDoc(
            name="coo_orders",
            columns=(
                _col("order_id"),
                _col("customer_id", "Who ordered."),
                _col("status"),
                _col("amount"),
                _col("ordered_at", "When."),
            ),
        ),
    ),
    "two_models_one_gains": (
        ModelDoc(name="tm_orders", columns=(_col("order_id"), _col("status"), _col("amount"))),
        ModelDoc(name="tm_customers", columns=(_col("customer_id"), _col("email"))),
    ),
    "windows_line_endings": (
        ModelDoc(
            name="wle_orders",
            columns=(
                _col("order_id", None, UNIQUE, SchemaTest(kind="not_null", evidence="0 nulls")),
                _col("amount"),
                _col("currency", "ISO code."),
            ),
        ),
        ModelDoc(name="wle_customers", description="People.", columns=(_col("customer_id"),)),
    ),
    "no_trailing_newline": (
        ModelDoc(
            name="ntn_orders", columns=(_col("order_id"), _col("amount", None, NOT_NULL), _col("status"))
        ),
    ),
    "anchors": (
        ModelDoc(
            name="an_orders", columns=(_col("order_id", "Id.", UNIQUE, NOT_NULL), _col("amount", "Paid."))
        ),
        ModelDoc(name="an_lines", columns=(_col("order_id", "Id.", UNIQUE), _col("line_no", None, NOT_NULL))),
        ModelDoc(name="an_returns", columns=(_col("return_id", "Id.", UNIQUE), _col("refund_amount"))),
        ModelDoc(name="an_refunds", columns=(_col("return_id", "Id."), _col("refund_amount"))),
    ),
    "flow_collections": (
        ModelDoc(
            name="fc_orders",
            columns=(
                _col("order_id", "The key.", UNIQUE, NOT_NULL),
                _col("status", None, NOT_NULL, _values("placed", "shipped")),
            ),
        ),
        ModelDoc(name="fc_customers", columns=(_col("customer_id", None, UNIQUE),)),
        ModelDoc(name="fc_payments", description="Payments.", columns=(_col("payment_id"), _col("amount"))),
    ),
    "nothing_to_add": (
        ModelDoc(
            name="nta_orders",
            description="Orders.",
            columns=(
                _col("order_id", "Id.", UNIQUE, NOT_NULL),
                _col(
                    "customer_id", "Who.", _related("nta_customers", "customer_id", warn=True, evidence="x")
                ),
            ),
        ),
        ModelDoc(name="nta_customers", columns=(_col("customer_id", "Id."),)),
    ),
}


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")  # no newline translation: line endings are checked too


def _merged(name: str) -> str:
    return merge_models_yaml(_read(FIXTURES / name / "before.yml"), MODELS[name], path=f"{name}/before.yml")


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in MODELS])
def test_merge_fixture_matches_expected_bytes(name: str) -> None:
    """Merging into a hand-written file gives the expected file byte for byte (kept bytes and added ones)."""
    expected = FIXTURES / name / "after.yml"
    merged = _merged(name)
    if os.environ.get("CARTRIDGE_UPDATE_GOLDEN") == "1":  # regenerate after a deliberate change, then review
        expected.write_bytes(merged.encode("utf-8"))
    assert merged == _read(expected)


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in MODELS])
def test_merge_fixture_keeps_every_line(name: str) -> None:
    """Every line a person wrote is still there, in order: a merge only adds lines (or flow entries)."""
    before = _read(FIXTURES / name / "before.yml").splitlines()
    after = iter(_merged(name).splitlines())
    if name == "flow_collections":  # entries are added inside some lines; the rest must stay
        before = [line for line in before if "[" not in line and "{" not in line]
    missing = [line for line in before if not any(line == candidate for candidate in after)]
    assert missing == []


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in MODELS])
def test_merge_twice_is_idempotent(name: str) -> None:
    """Merging the same models into the merged file changes nothing."""
    merged = _merged(name)
    assert merge_models_yaml(merged, MODELS[name], path="merged.yml") == merged


def test_merge_nothing_to_add_returns_input_unchanged() -> None:
    """A file that already says everything comes back as the very same text."""
    before = _read(FIXTURES / "nothing_to_add" / "before.yml")
    assert _merged("nothing_to_add") == before


def test_merge_windows_line_endings_kept() -> None:
    """Added lines use the file's CRLF line endings: no bare LF appears."""
    merged = _merged("windows_line_endings")
    assert merged.count("\n") == merged.count("\r\n") > 10


def test_merge_no_trailing_newline_kept() -> None:
    """A file without a final line break still has none after lines are added at its end."""
    merged = _merged("no_trailing_newline")
    assert not merged.endswith("\n") and merged.endswith("      - name: status")


def test_merge_anchored_nodes_left_alone(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing is added inside an anchored node (its aliases would change too); the log says why."""
    with caplog.at_level(logging.INFO, logger="cartridge_core.project.yaml_edit"):
        merged = _merged("anchors")
    assert "refund_amount" not in merged
    assert "anchored (&return_columns)" in caplog.text and "anchored (&key_column)" in caplog.text


@pytest.mark.parametrize(
    ("existing", "kept"),
    [
        pytest.param("description: \"{{ doc('x') }}\"", "{{ doc('x') }}", id="doc-reference"),
        pytest.param('description: ""', "", id="empty-string"),
        pytest.param("description:", None, id="null"),
        pytest.param("description: A person's words.", "A person's words.", id="plain"),
    ],
)
def test_merge_existing_description_kept(existing: str, kept: str | None) -> None:
    """An existing description of any kind is kept exactly; Cartridge's is not added beside it."""
    text = f"version: 2\nmodels:\n  - name: m\n    {existing}\n"
    merged = merge_models_yaml(text, [ModelDoc(name="m", description="Generated.")])
    assert merged == text
    assert _load(merged)["models"][0]["description"] == kept


@pytest.mark.parametrize(
    "written",
    [
        pytest.param("- relationships: {to: ref('p'), field: id}", id="top-level-arguments"),
        pytest.param("- relationships: {arguments: {to: 'ref(\"p\")', field: ID}}", id="arguments"),
        pytest.param(
            "- {name: fk, test_name: relationships, arguments: {to: ref('p'), field: id}}", id="test-name"
        ),
    ],
)
def test_merge_test_present_in_any_shape_not_added(written: str) -> None:
    """A relationships test already there, in any of dbt's shapes, is recognised and not added again."""
    text = f"models:\n  - name: m\n    columns:\n      - name: p_id\n        tests:\n          {written}\n"
    test = SchemaTest(kind="relationships", to="ref('p')", field="id", severity="warn")
    assert merge_models_yaml(text, [ModelDoc(name="m", columns=(_col("p_id", None, test),))]) == text


def test_merge_other_relationship_added() -> None:
    """A relationships test to another parent is a different test: it is added after the person's."""
    text = (
        "models:\n  - name: m\n    columns:\n      - name: p_id\n        data_tests:\n"
        "          - relationships:\n              arguments: {to: ref('q'), field: id}\n"
    )
    merged = merge_models_yaml(text, [ModelDoc(name="m", columns=(_col("p_id", None, _related("p", "id")),))])
    tests = _load(merged)["models"][0]["columns"][0]["data_tests"]
    assert [t["relationships"]["arguments"]["to"] for t in tests] == ["ref('q')", "ref('p')"]


def test_merge_into_file_without_models_key() -> None:
    """A file with no `models:` key (say, only sources) gets one at its end, after a blank line."""
    text = "version: 2\nsources:\n  - name: raw  # the loader's schema\n"
    merged = merge_models_yaml(text, [ModelDoc(name="m", columns=(_col("id"),))])
    assert merged == text + "\nmodels:\n  - name: m\n    columns:\n      - name: id\n"


@pytest.mark.parametrize(
    "text",
    [pytest.param("", id="empty"), pytest.param("# models go here\n", id="only-comments")],
)
def test_merge_into_empty_file_writes_fresh_content(text: str) -> None:
    """An empty or comment-only file gets the fresh file's content after what it holds."""
    models = [ModelDoc(name="m", columns=(_col("id"),))]
    assert merge_models_yaml(text, models) == text + merge_models_yaml(None, models)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("models:\n  - name: [m\n", "Invalid YAML in bad.yml at line 3", id="unclosed-flow"),
        pytest.param(
            "models:\n  - name: m\n   bad: indent\n", "Invalid YAML in bad.yml at line 3", id="indent"
        ),
        pytest.param("- just\n- a list\n", "bad.yml is not a YAML mapping", id="not-a-mapping"),
        pytest.param("models: {m: 1}\n", "bad.yml: `models` is not a list", id="models-not-a-list"),
        pytest.param(
            "models: []\n---\nmodels: []\n", "bad.yml holds more than one YAML document", id="two-docs"
        ),
    ],
)
def test_merge_malformed_yaml_raises_naming_file(text: str, message: str) -> None:
    """Malformed YAML, or YAML that is not a models file, raises a CartridgeError naming the file."""
    with pytest.raises(CartridgeError) as caught:
        merge_models_yaml(text, [ModelDoc(name="m")], path="bad.yml")
    assert caught.value.message.startswith(message) and caught.value.file == "bad.yml"


# --- A fresh file is what staging writes today -------------------------------------------------


@pytest.mark.parametrize("source", ["raw", "sales_eu"])
def test_merge_fresh_file_matches_staging_golden(source: str) -> None:
    """With no existing file, the text equals staging's golden models YAML for the same content."""
    golden = GOLDEN / source / f"_{source}__models.yml"
    models = [_model_doc(entry) for entry in load_yaml_file(golden)["models"]]
    assert merge_models_yaml(None, models) == golden.read_text(encoding="utf-8")


def test_merge_fresh_file_test_shapes() -> None:
    """Tests with arguments, warn severity and evidence are written in dbt 1.10+'s `arguments` shape."""
    tests = (
        SchemaTest(kind="not_null", evidence="0 nulls in 12 rows"),
        _related("customers", "customer_id", warn=True, evidence="97 % found"),
        SchemaTest(kind="accepted_values", values=("1", "2"), quote_values=False),
    )
    data = _load(merge_models_yaml(None, [ModelDoc(name="m", columns=(_col("c", None, *tests),))]))
    assert data["models"][0]["columns"][0]["data_tests"] == [
        {"not_null": {"config": {"meta": {"evidence": "0 nulls in 12 rows"}}}},
        {
            "relationships": {
                "arguments": {"to": "ref('customers')", "field": "customer_id"},
                "config": {"severity": "warn", "meta": {"evidence": "97 % found"}},
            }
        },
        {"accepted_values": {"arguments": {"values": ["1", "2"], "quote": False}}},
    ]


def _model_doc(entry: dict) -> ModelDoc:
    columns = tuple(
        ColumnDoc(
            name=c["name"],
            description=c.get("description"),
            tests=tuple(SchemaTest(kind=kind) for kind in c.get("data_tests", ())),
            quote=c.get("quote", False),
        )
        for c in entry.get("columns", ())
    )
    return ModelDoc(name=entry["name"], description=entry.get("description"), columns=columns)


def _load(text: str) -> dict:
    import yaml  # PyYAML, as dbt reads these files

    return yaml.safe_load(text)


# --- Real dbt reads every merged file --------------------------------------------------------


def test_merge_fixtures_parse_with_dbt(duckdb_project: Path) -> None:
    """dbt parses every merged fixture without errors or deprecation warnings, and sees the added tests."""
    models = duckdb_project / "models"
    for name in MODELS:
        folder = models / name
        folder.mkdir()
        (folder / "_models.yml").write_bytes(_read(FIXTURES / name / "after.yml").encode("utf-8"))
        for model in _load(_read(FIXTURES / name / "after.yml"))["models"]:
            (folder / f"{model['name']}.sql").write_text("select 1 as id\n")
    docs = ["dr_orders", "dr_order_id", "nta_orders"]
    (models / "docs.md").write_text("".join(f"{{% docs {d} %}}\nAbout {d}.\n{{% enddocs %}}\n" for d in docs))
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "parse", "--show-all-deprecations"]
        + ["--project-dir", str(duckdb_project), "--profiles-dir", str(duckdb_project)],
        cwd=duckdb_project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "deprecat" not in output.lower() and "warning" not in output.lower(), output[-4000:]
    manifest = json.loads((duckdb_project / "target" / "manifest.json").read_text())
    tests = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "test"}
    added = tests["relationships_cm_orders_customer_id__customer_id__ref_cm_customers_"]
    assert added["config"]["severity"].lower() == "warn"
    warned = tests["relationships_fsi_orders_customer_id__customer_id__ref_fsi_customers_"]
    assert warned["config"]["meta"] == {"evidence": "98 %"}
    assert (
        "not_null_cm_orders_order_id" in tests
        and "accepted_values_otk_orders_status__placed__shipped" in tests
    )
