"""Supervisors' and auditors' commands against real cases on the real dev server, run as a user runs them."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import pytest

from models import CaseInput, CaseState
from readmodel import ReadModel
from readmodel.stats import percent
from runtime import devserver
from sla import WorkingCalendar
from starter import act, data_converter, file_complaint, state
from tests.support.cases import TEST_PHONE_KEY, RecordingSender, actor, complaint, eventually, milestone
from tests.support.histories import tamper
from tests.support.processes import cli
from worker import create_worker
from workflows.search_attributes import KEYS

RUN = uuid.uuid4().hex[:6]
DEPT = f"城管局{RUN}"
H = actor("handler", DEPT)
S = actor("supervisor", "区信访局")


class Cases:
    def __init__(self, client, env_vars: dict[str, str], read_model: ReadModel) -> None:
        self.client, self.env, self.read_model = client, env_vars, read_model
        self.ids: dict[str, str] = {}

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return cli(self.env, *args)

    def json(self, *args: str):
        done = self.cli(*args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture(scope="module")
async def cases(tmp_path_factory) -> AsyncIterator[Cases]:
    folder = tmp_path_factory.mktemp("supervisors")
    env = await devserver.start_dev_server(data_converter(), search_attributes=KEYS, db_file=folder / "temporal.db")
    read_model = ReadModel(f"sqlite:///{folder / 'complaints.db'}", TEST_PHONE_KEY)
    variables = {k: v for k, v in os.environ.items()}
    variables.update(
        TEMPORAL_ADDRESS=env.client.service_client.config.target_host,
        COMPLAINTS_DB_URL=read_model.url,
        COMPLAINTS_PHONE_KEY=TEST_PHONE_KEY.decode(),
        COMPLAINTS_DATA_DIR=str(folder),
        COMPLAINTS_TASK_QUEUE="complaints",
    )
    try:
        async with create_worker(
            env.client,
            task_queue="complaints",
            sender=RecordingSender(),
            calendar=WorkingCalendar(),
            read_model=read_model,
        ):
            c = Cases(env.client, variables, read_model)
            await _file_the_cases(c)
            yield c
    finally:
        await env.shutdown()


async def _file_the_cases(c: Cases) -> None:
    """A dispatched, B an hour old and never dispatched, C escalated, D closed, E long (continued as new)."""
    ids = c.ids = {k: f"{k}-{RUN}" for k in "ABCDE"}
    hour_ago = (datetime.now(timezone.utc) - timedelta(minutes=61)).isoformat()
    await file_complaint(c.client, ids["A"], {"complaint": complaint()})
    await act(c.client, ids["A"], "dispatch", {"actor": actor("dispatcher"), "department": DEPT})
    street_b = {"district": "光明区", "street": f"马田街道{RUN}", "community": "合水口社区"}
    await file_complaint(c.client, ids["B"], {"complaint": complaint(received_at=hour_ago, location=street_b)})
    await file_complaint(c.client, ids["C"], {"complaint": complaint(category="labour")})
    await act(c.client, ids["C"], "escalate", {"actor": actor("supervisor"), "reason": "群体性诉求"})
    await file_complaint(c.client, ids["D"], {"complaint": complaint(category="education")})
    for update, payload in [
        ("dispatch", {"actor": actor("dispatcher"), "department": DEPT}),
        ("record_contact", {"actor": H, "note": "n"}),
        ("resolve", {"actor": H, "resolution": "r"}),
        ("record_follow_up", {"actor": S, "satisfaction": "satisfied"}),
    ]:
        await act(c.client, ids["D"], update, payload)
    await c.client.get_workflow_handle(ids["D"]).result()
    long_case = CaseInput.model_validate({"complaint": complaint(category="housing"), "max_history_events": 200})
    await file_complaint(c.client, ids["E"], long_case)
    await act(c.client, ids["E"], "dispatch", {"actor": actor("dispatcher"), "department": DEPT})
    for i in range(45):
        await act(c.client, ids["E"], "report_progress", {"actor": H, "note": f"{i}"})
    await eventually(c.client, ids["E"], lambda s: s.runs >= 2)
    await act(c.client, ids["E"], "record_contact", {"actor": H, "note": "n", "reached": False})
    await act(c.client, ids["E"], "resolve", {"actor": H, "resolution": "r"})
    await act(c.client, ids["E"], "record_follow_up", {"actor": S, "satisfaction": "dissatisfied"})
    await act(c.client, ids["E"], "resolve", {"actor": H, "resolution": "r2"})
    await act(c.client, ids["E"], "record_follow_up", {"actor": S, "satisfaction": "unreachable"})
    final = await c.client.get_workflow_handle(ids["E"], result_type=CaseState).result()
    assert final.runs >= 2
    await eventually(c.client, ids["B"], lambda s: "dispatch" in s.breaches)
    for case_id in ids.values():  # the read model has caught up with every case
        await eventually(
            c.client, case_id, lambda s, i=case_id: getattr(c.read_model.case(i), "version", None) == s.version
        )


async def listed(c: Cases, *args: str, expect: set[str], absent: frozenset[str] | set[str] = frozenset()) -> None:
    """Visibility is eventually consistent: poll until the list shows what it must."""
    got: set[str] = set()
    for _ in range(60):
        got = {row["case_id"] for row in await asyncio.to_thread(c.json, "list", *args)}
        if expect <= got and not (absent & got):
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"list {args}: got {sorted(got)}, expected {sorted(expect)} without {sorted(absent)}")


async def test_list_filters(cases):
    a, b, c, d = (cases.ids[k] for k in "ABCD")
    await listed(cases, expect={a, b, c}, absent={d})
    await listed(cases, "--department", DEPT, expect={a}, absent={b, c, d})
    await listed(cases, "--street", f"马田街道{RUN}", expect={b}, absent={a, c})
    await listed(cases, "--overdue", expect={b}, absent={a, c})
    await listed(cases, "--escalated", expect={c}, absent={a, b})
    await listed(cases, "--due-within", "1", expect={a, c}, absent={b})  # contact in 10 minutes; leader today
    await listed(cases, "--status", "closed", expect={d}, absent={a})
    table = cases.cli("list", "--department", DEPT)
    assert table.returncode == 0 and a in table.stdout and "next deadline" in table.stdout


def test_rates_as_the_source_documents_compute_them():
    assert percent(36540, 37144) == "98.37%"  # Luohu's resolution rate
    assert percent(2, 3) == "66.67%" and percent(0, 0) == "-"


async def test_stats(cases):
    since = (datetime.now(timezone.utc) - timedelta(hours=3)).isoformat()
    rows = await asyncio.to_thread(cases.json, "stats", "--since", since, "--by", "department")
    ours = next(r for r in rows if r["group"] == DEPT)
    # A (dispatched), D (closed, satisfied), E (closed after a dissatisfied visit, then unreachable)
    assert ours["accepted"] == 3 and ours["resolved"] == 2 and ours["closed"] == 2
    assert ours["resolution_rate"] == "66.67%" and ours["completion_rate"] == "66.67%"
    assert ours["visited"] == 2 and ours["satisfied"] == 1 and ours["satisfaction_rate"] == "50.00%"
    assert ours["on_time"]["dispatch"] == {"met": 3, "late": 0, "rate": "100.00%"}
    assert ours["median_hours_to_resolve"] is not None and ours["open"] == 1 and ours["overdue"] == 0
    total = rows[-1]
    assert total["group"] == "total" and total["accepted"] >= 5 and total["escalations"] >= 1
    assert total["overdue"] >= 1 and total["on_time"]["dispatch"]["late"] >= 1
    table = cases.cli("stats", "--since", since)
    assert table.returncode == 0 and "化解率" in table.stdout and "total" in table.stdout
    csv_out = cases.cli("stats", "--since", since, "--by", "category", "--csv")
    parsed = list(csv.DictReader(io.StringIO(csv_out.stdout)))
    assert {r["group"] for r in parsed} >= {"education", "labour", "total"}
    assert next(r for r in parsed if r["group"] == "education")["completion_rate"] == "100.00%"


async def test_hotspots_and_a_patrol_case_for_the_cluster(cases):
    community = f"东周社区{RUN}"
    place = {"district": "光明区", "street": "光明街道", "community": community}
    filed = []
    for n in range(3):  # three people, the same kind of problem, the same community
        case_id = f"noise-{RUN}-{n}"
        await file_complaint(cases.client, case_id, {"complaint": complaint(category="environment", location=place)})
        filed.append(case_id)
    for case_id in filed:
        await eventually(cases.client, case_id, lambda s, i=case_id: cases.read_model.case(i) is not None)
    spots = [h for h in await asyncio.to_thread(cases.json, "hotspots", "--min", "3") if h["community"] == community]
    assert len(spots) == 1 and spots[0]["people"] == 3 and sorted(spots[0]["case_ids"]) == filed
    assert not [h for h in await asyncio.to_thread(cases.json, "hotspots", "--min", "4") if h["community"] == community]
    opened = await asyncio.to_thread(cases.cli, "hotspots", "--min", "3", "--open-cases")
    patrol_id = spots[0]["patrol_case_id"]
    assert opened.returncode == 0 and f"opened: grid-patrol case {patrol_id}" in opened.stdout, opened.stderr
    again = await asyncio.to_thread(cases.cli, "hotspots", "--min", "3", "--open-cases")
    assert f"already open: grid-patrol case {patrol_id}" in again.stdout
    s = await eventually(cases.client, patrol_id, lambda s: milestone(s, "dispatch"))
    assert s.category.value == "environment" and s.repeat_of is None and s.status.value == "received"


async def test_timeline_from_temporal_history(cases):
    b = cases.ids["B"]
    await act(cases.client, b, "dispatch", {"actor": actor("dispatcher", id="d-late"), "department": DEPT})
    out = await asyncio.to_thread(cases.cli, "timeline", b)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "BREACH" in text and "dispatch was due" in text and "[dispatch due" in text and ": LATE]" in text
    assert "dispatcher d-late" in text and "(1 run in Temporal's history)" in text
    assert "BREACHED" not in text.split("milestone")[-1].split("\n")[2]  # acknowledge: late, not open
    long_case = await asyncio.to_thread(cases.cli, "timeline", cases.ids["E"])
    assert "runs in Temporal's history" in long_case.stdout and "reopened" in long_case.stdout
    assert (await asyncio.to_thread(cases.cli, "timeline", "no-such-case")).returncode == 5


async def test_export_and_replay(cases, tmp_path):
    out = tmp_path / "histories"
    done = await asyncio.to_thread(cases.cli, "export", cases.ids["D"], cases.ids["E"], "--out", str(out))
    assert done.returncode == 0, done.stderr
    files = sorted(out.glob("*.json"))
    runs = len([f for f in files if f.name.startswith(cases.ids["E"])])
    assert runs >= 2 and len(files) == runs + 1
    replayed = await asyncio.to_thread(cases.cli, "replay", str(out))
    assert replayed.returncode == 0 and f"replayed {len(files)} histories" in replayed.stdout
    assert "all deterministic" in replayed.stdout
    by_id = await asyncio.to_thread(cases.cli, "replay", cases.ids["E"])
    assert by_id.returncode == 0 and "all deterministic" in by_id.stdout
    # An edited history (a different activity recorded) is caught.
    target = files[0]
    target.write_text(json.dumps(tamper(json.loads(target.read_text()))))
    tampered = await asyncio.to_thread(cases.cli, "replay", str(out))
    assert tampered.returncode == 6 and "NON-DETERMINISTIC" in tampered.stdout
    closed = tmp_path / "closed"
    since = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    everything = await asyncio.to_thread(cases.cli, "export", "--closed", "--since", since, "--out", str(closed))
    assert everything.returncode == 0 and any(f.name.startswith(cases.ids["D"]) for f in closed.glob("*.json"))


async def test_setup_cluster_is_idempotent(cases):
    done = await asyncio.to_thread(cases.cli, "setup-cluster")
    assert done.returncode == 0 and "already registered" in done.stdout  # the embedded server registered them


async def test_the_complainants_link_for_those_entitled_to_it(cases, monkeypatch):
    """`starter link CASE --as ID` (issue 37): printed for a supervisor or dispatcher who sees the
    case, the same link the SMS carried; refused for a handler, unknown outside the scope; each
    showing logged with the identity, never the link. (In a thread: the case's worker runs in this
    loop and answers the command's queries.)"""
    import re

    from readmodel import links_of
    from runtime import settings

    for identity, role, extra in (
        (f"hot-{RUN}", "dispatcher", ["--department", "区群众诉求服务中心"]),
        (f"h-{RUN}", "handler", ["--department", DEPT]),
        (f"lh-{RUN}", "supervisor", ["--scope", "440303"]),  # 罗湖区: the cases here are in 光明区
    ):
        made = cases.cli("identity", "add", identity, "--role", role, *extra)
        assert made.returncode == 0, made.stderr
    shown = await asyncio.to_thread(cases.cli, "link", cases.ids["A"], "--as", f"hot-{RUN}")
    assert shown.returncode == 0, shown.stderr
    url = shown.stdout.strip()
    token = re.fullmatch(r".*/s/([A-Za-z0-9_-]+)", url)
    assert token, url
    monkeypatch.setenv("COMPLAINTS_DATA_DIR", cases.env["COMPLAINTS_DATA_DIR"])  # the CLI's link keys
    links = links_of(settings.load())
    assert cases.read_model.open_link(token.group(1), links, "complainant") == cases.ids["A"]
    assert token.group(1) not in shown.stderr and "complainant link shown" in shown.stderr
    assert f"hot-{RUN}" in shown.stderr
    refused = await asyncio.to_thread(cases.cli, "link", cases.ids["A"], "--as", f"h-{RUN}")
    assert refused.returncode == 3 and "supervisor or dispatcher" in refused.stderr
    unseen = await asyncio.to_thread(cases.cli, "link", cases.ids["A"], "--as", f"lh-{RUN}")
    unknown = await asyncio.to_thread(cases.cli, "link", "no-such-case", "--as", f"lh-{RUN}")
    assert unseen.returncode == unknown.returncode == 5
    assert unseen.stderr.replace(cases.ids["A"], "X") == unknown.stderr.replace("no-such-case", "X")


async def test_hotspots_similar_hands_each_alert_to_a_unit_as_one_source_task(cases):
    """`hotspots --similar --open-cases --to UNIT --as SUPERVISOR`: five people in two communities
    saying the same thing become one task, dispatched to the unit; each case is told; again: nothing new."""
    place = {"district": "光明区", "street": "凤凰街道"}
    filed = []
    for n, text in enumerate(["楼道电梯困人", "电梯困人没人管", "电梯又困人", "电梯困人很久", "电梯困人太吓人"]):
        case_id = f"lift-{RUN}-{n}"
        where = place | {"community": ("塘家社区", "凤凰社区")[n % 2]}
        body = complaint(title=f"{text}{RUN}", description=f"{text}，{RUN}", location=where)
        await file_complaint(cases.client, case_id, {"complaint": body})
        filed.append(case_id)
    for case_id in filed:
        await eventually(cases.client, case_id, lambda s, i=case_id: cases.read_model.case(i) is not None)
    added = await asyncio.to_thread(
        cases.cli, "identity", "add", f"fh-{RUN}", "--role", "supervisor", "--scope", "440311004"
    )
    assert added.returncode == 0, added.stderr
    hand = ("hotspots", "--similar", "--open-cases", "--to", "区住建局", "--as", f"fh-{RUN}")
    done = await asyncio.to_thread(cases.cli, *hand)
    assert done.returncode == 0, done.stderr
    task = re.search(r"handed: 源头治理 task (source-\w+) to 光明区住房和建设局, (\d+) cases told", done.stdout)
    assert task and int(task[2]) >= 5, done.stdout
    s = await state(cases.client, task[1])
    assert set(filed) <= set(s.members) and s.department == "光明区住房和建设局"
    again = await asyncio.to_thread(cases.cli, *hand)
    assert f"already handed: 源头治理 task {task[1]}" in again.stdout, again.stdout
    missing = await asyncio.to_thread(cases.cli, "hotspots", "--similar", "--open-cases")
    assert missing.returncode == 2 and "--to UNIT" in missing.stderr
