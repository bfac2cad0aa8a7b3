"""The read model on its own, on SQLite and on PostgreSQL: idempotent, ordered, private."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from models import CaseState, Complaint, Milestone, Notice, NoticeKind, TimelineEvent
from models.records import CaseSnapshot, RepeatQuery
from readmodel import ReadModel, snapshot_of
from readmodel.privacy import mask, phone_hash
from tests.support.cases import complaint
from tests.support.postgres import fresh_postgres

T0 = datetime(2026, 11, 2, 9, tzinfo=timezone.utc)
KEY = b"k"


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path) -> Iterator[ReadModel]:
    if request.param == "sqlite":
        read_model = ReadModel(f"sqlite:///{tmp_path / 'rm.db'}", KEY)
    else:
        read_model = ReadModel(fresh_postgres(request.getfixturevalue("pg_url")), KEY)
    yield read_model
    # Its pooled connections go now, not when collected: the PostgreSQL server allows 100 in all,
    # and twenty rounds of fifty look-ups ran out of them ("too many clients").
    read_model.engine.dispose()


def case_state(case_id: str = "c1", version: int = 1, events: int = 1, **fields) -> CaseState:
    s = CaseState(
        case_id=case_id, policy="1030", track="routine", category="property", received_at=T0, version=version, **fields
    )
    s.timeline = [TimelineEvent(at=T0 + timedelta(minutes=i), kind=f"e{i}") for i in range(events)]
    return s


def snap(state: CaseState, complaint_: dict, first_seq: int = 0) -> CaseSnapshot:
    return CaseSnapshot(
        complaint=Complaint.model_validate(complaint_),
        state=state.model_copy(update={"timeline": []}),
        events=state.timeline[first_seq:],
        first_seq=first_seq,
        run_id="r1",
    )


def test_snapshot_written_twice_is_written_once(db):
    c = complaint(complainant={"name": "王", "phone": "13800138000"})
    s = case_state(events=3, status="dispatched", department="住建局")
    db.record(snap(s, c))
    db.record(snap(s, c))  # a retried activity
    db.record(snap(s, c, first_seq=1))  # overlapping ranges
    row = db.case("c1")
    assert row.status == "dispatched" and row.department == "住建局" and row.version == 1
    assert [e.seq for e in db.events("c1")] == [0, 1, 2]
    assert [e.kind for e in db.events("c1")] == ["e0", "e1", "e2"]


def test_older_snapshot_never_overwrites_a_newer_one(db):
    c = complaint()
    newer = case_state(version=5, events=4, status="resolved")
    db.record(snap(newer, c))
    older = case_state(version=3, events=2, status="handling")
    db.record(snap(older, c))  # arrives late
    assert db.case("c1").status == "resolved" and db.case("c1").version == 5
    assert len(db.events("c1")) == 4


def test_milestones_and_times(db):
    s = case_state(status="resolved")
    s.milestones = [
        Milestone(name="dispatch", due_at=T0 + timedelta(hours=1), done_at=T0 + timedelta(minutes=5)),
        Milestone(name="contact", due_at=T0 + timedelta(hours=2), breached=True, department="住建局"),
    ]
    s.resolved_at = T0 + timedelta(days=3)
    s.breaches = ["contact"]
    db.record(snap(s, complaint()))
    rows = db.milestones("c1")
    assert [(m.name, m.breached, m.department) for m in rows] == [
        ("dispatch", False, None),
        ("contact", True, "住建局"),
    ]
    assert rows[0].done_at.replace(tzinfo=timezone.utc) == T0 + timedelta(minutes=5)
    row = db.case("c1")
    assert row.breach_count == 1 and row.resolved_at.replace(tzinfo=timezone.utc) == T0 + timedelta(days=3)


def test_phone_is_never_stored_in_clear(db):
    db.record(snap(case_state(), complaint(complainant={"name": "王", "phone": "13800138000"})))
    db.outbox_attempt(
        Notice(
            id="r1/1",
            case_id="c1",
            recipient="complainant",
            kind=NoticeKind.acknowledgement,
            text="accepted",
            address="13800138000",
        )
    )
    row = db.case("c1")
    assert row.complainant_masked == "138****8000"
    assert row.complainant_hash == phone_hash("+86 138-0013-8000", KEY) != phone_hash("13800138000", b"other")
    with db.engine.connect() as conn:
        for table in ("cases", "case_milestones", "case_events", "outbox"):
            for record in conn.execute(text(f"SELECT * FROM {table}")):
                assert "13800138000" not in str(tuple(record)), table


def test_masks():
    assert mask("13800138000") == "138****8000"
    assert mask("+86 13800138000") == "138****8000"
    assert mask("0755-27400000") == "0755-****0000"
    assert mask("010-12345678") == "010-****5678"


def test_repeat_look_up(db):
    phone = {"name": "王", "phone": "13800138000"}
    db.record(snap(case_state("open-1", status="handling"), complaint(complainant=phone)))
    query = RepeatQuery(
        case_id="new",
        complaint=Complaint.model_validate(complaint(complainant=phone)),
        received_at=T0 + timedelta(days=1),
    )
    assert db.find_earlier_case(query).model_dump() == {"case_id": "open-1", "open": True, "closed_at": None}
    # Another category, another community or another person: no match.
    for other in (
        complaint(complainant=phone, category="traffic"),
        complaint(complainant={"name": "李", "phone": "13900139000"}),
        complaint(complainant=phone, location={"district": "光明区", "street": "凤凰街道", "community": "甲社区"}),
    ):
        assert db.find_earlier_case(query.model_copy(update={"complaint": Complaint.model_validate(other)})) is None


def test_repeat_of_closed_within_180_days_only(db):
    phone = {"name": "王", "phone": "13800138000"}
    closed = case_state("old-1", status="closed", closed_at=T0)
    db.record(snap(closed, complaint(complainant=phone)))
    q = RepeatQuery(
        case_id="new",
        complaint=Complaint.model_validate(complaint(complainant=phone)),
        received_at=T0 + timedelta(days=179),
    )
    match = db.find_earlier_case(q)
    assert match.case_id == "old-1" and not match.open and match.closed_at == T0
    assert db.find_earlier_case(q.model_copy(update={"received_at": T0 + timedelta(days=181)})) is None


def test_grid_patrol_matches_same_grid_within_seven_days(db):
    patrol = complaint(channel="grid_patrol", complainant=None)
    db.record(snap(case_state("patrol-1", status="dispatched"), patrol))
    q = RepeatQuery(case_id="new", complaint=Complaint.model_validate(patrol), received_at=T0 + timedelta(days=6))
    assert db.find_earlier_case(q).case_id == "patrol-1"
    assert db.find_earlier_case(q.model_copy(update={"received_at": T0 + timedelta(days=8)})) is None
    other_grid = dict(patrol, location={**patrol["location"], "grid": "网格99"})
    assert db.find_earlier_case(q.model_copy(update={"complaint": Complaint.model_validate(other_grid)})) is None
    # A complainant's case and a patrol's find are different people's problems.
    person = Complaint.model_validate(complaint())
    assert db.find_earlier_case(q.model_copy(update={"complaint": person})) is None


def test_merged_cases_are_not_matched_again(db):
    phone = {"name": "王", "phone": "13800138000"}
    db.record(snap(case_state("m-1", status="merged", merged_into="x"), complaint(complainant=phone)))
    q = RepeatQuery(case_id="new", complaint=Complaint.model_validate(complaint(complainant=phone)), received_at=T0)
    assert db.find_earlier_case(q) is None


def test_outbox_attempts_and_result(db):
    n = Notice(id="r1/7", case_id="c1", recipient="supervisor", kind=NoticeKind.breach, text="late")
    db.outbox_attempt(n)
    db.outbox_result(n.id, "ConnectionError: down")
    db.outbox_attempt(n)
    db.outbox_result(n.id, None)
    [row] = db.outbox("c1")
    assert row.attempts == 2 and row.sent_at is not None and row.last_error is None and row.kind == "breach"


def test_snapshot_of_a_whole_case(db):
    s = case_state(version=9, events=5, status="closed")
    db.record(snapshot_of(s, Complaint.model_validate(complaint()), "r9"))
    assert db.case("c1").run_id == "r9" and len(db.events("c1")) == 5


def test_tables_of_an_earlier_version_gain_new_columns(db):
    from sqlalchemy import text

    with db.engine.begin() as conn:  # as the first version of the read model made it
        conn.execute(text("ALTER TABLE case_milestones DROP COLUMN paused_seconds"))
        conn.execute(text("ALTER TABLE cases DROP COLUMN suspended"))
    again = ReadModel(db.url, KEY)
    s = case_state(status="handling", suspended=True)
    s.milestones = [Milestone(name="resolve", due_at=T0 + timedelta(days=3), paused_seconds=60)]
    again.record(snap(s, complaint()))
    assert again.case("c1").suspended and again.milestones("c1")[0].paused_seconds == 60


def test_stats_leave_stopped_time_out_and_report_the_whistle(db):
    from readmodel.stats import compute

    s = case_state(status="resolved", events=0)
    s.resolved_at = T0 + timedelta(days=10)  # Mon Nov 2 to Thu Nov 12: 8 working days
    s.milestones = [
        Milestone(
            name="resolve",
            due_at=T0 + timedelta(days=70),
            done_at=s.resolved_at,
            paused_seconds=timedelta(days=2).total_seconds(),
        ),
        Milestone(
            name="report_in:水务局", due_at=T0 + timedelta(hours=24), anchor_at=T0, done_at=T0 + timedelta(minutes=90)
        ),
        Milestone(name="report_in:城管局", due_at=T0 + timedelta(hours=24), anchor_at=T0, breached=True),
    ]
    # stopped Tue Nov 3 09:00 to Thu Nov 5 09:00: 2 working days and 48 hours
    s.timeline = [
        TimelineEvent(at=T0, kind="received"),
        TimelineEvent(at=T0 + timedelta(days=1), kind="suspended"),
        TimelineEvent(at=T0 + timedelta(days=3), kind="resumed"),
    ]
    db.record(snap(s, complaint()))
    [total] = compute(db, since=T0 - timedelta(days=1), until=T0 + timedelta(days=30))
    j = total.as_json()
    assert j["median_hours_to_resolve"] == 8 * 24.0  # 10 days less the 2 stopped
    assert j["median_working_days_to_resolve"] == 8 - 2
    assert j["whistle"] == {
        "城管局": {"summoned": 1, "reported": 0, "late": 1, "median_minutes_to_report": None},
        "水务局": {"summoned": 1, "reported": 1, "late": 0, "median_minutes_to_report": 90.0},
    }


# ---- the claim of "the open case": one per complainant, category and community ----------------


def _query(case_id: str, phone: dict, at: datetime = T0) -> RepeatQuery:
    return RepeatQuery(
        case_id=case_id, complaint=Complaint.model_validate(complaint(complainant=phone)), received_at=at
    )


def test_the_first_complaint_claims_and_the_next_merges_into_it_before_either_is_recorded(db):
    phone = {"name": "王", "phone": "13800138001"}
    assert db.find_earlier_case(_query("a", phone)) is None
    assert db.find_earlier_case(_query("a", phone)) is None  # a retried look-up: the same answer
    assert db.find_earlier_case(_query("b", phone)).model_dump() == {"case_id": "a", "open": True, "closed_at": None}
    # Another person, category or community claims for itself.
    assert db.find_earlier_case(_query("c", {"name": "李", "phone": "13900139001"})) is None


def test_a_closed_case_gives_up_its_claim(db):
    phone = {"name": "王", "phone": "13800138002"}
    assert db.find_earlier_case(_query("a", phone)) is None
    db.record(snap(case_state("a", status="closed", closed_at=T0 + timedelta(days=2)), complaint(complainant=phone)))
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM open_claims WHERE case_id = 'a'")).scalar_one() == 0
    match = db.find_earlier_case(_query("b", phone, T0 + timedelta(days=3)))
    assert match.case_id == "a" and not match.open  # a repeat of a closed case: escalated, and b holds the claim
    assert db.find_earlier_case(_query("c", phone, T0 + timedelta(days=3))).model_dump()["case_id"] == "b"


def test_a_claim_left_by_a_closed_or_vanished_case_is_taken_over(db):
    phone = {"name": "王", "phone": "13800138003"}
    assert db.find_earlier_case(_query("a", phone)) is None
    # The row says closed but the claim is still there (the release not yet written):
    db.record(snap(case_state("a", status="handling"), complaint(complainant=phone)))
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE cases SET status = 'closed', closed_at = :t WHERE case_id = 'a'"), {"t": T0})
    assert db.find_earlier_case(_query("b", phone)).open is False
    assert db.find_earlier_case(_query("c", phone)).case_id == "b"
    # The workflow found b gone though its row says open (terminated by an operator, say):
    q = _query("d", phone).model_copy(update={"gone": ["b"]})
    assert db.find_earlier_case(q).case_id == "a"  # not b: d holds the claim now, a repeat of closed a
    assert db.find_earlier_case(_query("e", phone)).case_id == "d"


@pytest.mark.parametrize("round_", range(20))
def test_fifty_identical_look_ups_at_once_claim_one_case(db, round_):
    import threading

    phone = {"name": "王", "phone": f"1380013{round_:04d}"}
    barrier = threading.Barrier(50)
    answers: dict[str, object] = {}

    failed: dict[str, BaseException] = {}

    def look(i: int) -> None:
        barrier.wait()
        try:
            answers[f"c{i}"] = db.find_earlier_case(_query(f"c{i}", phone))
        except BaseException as err:  # a look-up that failed is this test's failure, not a thread's
            failed[f"c{i}"] = err

    threads = [threading.Thread(target=look, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failed and len(answers) == 50, failed
    owners = [case for case, match in answers.items() if match is None]
    assert len(owners) == 1, answers
    assert {match.case_id for match in answers.values() if match is not None} == set(owners)


def test_stats_count_a_settled_milestone_past_its_deadline_as_late_never_met(db):
    from readmodel.stats import compute

    s = case_state(status="closed", events=0, closed_at=T0 + timedelta(days=2))
    s.milestones = [
        # done by the resolution before its deadline: met
        Milestone(name="opinion", due_at=T0 + timedelta(days=3), done_at=T0 + timedelta(days=1), settled="resolution"),
        # done by the resolution after its deadline: late
        Milestone(
            name="reply",
            due_at=T0 + timedelta(hours=72),
            done_at=T0 + timedelta(days=4),
            breached=True,
            settled="resolution",
        ),
        # still owed when the case closed, deadline passed: missed, so late
        Milestone(
            name="report_in:城管局", due_at=T0 + timedelta(hours=24), breached=True, superseded=True, settled="missed"
        ),
        # not yet due when the case closed: no longer owed, neither met nor late
        Milestone(name="verify", due_at=T0 + timedelta(days=300), superseded=True, settled="closed"),
    ]
    db.record(snap(s, complaint()))
    assert [m.settled for m in db.milestones("c1")] == ["resolution", "resolution", "missed", "closed"]
    [total] = compute(db, since=T0 - timedelta(days=1), until=T0 + timedelta(days=30))
    on_time = total.as_json()["on_time"]
    assert on_time["opinion"]["met"] == 1 and on_time["reply"]["late"] == 1
    assert on_time["report_in:城管局"]["late"] == 1 and "verify" not in on_time
