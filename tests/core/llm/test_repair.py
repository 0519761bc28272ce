"""The repair loop with a plain check function: pass, repair, fall back, fail; and what it tells the LLM."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from cartridge_core.errors import Cancelled
from cartridge_core.llm.errors import ProviderError
from cartridge_core.llm.repair import Draft, repair_loop, repair_message
from cartridge_core.models import ModelCheck
from cartridge_core.progress import NullProgress
from cartridge_core.project.changes import Plan

BAD = "select\n    order_id,\n    shipping_method\nfrom {{ ref('stg_raw__orders') }}\n"
GOOD = "select\n    order_id\nfrom {{ ref('stg_raw__orders') }}\n"
PATH = "models/marts/fct_orders.sql"
FALLBACK = {"models/marts/fct_orders_rules.sql": "select 1 as order_id\n"}


def draft(sql: str) -> Draft:
    return Draft(
        model="fct_orders",
        path=PATH,
        files={PATH: sql, "models/marts/_fct_orders__models.yml": "version: 2\n"},
    )


class Checker:
    """Fails any model mentioning shipping_method on that line, as dbt would; records each plan."""

    def __init__(self) -> None:
        self.plans: list[Plan] = []

    def __call__(self, plan: Plan) -> Sequence[ModelCheck]:
        self.plans.append(plan)
        checks = []
        for change in plan.changes:
            if not change.path.endswith(".sql"):
                continue
            lines = change.content.splitlines()
            bad = next((i for i, line in enumerate(lines, 1) if "shipping_method" in line), None)
            name = Path(change.path).stem
            if bad is None:
                checks.append(ModelCheck(model=name, path=change.path, status="pass"))
            else:
                message = 'Binder Error: Referenced column "shipping_method" not found'
                checks.append(
                    ModelCheck(model=name, path=change.path, status="error", message=message, line=bad)
                )
        return checks


def test_repair_loop_passes_first_time(tmp_path: Path) -> None:
    """A model that passes is the LLM's, with the context files it needs among the files to write."""
    check = Checker()
    context = {"models/staging/raw/stg_raw__orders.sql": "select 1 as order_id\n"}
    result = repair_loop(
        draft(GOOD), root=tmp_path, check=check, repair=pytest.fail, max_repairs=2, context=context
    )
    assert (result.source, result.repairs, result.check and result.check.status) == ("llm", 0, "pass")
    assert set(result.files) == {PATH, "models/marts/_fct_orders__models.yml", *context}
    assert {c.path for c in check.plans[0].changes} == set(result.files)


def test_repair_loop_repairs_with_the_failing_line(tmp_path: Path) -> None:
    """A failing model goes back with dbt's message and its line; the repaired one is used."""
    told: list[str] = []

    def repair(failed: Draft, verdict: ModelCheck) -> Draft:
        told.append(repair_message(failed, verdict))
        return draft(GOOD)

    result = repair_loop(draft(BAD), root=tmp_path, check=Checker(), repair=repair, max_repairs=2)
    assert (result.source, result.repairs, result.sql) == ("llm-repaired", 1, GOOD)
    assert told == [
        f"dbt checked the model against the warehouse and it failed ({PATH}, line 3: `shipping_method`): "
        'Binder Error: Referenced column "shipping_method" not found. Fix the SQL and answer again with the '
        "complete JSON; keep the name fct_orders."
    ]
    assert result.messages == ("fct_orders passed the dbt check after 1 repair",)


def test_repair_loop_falls_back_after_max_repairs(tmp_path: Path) -> None:
    """A model that never passes is replaced by the deterministic output, and the result says so."""
    calls = []

    def repair(failed: Draft, verdict: ModelCheck) -> Draft:
        calls.append(verdict.line)
        return draft(BAD)

    result = repair_loop(
        draft(BAD), root=tmp_path, check=Checker(), repair=repair, max_repairs=2, fallback=FALLBACK
    )
    assert (result.source, result.files, result.repairs, calls) == ("fallback", FALLBACK, 2, [3, 3])
    assert result.messages[-1] == (
        "fct_orders still fails the dbt check after 2 repairs at line 3: Binder Error: Referenced column "
        '"shipping_method" not found; using the deterministic output instead.'
    )


def test_repair_loop_without_fallback_writes_nothing(tmp_path: Path) -> None:
    """With no deterministic output, a model that never passes leaves nothing to write, and keeps its SQL."""
    result = repair_loop(draft(BAD), root=tmp_path, check=Checker(), repair=pytest.fail, max_repairs=0)
    assert (result.source, result.files, result.sql) == ("failed", {}, BAD)
    assert result.messages[-1].endswith("nothing will be written.")


def test_repair_loop_provider_failure_while_repairing_falls_back(tmp_path: Path) -> None:
    """If the LLM fails during a repair, the loop ends as a failed repair would, and says why."""

    def repair(failed: Draft, verdict: ModelCheck) -> Draft:
        raise ProviderError("OpenAI refused more requests", kind="quota")

    result = repair_loop(
        draft(BAD), root=tmp_path, check=Checker(), repair=repair, max_repairs=2, fallback=FALLBACK
    )
    assert result.source == "fallback"
    assert result.messages[0] == "The repair request failed: OpenAI refused more requests"


def test_repair_loop_stops_when_cancelled(tmp_path: Path) -> None:
    """A cancelled run stops before checking anything."""

    class Stopped(NullProgress):
        def cancelled(self) -> bool:
            return True

    check = Checker()
    with pytest.raises(Cancelled):
        repair_loop(
            draft(GOOD), root=tmp_path, check=check, repair=pytest.fail, max_repairs=2, progress=Stopped()
        )
    assert check.plans == []
