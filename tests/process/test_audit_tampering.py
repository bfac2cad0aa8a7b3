"""The audit finds what was changed behind the engine's back (issue 27): a history edited in
Temporal's own database (a note's text, a follow-up's answer, an event's time) and read-model rows
edited (an event, a case), each reported with its case and event; a report changed after signing
fails `audit verify`. A real dev server on a SQLite file, stopped and edited, then started again."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from temporalio.api.history.v1 import HistoryEvent

from models.audit import AuditReport, AuditRequest
from readmodel import Anchors, ReadModel, audit_keys_of
from runtime import devserver
from sla import WorkingCalendar
from starter import act, audits, data_converter, file_complaint
from tests.support.cases import TEST_PHONE_KEY, RecordingSender, actor, complaint
from tests.support.processes import CLOSE, cli, free_port
from tests.support.temporal_db import edit_events, rewrite_payload, update_input
from worker import create_audit_worker, create_worker
from workflows.search_attributes import KEYS

D = actor("dispatcher")
NOTE = "来电补充：井盖旁边还有一个坑"


async def _serve(db: Path, port: int, read_model: ReadModel, run):
    env = await devserver.start_dev_server(data_converter(), search_attributes=KEYS, db_file=db, port=port)
    try:
        c = env.client
        worker = create_worker(
            c, task_queue="complaints", sender=RecordingSender(), calendar=WorkingCalendar(), read_model=read_model
        )
        async with worker, create_audit_worker(c, read_model=read_model):
            return await run(c)
    finally:
        await env.shutdown()


async def _close(c, case_id: str, steps) -> None:
    await file_complaint(c, case_id, {"complaint": complaint()}, task_queue="complaints")
    for update, payload in steps:
        await act(c, case_id, update, payload)
    await c.get_workflow_handle(case_id).result()


@dataclass
class Site:
    """A dev server's database file and port, the read model, and when the test's cases began."""

    db: Path
    port: int
    read_model: ReadModel
    since: datetime

    async def serve(self, run):
        return await _serve(self.db, self.port, self.read_model, run)

    async def audit(self, **request) -> AuditReport:
        """Serve again and audit from `since` to a minute from now."""

        async def audit(c):
            until = datetime.now(timezone.utc) + timedelta(minutes=1)
            started = await audits.start(c, AuditRequest(since=self.since, until=until, **request))
            return await audits.wait(c, started)

        return await self.serve(audit)


@pytest.fixture
def audit_env(tmp_path, monkeypatch) -> Site:
    monkeypatch.setenv("COMPLAINTS_DATA_DIR", str(tmp_path / "data"))  # the audit key lives here
    read_model = ReadModel(f"sqlite:///{tmp_path / 'complaints.db'}", TEST_PHONE_KEY)
    since = datetime.now(timezone.utc) - timedelta(minutes=5)
    return Site(tmp_path / "temporal.db", free_port(), read_model, since)


async def test_every_change_is_reported_with_its_case_and_event(audit_env: Site):
    site, read_model = audit_env, audit_env.read_model
    tag = uuid.uuid4().hex[:6]
    ids = {k: f"audit-{k}-{tag}" for k in ("clean", "note", "answer", "time", "event_row", "case_row")}
    contact_by = f"handler-time-{tag}"
    follow_by = f"supervisor-answer-{tag}"

    async def file_all(c):
        for key, case_id in ids.items():
            steps = list(CLOSE)
            if key == "note":
                steps.insert(1, ("add_note", {"actor": D, "note": NOTE}))
            if key == "time":
                steps[1] = ("record_contact", {"actor": {**steps[1][1]["actor"], "id": contact_by}, "note": "n"})
            if key == "answer":
                steps[-1] = (
                    "record_follow_up",
                    {"actor": actor("supervisor", id=follow_by), "satisfaction": "satisfied"},
                )
            await _close(c, case_id, steps)
        # What the daily schedule does, as if a day had passed: anchor every head written so far.
        return Anchors(read_model.engine, audit_keys_of()).make(now=datetime.now(timezone.utc) + timedelta(minutes=2))

    anchor = await site.serve(file_all)
    assert anchor is not None and anchor.cases == len(ids)

    # Temporal's database, edited while the server is down.
    time_tree: list[bytes] = []

    def note(tree: bytes, e: HistoryEvent) -> bool:
        payload = update_input(e, "add_note")
        if payload is None:
            return False
        rewrite_payload(payload, lambda cmd: {**cmd, "note": "（无）"})
        return True

    def answer(tree: bytes, e: HistoryEvent) -> bool:
        payload = update_input(e, "record_follow_up")
        if payload is None:
            return False
        changed: list[bool] = []

        def to_basically(cmd: dict) -> dict:
            changed.append(cmd["actor"]["id"] == follow_by)
            return {**cmd, "satisfaction": "basically_satisfied"} if changed[-1] else cmd

        rewrite_payload(payload, to_basically)
        return changed[-1]

    def when(tree: bytes, e: HistoryEvent) -> bool:
        payload = update_input(e, "record_contact")
        if payload is not None and not time_tree:
            mine: list[bool] = []

            def look(cmd: dict) -> dict:
                mine.append(cmd["actor"]["id"] == contact_by)
                return cmd

            rewrite_payload(payload, look)
            if mine[-1]:
                time_tree.append(tree)
        if time_tree and tree == time_tree[0]:  # this event and every later one of that run: an hour later
            e.event_time.FromDatetime(e.event_time.ToDatetime() + timedelta(hours=1))
            return True
        return False

    for edit in (note, answer, when):  # in a thread: the codec's calls run their own event loop
        assert await asyncio.to_thread(edit_events, site.db, edit)

    # The read model, edited: an event's detail, a case's satisfaction.
    with read_model.engine.begin() as conn:
        conn.execute(
            text("UPDATE case_events SET detail = :d WHERE case_id = :c AND kind = 'contacted'"),
            dict(d=json.dumps({"note": "已联系"}), c=ids["event_row"]),
        )
        conn.execute(text("UPDATE cases SET satisfaction = 'satisfied' WHERE case_id = :c"), dict(c=ids["case_row"]))
        conn.execute(text("UPDATE cases SET satisfaction = 'dissatisfied' WHERE case_id = :c"), dict(c=ids["case_row"]))

    report = await site.audit(batch_size=2)
    # Where each event sits in its case's timeline: the read model's rows (their kinds unchanged).
    states = {k: [e.kind for e in read_model.events(v)] for k, v in ids.items()}
    found = {(f.case_id, f.what, f.event) for f in report.totals.findings}
    assert report.totals.cases == len(ids) and report.totals.deterministic == len(ids)
    assert report.totals.chain_verified == 1 and report.totals.with_findings == len(ids) - 1
    assert not any(f.case_id == ids["clean"] for f in report.totals.findings)
    assert (ids["note"], "history changed", states["note"].index("complainant_note")) in found
    assert (ids["answer"], "history changed", states["answer"].index("followed_up")) in found
    # The contact was timed by the workflow task before its update's acceptance: the first event
    # whose time the edit moved is the next one.
    assert (ids["time"], "history changed", states["time"].index("resolved")) in found
    for key in ("note", "answer", "time"):  # the read model and the anchor agree: the history is the odd one
        assert {f.what for f in report.totals.findings if f.case_id == ids[key]} == {"history changed"}, key
    assert (ids["event_row"], "read model changed", states["event_row"].index("contacted")) in found
    [row] = [f for f in report.totals.findings if f.case_id == ids["case_row"]]
    assert row.what == "read model changed" and "satisfaction" in row.detail
    assert report.signature and report.code_version

    # The report verifies with the public key alone, and not once it is changed.
    [public] = [f"{k}:{v}" for k, v in audit_keys_of().public_keys().items()]
    path = site.db.parent / "report.json"
    path.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "COMPLAINTS_DATA_DIR": str(site.db.parent / "elsewhere")}
    ok = cli(env, "audit", "verify", str(path), "--key", public)
    assert ok.returncode == 0 and "signature valid" in ok.stdout, ok.stderr
    forged = json.loads(path.read_text())
    forged["totals"]["findings"] = []
    path.write_text(json.dumps(forged), encoding="utf-8")
    bad = cli(env, "audit", "verify", str(path), "--key", public)
    assert bad.returncode == 7 and "NOT valid" in bad.stdout
    for wrong in ("no-colon", public.split(":")[0] + ":bm90IGEga2V5"):  # a key that is not one: named, exit 2
        refused = cli(env, "audit", "verify", str(path), "--key", wrong)
        assert refused.returncode == 2 and "--key" in refused.stderr, refused.stderr


async def test_running_cases_are_checked_up_to_their_history(audit_env: Site):
    """`--status all` takes in cases still open: each is replayed to the end of its history so far
    and its chain checked against the read model's rows (not left as "replay only")."""
    site, read_model = audit_env, audit_env.read_model
    tag = uuid.uuid4().hex[:6]
    clean, edited = f"audit-open-{tag}", f"audit-open-edited-{tag}"

    async def open_two(c):
        for case_id in (clean, edited):
            await file_complaint(c, case_id, {"complaint": complaint()}, task_queue="complaints")
            for update, payload in CLOSE[:2]:  # dispatched and contacted; resolving is still owed
                await act(c, case_id, update, payload)

    await site.serve(open_two)
    with read_model.engine.begin() as conn:
        conn.execute(
            text("UPDATE case_events SET detail = :d WHERE case_id = :c AND kind = 'contacted'"),
            dict(d=json.dumps({"note": "已联系"}), c=edited),
        )

    report = await site.audit(status="all")
    t = report.totals
    assert (t.cases, t.deterministic, t.replay_only) == (2, 2, 0), report.summary()
    assert t.chain_verified == 1 and t.with_findings == 1, report.summary()
    contacted = [e.kind for e in read_model.events(edited)].index("contacted")
    assert {(f.case_id, f.what, f.event) for f in t.findings} == {(edited, "read model changed", contacted)}


async def test_a_case_from_before_the_chain_is_reported_replay_only(audit_env: Site, monkeypatch):
    """A case started by code that did not yet keep the chain (editions 1 to 3) is replayed by
    today's code, which takes the older path where the history has no chain marker, and counted
    "replay only": neither verified nor a finding. Made here by a worker that knows no edition
    past 3, as a worker from before issue 27 did; the audit then runs with every edition."""
    from models.editions import PATCHES, Edition

    site, read_model = audit_env, audit_env.read_model
    tag = uuid.uuid4().hex[:6]
    old, new = f"audit-old-{tag}", f"audit-new-{tag}"

    with monkeypatch.context() as before_the_chain:
        for edition in [e for e in PATCHES if e >= Edition.chain]:
            before_the_chain.delitem(PATCHES, edition)
        await site.serve(lambda c: _close(c, old, CLOSE))
    assert max(PATCHES) > Edition.chain  # today's code again, for the second case and the audit
    await site.serve(lambda c: _close(c, new, CLOSE))

    report = await site.audit()
    t = report.totals
    assert (t.cases, t.deterministic, t.chain_verified, t.replay_only, t.with_findings) == (2, 2, 1, 1, 0), (
        report.summary()
    )
    assert "1 replay only" in report.summary()
    # The old case is the one without a chain: its read-model row carries no chain head.
    old_row, new_row = read_model.case(old), read_model.case(new)
    assert old_row is not None and new_row is not None
    assert old_row.chain_head is None and new_row.chain_head is not None
