"""The suggested unit (智能派单, issue 40 part 4, edition 11) on a real time-skipping server: the
nightly workflow trains each district's model from its own closed cases; a filing is answered
with the top three units; below the certainty threshold, or without a model, the routing table
decides; a dispatch records whether it took the suggestion; and the figures are reported by
`suggest evaluate`. The closed cases are made for the tests (tests/support/units.py)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from readmodel import ReadModel, stats
from readmodel.tables import CASES
from readmodel.unit_model import load
from starter import act, file_complaint, state
from tests.support.cases import TEST_PHONE_KEY, actor, complaint, eventually, new_id
from tests.support.units import DISTRICT, labelled, seed_closed
from workflows.unit_models import TrainUnitModels

WATER, CITY = "光明区水务局", "光明区城市管理和综合执法局"
BURST = {"category": "urban_management", "title": "供水管道爆裂", "description": "小区供水管道爆裂，水流满街"}


@pytest.fixture
def learned(tmp_path, monkeypatch) -> ReadModel:
    """A database whose 光明区 closed 2,000 cases of eight units, where the edge looks for models."""
    models = ReadModel(f"sqlite:///{tmp_path / 'models.db'}", TEST_PHONE_KEY)
    seed_closed(models.engine, labelled(2000))
    monkeypatch.setenv("COMPLAINTS_DB_URL", models.url)
    monkeypatch.setenv("COMPLAINTS_DATA_DIR", str(tmp_path))
    return models


async def _train(client, models: ReadModel, monkeypatch) -> list:
    from worker import create_audit_worker

    queue = f"audit-{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv("COMPLAINTS_AUDIT_TASK_QUEUE", queue)
    async with create_audit_worker(client, read_model=models):
        return await client.execute_workflow(TrainUnitModels.run, id=f"train-{queue}", task_queue=queue)


async def test_the_nightly_training_keeps_a_model_per_district_or_says_why_not(client, learned, monkeypatch):
    trained = {t.district: t for t in await _train(client, learned, monkeypatch)}
    assert set(trained) == {"440311", "440303", "341602"}  # every district of the tree
    assert trained[DISTRICT].cases == 2000 and trained[DISTRICT].accuracy and trained[DISTRICT].accuracy > 0.85
    assert trained["440303"].reason and "至少需要" in trained["440303"].reason  # 罗湖区 closed none here
    kept = load(learned.engine, DISTRICT)
    assert (
        kept is not None and kept.pipeline is not None and kept.figures["routing_accuracy"] < kept.figures["accuracy"]
    )


async def test_a_filing_is_answered_with_three_units_and_a_dispatch_records_it_took_the_first(
    client, read_model, learned, monkeypatch
):
    await _train(client, learned, monkeypatch)
    case_id = new_id()
    await file_complaint(client, case_id, {"complaint": complaint(**BURST)}, task_queue=client.task_queue)
    s = await state(client, case_id)
    assert s.suggestion is not None and s.suggestion.by == "model" and s.suggestion.unit == WATER
    assert [u.unit for u in s.suggestion.likely][0] == WATER and len(s.suggestion.likely) == 3
    assert s.status == "received" and s.department is None  # a suggestion never dispatches by itself
    dispatched = await act(client, case_id, "dispatch", {"actor": actor("dispatcher"), "department": WATER})
    [event] = [e for e in dispatched.timeline if e.kind == "dispatched"]
    assert event.detail["took_suggestion"] is True and event.detail["suggested"] == {"unit": WATER, "by": "model"}
    await eventually(client, case_id, lambda _: getattr(read_model.case(case_id), "suggestion_taken", None))
    row = read_model.case(case_id)
    assert row is not None and (row.suggested_unit, row.suggested_by, row.suggestion_taken) == (WATER, "model", True)
    # Taken, then passed on: counted as a suggestion taken and transferred later.
    water = actor("handler", WATER)
    moved = await act(client, case_id, "transfer", {"actor": water, "to_department": CITY, "explanation": "井盖归城管"})
    await eventually(client, case_id, lambda _: read_model.case(case_id).version == moved.version)  # type: ignore[union-attr]
    since, until = moved.received_at - timedelta(hours=1), moved.received_at + timedelta(hours=1)
    counted = stats.compute(read_model, since=since, until=until)[-1].as_json()["suggestions"]
    with read_model.engine.connect() as conn:  # counted again by hand (the session's other cases too)
        rows = conn.execute(select(CASES).where(CASES.c.received_at >= since, CASES.c.received_at < until)).all()
    offered = [r for r in rows if r.suggestion_taken is not None and r.merged_into is None]
    took = [r for r in offered if r.suggestion_taken]
    assert case_id in {r.case_id for r in took if r.department != r.first_department}
    assert (counted["dispatched_with_one"], counted["taken"], counted["taken_then_transferred"]) == (
        len(offered),
        len(took),
        len([r for r in took if r.department != r.first_department]),
    )


async def test_an_unsure_model_or_none_leaves_the_routing_table_in_charge(client, learned, monkeypatch):
    await _train(client, learned, monkeypatch)
    monkeypatch.setenv("COMPLAINTS_SUGGEST_CERTAINTY", "0.999")
    unsure = new_id()
    await file_complaint(client, unsure, {"complaint": complaint(**BURST)}, task_queue=client.task_queue)
    s = (await state(client, unsure)).suggestion
    assert s is not None and (s.by, s.unit) == ("routing", CITY) and s.why and "把握不足" in s.why
    assert s.likely and s.likely[0].unit == WATER  # still shown to the dispatcher
    luohu = new_id()  # 罗湖区 has no model: its own routing table, and why
    where = {"district": "罗湖区", "street": "桂园街道", "community": "老围社区"}
    await file_complaint(client, luohu, {"complaint": complaint(location=where, **BURST)}, task_queue=client.task_queue)
    s = (await state(client, luohu)).suggestion
    assert (
        s is not None and s.by == "routing" and s.unit == "罗湖区城市管理和综合执法局" and "至少需要" in (s.why or "")
    )


def test_suggest_evaluate_reports_accuracy_above_the_routing_table_and_the_most_confused(learned, capsys):
    from starter.cli import main

    assert main(["suggest", "evaluate", "--district", DISTRICT, "--json"]) == 0
    figures = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert figures["cases"] == 2000 and figures["units"] == 8 and figures["held_out"] == 200
    assert figures["accuracy"] > figures["routing_accuracy"] + 0.1
    assert {"macro_precision", "macro_recall", "confused"} <= set(figures)
    assert main(["suggest", "evaluate", "--district", "440303"]) == 1  # nothing to learn from: says so
    assert "the routing table decides" in capsys.readouterr().err
    assert main(["suggest", "train", "--district", DISTRICT]) == 0
    assert main(["suggest", "供水管道爆裂，水流满街", "--district", DISTRICT, "--category", "urban_management"]) == 0
    assert f"建议派单 suggested: {WATER}" in capsys.readouterr().out
    assert main(["suggest", "x", "--district", "999"]) == 2
