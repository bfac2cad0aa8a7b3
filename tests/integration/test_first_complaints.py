"""初信初访 (issue 40, edition 10) on a real time-skipping server: each case records whether it
is its caller's first in the district and how many the caller filed in the 90 days before, and
the statistics count the first complaints' own 化解率."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from readmodel import stats
from readmodel.tables import CASES
from starter import act, file_complaint, state
from tests.support.cases import actor, complaint, eventually, new_id, unique_phone

CATEGORIES = ["property", "housing", "environment", "traffic", "urban_management"]
LUOHU = {"district": "罗湖区", "street": "东门街道", "community": "东门社区"}


async def _file(client, read_model, phone: str, category: str, **overrides) -> str:
    """Filed, and written to the read model before the next one counts it."""
    case_id = new_id()
    body = complaint(complainant={"name": "陈女士", "phone": phone}, category=category, **overrides)
    await file_complaint(client, case_id, {"complaint": body}, task_queue=client.task_queue)
    await eventually(client, case_id, lambda s: read_model.case(case_id) is not None)
    return case_id


async def test_a_callers_first_and_fifth_complaints_are_marked_within_their_district(client, read_model):
    phone = unique_phone()
    filed = [await _file(client, read_model, phone, category) for category in CATEGORIES]
    first, fifth = await state(client, filed[0]), await state(client, filed[4])
    assert first.caller is not None and first.caller.first and first.caller.nth == 1
    assert fifth.caller is not None and not fifth.caller.first and fifth.caller.nth == 5
    row = read_model.case(filed[4])
    assert row is not None and row.caller_first is False and row.caller_previous == 4
    assert read_model.case(filed[0]).caller_first is True  # type: ignore[union-attr]
    # The same phone in another district: a first complaint there.
    elsewhere = await state(client, await _file(client, read_model, phone, "property", location=LUOHU))
    assert elsewhere.caller is not None and elsewhere.caller.first
    # Nobody complained (a grid worker's find): nothing to count.
    patrol = new_id()
    find = complaint(channel="grid_patrol", complainant=None, location={**LUOHU, "grid": f"网格{patrol[-6:]}"})
    await file_complaint(client, patrol, {"complaint": find}, task_queue=client.task_queue)
    assert (await state(client, patrol)).caller is None


async def test_a_complaint_after_ninety_days_counts_only_what_lies_within_them(client, read_model):
    phone = unique_phone()
    old = (datetime.now(timezone.utc) - timedelta(days=120)).isoformat()
    await _file(client, read_model, phone, "property", received_at=old)
    s = await state(client, await _file(client, read_model, phone, "housing"))
    assert s.caller is not None and not s.caller.first and s.caller.previous == 0


async def test_stats_give_the_first_complaints_own_resolution_rate(client, read_model):
    phone = unique_phone()
    case_id = await _file(client, read_model, phone, "education")
    handler = actor("handler", "光明区教育局")
    await act(client, case_id, "dispatch", {"actor": actor("dispatcher"), "department": "光明区教育局"})
    await act(client, case_id, "record_contact", {"actor": handler, "note": "n"})
    done = await act(client, case_id, "resolve", {"actor": handler, "resolution": "r"})
    await eventually(client, case_id, lambda s: read_model.case(case_id).version == done.version)  # type: ignore[union-attr]
    # The test server's clock runs ahead of the wall's once a test skipped time: the case's own.
    since, until = done.received_at - timedelta(hours=1), done.received_at + timedelta(hours=1)
    first = stats.compute(read_model, since=since, until=until)[-1].as_json()["first_complaints"]
    # Counted again by hand, over every row of the period (the session's other tests' cases too).
    with read_model.engine.connect() as conn:
        rows = conn.execute(select(CASES).where(CASES.c.received_at >= since, CASES.c.received_at < until)).all()
    firsts = [r for r in rows if r.caller_first and r.merged_into is None]
    resolved = [r for r in firsts if r.status in ("resolved", "closed")]
    assert case_id in {r.case_id for r in resolved}
    assert (first["accepted"], first["resolved"], first["resolved_never_reopened"]) == (
        len(firsts),
        len(resolved),
        len([r for r in resolved if r.reopen_count == 0]),
    )


async def test_stats_count_the_cases_resolved_at_the_level_they_started(client, read_model):
    """小事不出社区、大事不出街道 (seed 002): of the resolved cases that started at a community's
    work station, the share resolved there, not passed up to the street or the district."""
    from starter import jurisdictions

    station, office = "塘家社区工作站", "光明区凤凰街道办事处"
    kept, passed = (
        await _file(client, read_model, unique_phone(), "property"),
        await _file(client, read_model, unique_phone(), "housing"),
    )
    for case_id in (kept, passed):
        await act(client, case_id, "dispatch", {"actor": actor("dispatcher"), "department": station})
        await act(client, case_id, "record_contact", {"actor": actor("handler", station), "note": "n"})
    await act(
        client,
        passed,
        "transfer",
        {"actor": actor("handler", station), "to_department": office, "explanation": "需街道协调"},
    )
    await act(client, passed, "record_contact", {"actor": actor("handler", office), "note": "n"})
    await act(client, kept, "resolve", {"actor": actor("handler", station), "resolution": "r"})
    done = await act(client, passed, "resolve", {"actor": actor("handler", office), "resolution": "r"})
    await eventually(client, passed, lambda s: read_model.case(passed).version == done.version)  # type: ignore[union-attr]
    since, until = done.received_at - timedelta(hours=1), done.received_at + timedelta(hours=1)
    total = stats.compute(read_model, since=since, until=until, city=jurisdictions.tree())[-1].as_json()
    community = total["kept_at_level"]["community"]
    with (
        read_model.engine.connect() as conn
    ):  # counted again by hand: the period's resolved cases that started at a station
        rows = conn.execute(select(CASES).where(CASES.c.received_at >= since, CASES.c.received_at < until)).all()
    started = [
        r
        for r in rows
        if r.first_department == station and r.status in ("resolved", "closed") and r.merged_into is None
    ]
    assert {kept, passed} <= {r.case_id for r in started}
    assert (community["resolved"], community["kept"]) == (
        len(started),
        len([r for r in started if r.department == station]),
    )
