"""类案预警 across places (issue 40): on a real time-skipping server, twelve people trapped in lifts
in five communities of one street, each in their own words and filed under different
categories, are one alert; the street lamp beside them is in none; another street's supervisor
is shown nothing of it. The texts are the tests' own (tests/support/similar.py): no public
labelled corpus of Chinese complaints is available here."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import Actor, Role
from models.scope import seen_by
from readmodel.similar import similar_alerts
from starter import UnknownCase, complaint_of, file_complaint, jurisdictions, state
from tests.support.cases import complaint, eventually, new_id
from tests.support.similar import LIFTS, OTHERS

# Five communities of 凤凰街道 (the first three in the tree; two it does not list, 待定位 at the street).
COMMUNITIES = ["塘家社区", "凤凰社区", "塘尾社区", "东坑社区", "凤凰新村"]
CATEGORIES = ["property", "housing", "urban_management", "other"]


async def _file(client, read_model, text: str, community: str, category: str) -> str:
    case_id = new_id()
    where = {"district": "光明区", "street": "凤凰街道", "community": community}
    body = complaint(title=text[:12], description=text, location=where, category=category)
    await file_complaint(client, case_id, {"complaint": body}, task_queue=client.task_queue)
    await eventually(client, case_id, lambda s: read_model.case(case_id) is not None)
    return case_id


async def test_twelve_lift_complaints_over_five_communities_are_one_alert_and_a_street_lamp_is_not_in_it(
    client, read_model
):
    lifts = [
        await _file(client, read_model, text, COMMUNITIES[i % 5], CATEGORIES[i % 4]) for i, text in enumerate(LIFTS)
    ]
    # The street's other complaints of the fortnight: a street lamp first, each about something else.
    others = [await _file(client, read_model, text, COMMUNITIES[i % 5], "other") for i, text in enumerate(OTHERS)]
    lamp = others[0]
    at = (await state(client, lamp)).received_at
    since, until = at - timedelta(days=14), at + timedelta(minutes=1)
    street = seen_by(Actor(id="fh", role=Role.supervisor, scope="440311004"), jurisdictions.tree())
    alerts = similar_alerts(read_model, since=since, until=until, seen=street)

    ours = [a for a in alerts if {s.case_id for s in a.cases} & set(lifts)]
    assert len(ours) == 1, [a.as_json() for a in alerts]
    alert = ours[0]
    found = {s.case_id for s in alert.cases}
    extra = [read_model.case(c).said for c in found - set(lifts)]  # type: ignore[union-attr]
    # Ten or more of the twelve: with twenty complaints in sight the shared words weigh little (a
    # word most of them say is a common word there); among a fortnight's hundreds, eleven (below).
    assert len(found & set(lifts)) >= 10 and not extra, extra
    assert alert.people >= 10 and alert.communities == 5 and "电梯" in alert.words
    assert len(alert.as_json()["categories"]) >= 3  # whatever category each was filed under
    assert all(lamp not in {s.case_id for s in a.cases} for a in alerts)

    # Another street's supervisor is shown nothing of it; the district's sees it too.
    other = seen_by(Actor(id="gm", role=Role.supervisor, scope="440311001"), jurisdictions.tree())
    elsewhere = similar_alerts(read_model, since=since, until=until, seen=other)
    assert not any({s.case_id for s in a.cases} & set(lifts) for a in elsewhere)
    district = seen_by(Actor(id="gmd", role=Role.supervisor, scope="440311"), jurisdictions.tree())
    assert any(
        found <= {s.case_id for s in a.cases}
        for a in similar_alerts(read_model, since=since, until=until, seen=district)
    )


def test_among_a_streets_fortnight_eleven_of_the_twelve_are_one_cluster_and_nothing_else_joins():
    """The rule alone, on the complaints of a busy fortnight (bench/similar.py's labelled topics):
    the one lift complaint that says only 电梯 (困了三个人, not 困人) stays apart."""
    from datetime import datetime, timezone

    from bench.similar import complaints
    from models.risk import normalise
    from readmodel.similar import Said, cluster

    now = datetime.now(timezone.utc)
    background, labels = complaints(300, seed=3)
    said = [
        Said(f"lift-{i}", normalise(t), f"L{i}", "c", "凤凰街道", COMMUNITIES[i % 5], now) for i, t in enumerate(LIFTS)
    ]
    said += [
        Said(f"bg-{i}", normalise(t), f"B{i}", "c", "凤凰街道", COMMUNITIES[i % 5], now)
        for i, (t, label) in enumerate(zip(background, labels, strict=True))
        if label != "lift"
    ]
    found = max(cluster(said), key=lambda c: sum(s.case_id.startswith("lift") for s in c.cases))
    assert sum(s.case_id.startswith("lift") for s in found.cases) == 11
    assert all(s.case_id.startswith("lift") for s in found.cases) and found.words[:2] == ["电梯", "困人"]


def test_the_similar_bench_scores_both_methods_on_the_same_cases():
    """`python -m bench.similar`, small: both methods run on the same labelled cases and score
    between 0 and 1 (its figures live in docs/benchmark.md, from `make bench`)."""
    from bench.similar import measure

    r = measure(200)
    assert r["cases"] == 200 and r["tfidf_engine_default"]["f1"] > 0
    runs = [v for v in r.values() if isinstance(v, dict)]
    assert len(runs) == 8 and all(0 <= v[k] <= 1 for v in runs for k in ("precision", "recall", "f1"))


def test_the_command_line_lists_the_alert_and_refuses_a_place_the_tree_lacks(tmp_path, monkeypatch, capsys):
    """`python -m starter hotspots --similar`: the lift complaints of five communities as one alert,
    narrowed by --within to a street, and a code the tree lacks refused (exit 2)."""
    import json
    from datetime import datetime, timezone

    from bench.synthetic import cases
    from models.risk import normalise
    from readmodel import ReadModel
    from readmodel.tables import CASES
    from starter.cli import main

    monkeypatch.setenv("COMPLAINTS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COMPLAINTS_DB_URL", f"sqlite:///{tmp_path / 'rm.db'}")
    now = datetime.now(timezone.utc)
    rows, _, _ = cases(len(LIFTS) + len(OTHERS), now=now, days=3)
    texts = LIFTS + OTHERS
    with ReadModel(f"sqlite:///{tmp_path / 'rm.db'}", b"k").engine.begin() as conn:
        conn.execute(
            CASES.insert(),
            [
                row
                | {"said": normalise(text), "street": "凤凰街道", "street_code": "440311004",
                   "community": COMMUNITIES[i % 5], "complainant_hash": f"p{i}", "merged_into": None}
                for i, (row, text) in enumerate(zip(rows, texts, strict=True))
            ],
        )  # fmt: skip
    lift_ids = {rows[i]["case_id"] for i in range(len(LIFTS))}

    assert main(["hotspots", "--similar", "--json", "--within", "440311004"]) == 0
    out = capsys.readouterr().out
    alerts = json.loads(out.splitlines()[-1])
    assert len(alerts) == 1 and set(alerts[0]["case_ids"]) <= lift_ids and alerts[0]["communities"] == 5
    assert main(["hotspots", "--similar", "--json", "--within", "440311001"]) == 0  # another street: none
    assert json.loads(capsys.readouterr().out) == []
    assert main(["hotspots", "--similar", "--within", "999"]) == 2
    assert "--within: '999' is no place code of the city's tree" in capsys.readouterr().err


async def test_a_supervisor_hands_the_alert_to_a_unit_as_one_source_task_and_each_case_says_so(client, read_model):
    """源头治理: one task naming the cluster's cases, at their street, dispatched to the unit; each
    member's own timeline says so; handing it again changes nothing; a supervisor of another
    street cannot hand what they do not see."""
    from models.complaint import Channel
    from starter.source_tasks import hand

    lifts = [
        await _file(client, read_model, text, COMMUNITIES[i % 5], CATEGORIES[i % 4]) for i, text in enumerate(LIFTS)
    ]
    at = (await state(client, lifts[-1])).received_at
    supervisor = Actor(id="fh-sup", role=Role.supervisor, scope="440311004")
    alerts = similar_alerts(
        read_model,
        since=at - timedelta(days=14),
        until=at + timedelta(minutes=1),
        seen=seen_by(supervisor, jurisdictions.tree()),
    )
    [ours] = [a for a in alerts if {s.case_id for s in a.cases} & set(lifts)]
    handed = await hand(client, ours, "区住建局", supervisor, task_queue=client.task_queue)
    task = await state(client, handed.task_id)
    members = {s.case_id for s in ours.cases}
    assert handed.created and set(task.members) == members and task.department == "光明区住房和建设局"
    assert task.status == "dispatched" and task.place is not None and task.place.street == "440311004"
    assert (await complaint_of(client, handed.task_id)).channel == Channel.grid_patrol
    assert set(handed.noted) == members and not handed.not_noted
    for member in lifts[:3]:
        [said] = [e for e in (await state(client, member)).timeline if e.kind == "source_task"]
        assert said.detail == {"task_id": handed.task_id, "department": "光明区住房和建设局"}
        assert said.actor is not None and said.actor.id == "fh-sup"
    again = await hand(client, ours, "区住建局", supervisor, task_queue=client.task_queue)
    assert (again.task_id, again.created) == (handed.task_id, False)
    assert [e.kind for e in (await state(client, lifts[0])).timeline].count("source_task") == 1
    stranger = Actor(id="gm-sup", role=Role.supervisor, scope="440311001")  # 光明街道's: sees none of it
    with pytest.raises(UnknownCase):
        await hand(client, ours, "区住建局", stranger, task_queue=client.task_queue)
    district = Actor(id="gm-district", role=Role.supervisor, scope="440311")  # sees it: already told
    told = await hand(client, ours, "区住建局", district, task_queue=client.task_queue)
    assert not told.noted and all("already one of task" in why for why in told.not_noted.values())


async def test_a_new_alert_goes_out_once_as_a_signed_cluster_alert_to_the_scopes_subscribers(
    client, read_model, monkeypatch
):
    """`cluster_alert`: the watch (a schedule every 10 minutes) finds the alert within each
    subscription's scope and delivers it once, signed; another street's subscriber hears nothing."""
    import uuid

    from standardwebhooks.webhooks import Webhook

    from readmodel.webhooks import Webhooks
    from starter.codec import keyring_from_settings
    from tests.support.receiver import Receiver
    from worker import create_audit_worker
    from workflows.similar_watch import WatchSimilarAlerts

    lifts = [
        await _file(client, read_model, text, COMMUNITIES[i % 5], CATEGORIES[i % 4]) for i, text in enumerate(LIFTS)
    ]
    store, run = Webhooks(read_model.engine, keyring_from_settings()), uuid.uuid4().hex[:6]
    ours, theirs = Receiver(), Receiver()
    street, other = f"fh-alerts-{run}", f"gm-alerts-{run}"
    secret = store.add(street, Actor(id="fh-sup", role=Role.supervisor, scope="440311004"), ours.url, ["cluster_alert"])
    store.add(other, Actor(id="gm-sup", role=Role.supervisor, scope="440311001"), theirs.url, ["cluster_alert"])
    queue = f"audit-{run}"
    monkeypatch.setenv("COMPLAINTS_AUDIT_TASK_QUEUE", queue)
    monkeypatch.setenv("COMPLAINTS_TASK_QUEUE", client.task_queue)  # where the deliveries run
    try:
        async with create_audit_worker(client, read_model=read_model):
            first = await client.execute_workflow(WatchSimilarAlerts.run, id=f"watch-{run}-1", task_queue=queue)
            assert first >= 1
            await ours.wait(lambda: ours.delivered())
            again = await client.execute_workflow(WatchSimilarAlerts.run, id=f"watch-{run}-2", task_queue=queue)
        assert again == 0  # told once, however often the watch runs
        [told] = [r for r in ours.delivered() if set(lifts) & set(r.message["data"]["alert"]["case_ids"])]
        Webhook(secret).verify(told.body, told.headers)  # signed as every delivery is
        alert = told.message["data"]["alert"]
        assert told.message["type"] == "cluster_alert" and alert["communities"] >= 2 and alert["people"] >= 5
        assert "电梯" in alert["words"]
        assert alert["task_id"].startswith("source-") and told.message["data"]["key"] == alert["key"]
        assert not theirs.received  # 光明街道's supervisor sees none of 凤凰街道's cases
    finally:
        for name in (street, other):
            store.remove(name)
        ours.close()
        theirs.close()
