"""The policy what-if simulator: its inputs refused naming the field, its properties (the same seed
the same report, a looser policy never lowers an on-time rate, unlimited staff are always on
time), its report, the command; and the cross-check: simulated cases run as real `ComplaintCase`
workflows on the time-skipping server reach the deadlines, breaches and escalations the simulator
says."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from models import CaseInput
from simulation import InputError, load
from simulation.clock import INF, Deadlines, WorkClock, midnight, moment
from simulation.evaluate import Rules, judge
from simulation.inputs import SAMPLE, Hours, parse_duration, rules
from simulation.model import simulate
from simulation.report import chart, summarise
from simulation.run import TOTAL, replication, run
from sla import BUSINESS_TZ, POLICIES, WorkingCalendar, deadline
from starter import act, state
from starter.cli.reports import simulation_table
from tests.conftest import actor, complaint, server_now
from tests.test_worker_process import ROOT

CAL = WorkingCalendar()


def small(days: int = 60, per_year: float = 6000, **changes) -> object:
    """The sample, shorter and smaller (a test's budget), with changes."""
    inputs = load()
    data = inputs.model_dump()
    data["period"]["days"] = days
    data["arrivals"]["per_year"] = per_year
    for key, value in changes.items():
        data[key] = value
    return type(inputs).model_validate(data)


# ---- inputs ------------------------------------------------------------------------------


def test_the_sample_is_a_year_of_luohu():
    inputs = load()
    assert inputs.arrivals.per_year == 37144 and inputs.period.days == 365
    assert inputs.compare == ["1030", "13710"]
    assert abs(sum(c.share for c in inputs.categories.values()) - 1) < 1e-9


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda d: d["arrivals"].update(by_hour=[1.0] * 23), "arrivals.by_hour"),
        (lambda d: d["turns"].update(transfer=1.5), "turns.transfer"),
        (lambda d: d["departments"]["区教育局"].update(staff=0), "departments.区教育局.staff"),
        (lambda d: d["departments"]["区教育局"].update(hours="9-12"), "departments.区教育局.hours"),
        (lambda d: d["categories"]["education"].update(departments={"区不存在局": 1}), "categories.education"),
        (lambda d: d.update(compare=["1030", "9999"]), "compare"),
        (lambda d: d["drafts"]["1030-resolve-30"].update(durations={"resolve": "30 weeks"}), "30 weeks"),
        (lambda d: d["steps"]["contact"].update(dist="lognormal", median=None), "steps.contact"),
    ],
)
def test_a_bad_file_is_refused_naming_the_field(tmp_path, edit, named):
    import tomli_w

    data = load().model_dump(mode="json")
    edit(data)
    path = tmp_path / "bad.toml"
    path.write_text(tomli_w.dumps(_tomlable(data)), encoding="utf-8")
    with pytest.raises(InputError) as err:
        load(path)
    assert named in str(err.value)


def _tomlable(value):
    if isinstance(value, dict):
        return {k: _tomlable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_tomlable(v) for v in value]
    return value


def test_durations_and_drafts():
    assert str(parse_duration("30 working_days")) == "30 working days"
    with pytest.raises(ValueError, match="30 weeks"):
        parse_duration("30 weeks")
    draft = rules("1030-resolve-30", load())
    resolve = next(r for r in draft if r.name == "resolve")
    assert str(resolve.duration) == "30 working days" and str(resolve.by_track["fast"]) == "24 hours"
    assert [r.name for r in draft] == [r.name for r in POLICIES["1030"]]


# ---- the clocks ------------------------------------------------------------------------------


def test_work_waits_for_office_hours_and_working_days():
    clock = WorkClock(Hours(hours="09:00-12:00,14:00-18:00"), CAL, datetime(2022, 9, 28).date(), 20)
    friday_evening = datetime(2022, 9, 30, 17, 30, tzinfo=BUSINESS_TZ).timestamp()  # National Day week follows
    # 30 minutes left on Friday, then the holiday to 7 October; Saturday 8 October is a working day.
    done = moment(clock.after(friday_evening, 3600))
    assert done == datetime(2022, 10, 8, 9, 30, tzinfo=BUSINESS_TZ)
    lunch = datetime(2022, 10, 10, 11, 50, tzinfo=BUSINESS_TZ).timestamp()
    assert moment(clock.after(lunch, 20 * 60)) == datetime(2022, 10, 10, 14, 10, tzinfo=BUSINESS_TZ)
    assert clock.worked(lunch, clock.after(lunch, 20 * 60)) == pytest.approx(20 * 60)
    around = WorkClock(Hours(hours="00:00-24:00", every_day=True), CAL, datetime(2022, 1, 1).date(), 3)
    assert around.after(midnight(datetime(2022, 1, 1).date()) + 100, 86400) == pytest.approx(
        midnight(datetime(2022, 1, 2).date()) + 100
    )
    assert clock.after(friday_evening, 10**9) == INF


def test_deadlines_are_the_engines_own():
    book = Deadlines(CAL)
    import random

    rng = random.Random(5)
    for _ in range(500):
        at = datetime(2022, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=rng.uniform(0, 365 * 86400))
        for rule in POLICIES["1030"] + POLICIES["13710"]:
            for track in ("routine", "fast", "major"):
                duration = rule.duration_for(track, "medical")
                assert book.of(duration, at.timestamp()) == deadline(at, duration, CAL).due_at.timestamp()


# ---- the model's properties ------------------------------------------------------------------


def test_the_same_seed_gives_the_same_report_and_another_seed_another():
    inputs = small()
    first = summarise(run(inputs, replications=2, seed=7, jobs=1), seed=7, source="t")
    again = summarise(run(inputs, replications=2, seed=7, jobs=2), seed=7, source="t")
    other = summarise(run(inputs, replications=2, seed=8, jobs=1), seed=8, source="t")
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)
    assert json.dumps(first, sort_keys=True) != json.dumps(other, sort_keys=True)


def test_a_looser_policy_never_lowers_an_on_time_rate():
    loose = {
        "1030-loose": {
            "base": "1030",
            "durations": {
                "dispatch": "3 hours",
                "contact": "2 hours",
                "verify": "1 days",
                "reply": "5 days",
                "opinion": "10 working_days",
                "resolve": "80 working_days",
                "follow_up": "10 working_days",
            },
        },
        "1030-strict": {"base": "1030", "durations": {"resolve": "10 working_days", "reply": "24 hours"}},
    }
    inputs = small(days=90, per_year=9000, compare=["1030-strict", "1030", "1030-loose"], drafts=loose)
    for seed in (1, 2, 3):
        result = replication(inputs, None, seed)
        order = ["1030-strict", "1030", "1030-loose"]
        for group in result["policies"]["1030"]["on_time"]:
            for milestone in result["policies"]["1030"]["on_time"][group]:
                rates = []
                for policy in order:
                    met, late = result["policies"][policy]["on_time"][group].get(milestone, [0, 0])
                    rates.append(met / (met + late) if met + late else None)
                known = [r for r in rates if r is not None]
                assert known == sorted(known), (seed, group, milestone, rates)
        late = [result["policies"][p]["counts"][TOTAL][0] for p in order]
        assert late == sorted(late, reverse=True)


def _fitting(inputs):
    """Lags that fit inside the tightest promise of each track (13710's 7 days, 1030's 24 hours
    for the fast track): then only waiting for people can make a case late."""
    data = inputs.model_dump()
    data["resolve_lag"]["routine"].update(max=4, unit="days")
    data["resolve_lag"]["fast"].update(max=12, unit="hours")
    data["resolve_lag"]["major"].update(max=20, unit="days")
    data["turns"]["suspension_length"].update(max=10, unit="days")
    return type(inputs).model_validate(data)


def test_with_unlimited_staff_every_promise_is_kept():
    inputs = _fitting(small(days=60, per_year=8000)).unlimited()
    result = replication(inputs, None, 3)
    for policy, found in result["policies"].items():
        for group, milestones in found["on_time"].items():
            for name, (met, late) in milestones.items():
                assert late == 0, (policy, group, name, met, late)
        assert found["counts"][TOTAL][0] == 0
    limited = replication(_fitting(small(days=60, per_year=8000)), None, 3)
    assert limited["policies"]["1030"]["counts"][TOTAL][0] > 0  # with the sample's staff, some are late


def test_the_report_has_intervals_and_a_chart():
    results = run(small(), replications=3, seed=4, jobs=1)
    report = summarise(results, seed=4, source="t")
    total = report["policies"]["1030"][TOTAL]
    assert 0 <= total["on_time"]["dispatch"]["mean"] <= 1 and total["on_time"]["dispatch"]["ci95"] >= 0
    assert report["replications"] == 3 and len(report["work"]["backlog_by_week"]) == 9
    assert set(report["work"]["utilisation"]) == {"dispatch", *load().departments}
    text = simulation_table(report)
    assert "on time (total)" in text and "区教育局" in text and "±" in text
    svg = chart(report)
    assert svg.startswith("<svg") and svg.count("<rect") > 10


# ---- the command -----------------------------------------------------------------------------


def test_simulate_prints_one_json_line_and_refuses_bad_input(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(SAMPLE.read_text(encoding="utf-8").replace("per_year = 37144", "per_year = -1"), encoding="utf-8")
    refused = subprocess.run(
        [sys.executable, "-m", "starter", "simulate", str(bad)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2 and "arrivals.per_year" in refused.stderr
    short = tmp_path / "short.toml"
    short.write_text(
        SAMPLE.read_text(encoding="utf-8").replace("days = 365", "days = 30").replace("37144", "4000"),
        encoding="utf-8",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "starter",
            "simulate",
            str(short),
            "--seed",
            "3",
            "--replications",
            "2",
            "--json",
            "--chart",
            str(tmp_path / "c.svg"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    report = json.loads(line)
    assert report["seed"] == 3 and report["replications"] == 2 and set(report["policies"]) == {"1030", "13710"}
    assert (tmp_path / "c.svg").read_text().startswith("<svg")


# ---- the cross-check with real workflows -----------------------------------------------------

SUPERVISOR = actor("supervisor", "区信访局", "sup-1")
DISPATCHER = actor("dispatcher", "区群众诉求服务中心", "disp-1")
LEADER = actor("leader", None, "ld-1")


def _handler(department: str) -> dict:
    return actor("handler", department, f"h-{department}")


def _actions(case, verdict, case_id: str, policy: str, end: float) -> list[tuple[float, int, str, object]]:
    """What the people did, as the engine's updates, at the simulated times (before the end)."""
    out: list[tuple[float, int, str, object]] = []
    order = 0

    def at(ts: float | None, update: str, payload) -> None:
        nonlocal order
        if ts is not None and ts < end:
            order += 1
            out.append((ts, order, case_id, (update, payload)))

    received = moment(case.arrival).astimezone(timezone.utc).isoformat()
    filing = {
        "complaint": complaint(
            category=case.category,
            track=case.track,
            received_at=received,
            location={"district": "罗湖区", "street": "东门街道", "community": "湖贝社区"},
        ),
        "policy": policy,
    }
    at(case.arrival + 0.5, "file", filing)
    at(case.dispatched_at, "dispatch", {"actor": DISPATCHER, "department": case.sessions[0].department})
    for s in case.sessions:
        h = _handler(s.department)
        at(s.contact_at, "record_contact", {"actor": h, "note": "已电话联系"})
        at(s.verify_at, "record_verification", {"actor": h, "findings": "已核实"})
        if s.transferred_at is not None:
            at(
                s.transferred_at + 0.5,
                "transfer",
                {"actor": h, "to_department": case.department, "explanation": "非本部门职责"},
            )
            continue
        at(s.reply_at, "reply", {"actor": h, "message": "已答复"})
        if policy == "13710":  # the reply step is the department's progress report there
            at(s.reply_at and s.reply_at + 0.5, "report_progress", {"actor": h, "note": "已答复诉求人, 正在办理"})
        at(s.opinion_at, "submit_opinion", {"actor": h, "findings": "查明", "handling": "处理", "next_steps": "跟进"})
    h = _handler(case.department)
    if verdict.suspended:
        stopped, resumed = case.suspended
        at(stopped - 1, "request_suspension", {"actor": h, "reason": "等待鉴定结论"})
        at(stopped, "decide_suspension", {"actor": SUPERVISOR, "approve": True})
        at(resumed, "resume", {"actor": h})
    if verdict.extension:
        asked, until = verdict.extension
        until_text = moment(until).isoformat()
        at(asked - 1, "request_extension", {"actor": h, "reason": "需协调多部门", "until": until_text})
        at(asked, "decide_extension", {"actor": SUPERVISOR, "approve": True})
    for n, resolved in enumerate(verdict.resolutions):
        # Once escalated, its leader resolves it (the simulator has the resolution wait for one).
        escalated = verdict.escalated_at is not None and verdict.escalated_at <= resolved
        at(resolved, "resolve", {"actor": LEADER if escalated else h, "resolution": f"第{n + 1}次办结"})
        if n < len(verdict.visits):
            satisfaction = "dissatisfied" if case.follow_ups[n][1] else "satisfied"
            at(verdict.visits[n], "record_follow_up", {"actor": SUPERVISOR, "satisfaction": satisfaction})
    leader_at = verdict.escalated_at + case.leader_delay if verdict.escalated_at is not None else INF
    if leader_at < (verdict.closed_at or INF):
        at(leader_at, "assign_leader", {"actor": SUPERVISOR, "leader": {"id": "ld-1", "name": "张局长"}})
    return out


async def test_simulated_cases_run_as_real_workflows_agree(env, client):
    """A sample of simulated cases, under both policies, driven through real workflows at the
    simulated times (the test server skipping time): every deadline, breach and escalation the
    workflow records is the one the simulator computed."""
    now = await server_now(env)
    start = (now.astimezone(BUSINESS_TZ) + timedelta(days=1)).date()
    inputs = small(days=25, per_year=365 * 4)
    data = inputs.model_dump()
    data["period"]["start"] = start
    data["tracks"] = {"routine": 0.75, "fast": 0.25}
    data["turns"].update(transfer=0.3, extension=0.5, suspension=0.3, dissatisfied=0.35)
    for d in data["departments"].values():
        d["staff"] = 1  # queues, so that some promises are broken
    inputs = type(inputs).model_validate(data)
    # The period starts tomorrow on the test server's clock (other tests move it on), so the
    # calendar under it varies: take the first seed whose first ten cases take every turn.
    for seed in range(11, 71):
        run_ = simulate(inputs, CAL, seed=seed)
        cases = run_.cases[:10]
        book = Deadlines(CAL)
        verdicts, actions = {}, []
        for policy in ("1030", "13710"):
            table_ = Rules(rules(policy))
            for c in cases:
                case_id = f"sim-{policy}-{c.n}-{now.timestamp():.0f}"
                verdicts[case_id] = judge(c, table_, book, run_.end)
                actions += _actions(c, verdicts[case_id], case_id, policy, run_.end)
        turns = {
            "transfer": any(c.transfer for c in cases),
            "suspension": any(v.suspended for v in verdicts.values()),
            "reopen": any(d for c in cases for _, d in c.follow_ups),
            "extension": any(v.extension for v in verdicts.values()),
            "escalation": any(v.escalated_at for v in verdicts.values()),
        }
        if all(turns.values()):
            break
    assert all(turns.values()), turns  # the sample covers every turn
    actions.sort()
    for ts, _, case_id, (update, payload) in actions:
        ahead = ts - (await server_now(env)).timestamp()
        if ahead > 0:
            await env.sleep(timedelta(seconds=ahead))
        if update == "file":  # straight to Temporal: the starter checks received_at against the wall clock
            await client.start_workflow(
                "ComplaintCase", CaseInput.model_validate(payload), id=case_id, task_queue=client.task_queue
            )
        else:
            await act(client, case_id, update, payload)
    ahead = run_.end - (await server_now(env)).timestamp()
    if ahead > 0:
        await env.sleep(timedelta(seconds=ahead))
    mismatches, compared, late = [], 0, 0
    for case_id, verdict in verdicts.items():
        current = await state(client, case_id)
        engine = [(m.name, m.anchor) for m in current.milestones if not m.name.startswith("report_in")]
        simulated = [(p.name, p.anchor) for p in verdict.promises]
        if sorted(engine) != sorted(simulated):
            mismatches.append((case_id, "milestones", sorted(engine), sorted(simulated)))
            continue
        for m in current.milestones:
            twin = next(
                p
                for p in verdict.promises
                if (p.name, p.anchor) == (m.name, m.anchor) and abs(p.anchor_at - m.anchor_at.timestamp()) < 5
            )
            if abs(twin.due - m.due_at.timestamp()) > 5:
                mismatches.append((case_id, m.name, "due", m.due_at, moment(twin.due)))
            engine_outcome = {"met": "met", "late": "late", "BREACHED": "late", "missed": "late"}.get(m.outcome)
            compared += 1
            late += engine_outcome == "late"
            if engine_outcome != twin.outcome(run_.end):
                mismatches.append((case_id, m.name, "outcome", m.outcome, twin.outcome(run_.end)))
        if current.escalated != (verdict.escalated_at is not None):
            mismatches.append((case_id, "escalated", current.escalated, verdict.escalated_at))
    assert not mismatches, mismatches
    assert compared > 150 and late > 10, (compared, late)  # many deadlines, some of them broken


# ---- fitted to the read model ----------------------------------------------------------------


def test_arrivals_mix_and_turns_fitted_from_the_read_model(tmp_path):
    from bench import synthetic
    from readmodel import ReadModel
    from simulation.fit import fit

    read_model = ReadModel(f"sqlite:///{tmp_path / 'rm.db'}", b"k" * 16)
    now = datetime(2022, 12, 31, tzinfo=timezone.utc)
    synthetic.fill(read_model, 3000, now=now, days=120)
    fitted = fit(load(), read_model, since=now - timedelta(days=120), until=now)
    assert 3000 * 365 / 120 * 0.98 < fitted.arrivals.per_year < 3000 * 365 / 120 * 1.02
    assert sum(fitted.arrivals.by_hour) == 3000 and fitted.tracks == {"routine": 1.0}
    assert fitted.turns.transfer == 0 and 0 < fitted.turns.dissatisfied < 0.3  # synthetic: 1 in 11 dissatisfied
    housing = fitted.categories[next(c for c in fitted.categories if c.value == "housing")]
    assert set(housing.departments) <= set(load().departments)
    summarise(
        run(
            fitted.model_copy(update={"period": fitted.period.model_copy(update={"days": 20})}),
            replications=1,
            seed=1,
            jobs=1,
        ),
        seed=1,
        source="fitted",
    )
    with pytest.raises(InputError, match="at least 200"):
        fit(load(), read_model, since=now - timedelta(days=3), until=now)
