"""The one "sees" rule (models/scope.py) and its SQL form (readmodel/scope.py) agree: every viewer
generated from the tree (each scope at each level, each role, units and mediators) against cases
placed all over it, assigned, transferred, summoned and mediated. A mismatch either way is a leak
or a hole, so the whole matrix is asserted, not a sample."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from models import Actor, CaseState, Complaint, Role
from models.dispute import MediatorRef
from models.records import CaseSnapshot
from models.scope import seen_by, sees
from models.tree import Level
from models.tree_file import load
from models.updates import Dispatch, Transfer
from readmodel import ReadModel
from readmodel.scope import C, seen_where
from runtime.settings import CONFIG_DIR
from tests.support.cases import complaint

CITY = load(CONFIG_DIR / "jurisdictions.toml")
NOW = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)
# One case at each of these places (deepest code), with the unit history beside it.
PLACES = [
    "440311004001-07",
    "440311004002",
    "440311001001",
    "440311004",
    "440303003001",
    "440303005001",
    "341602106001",
]
UNIT_HISTORIES = [(), ("住建局",), ("住建局", "水务局"), ("交通局", "水务局", "住建局"), ("东门街道综合行政执法队",)]


def _case(n: int, code: str, units: tuple[str, ...], mediator: str | None) -> tuple[CaseState, Complaint]:
    names = {p.level.value: p.name for p in CITY.path(code)}
    c = Complaint.model_validate(
        complaint(location={k: names.get(k) for k in ("district", "street", "community", "grid")} | {"code": code})
    )
    placement = CITY.place(code=code)
    s = CaseState.receive(f"c{n}", c, "1030", NOW, placement=placement)
    actor = Actor(id="d", role=Role.dispatcher)
    if units:  # as the model records them: a dispatch, then transfers
        s.dispatch(Dispatch(actor=actor, department=units[0]), NOW)
        for unit in units[1:]:
            s.transfer(Transfer(actor=actor, to_department=unit, explanation="e"), NOW)
    if mediator:
        from models.dispute import Dispute, DisputeKind

        s.dispute = Dispute(
            kind=DisputeKind.neighbour,
            parties=[],
            started_at=NOW,
            mediator=MediatorRef(id=mediator, name="调解员", organisation="委员会"),
        )
    return s, c


CASES = [
    _case(n, code, units, "m1" if n % 5 == 0 else None)
    for n, (code, units) in enumerate((c, u) for c in PLACES for u in UNIT_HISTORIES)
]
SCOPES = [None] + [p.code for p in CITY.places.values() if p.level != Level.grid]
VIEWERS = [
    Actor(id=f"{role.value}-{scope}-{unit}", role=role, department=unit, scope=scope)
    for scope in SCOPES
    for role, unit in (
        (Role.supervisor, None),
        (Role.dispatcher, None),
        (Role.auditor, None),
        (Role.handler, "住建局"),
        (Role.handler, "水务局"),
        (Role.leader, "东门街道综合行政执法队"),
    )
] + [Actor(id="m1", role=Role.mediator, scope="440303"), Actor(id="m2", role=Role.mediator, scope="341602")]


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> ReadModel:
    model = ReadModel(f"sqlite:///{tmp_path_factory.mktemp('scope')}/scope.db", b"k")
    for s, c in CASES:
        model.record(
            CaseSnapshot(
                complaint=c, state=s.model_copy(update={"timeline": []}), events=s.timeline, first_seq=0, run_id="r"
            )
        )
    return model


def test_the_cases_cover_every_kind_of_relation():
    assert len(CASES) == len(PLACES) * len(UNIT_HISTORIES) and len(VIEWERS) > 300
    assert any(s.dispute for s, _ in CASES)


@pytest.mark.parametrize("viewer", VIEWERS, ids=lambda v: v.id)
def test_the_rule_and_its_sql_agree(db: ReadModel, viewer: Actor):
    """Both ways of writing a scope in SQL: the column of its level (the tree at hand, what every
    read path does) and any level's column (without it)."""
    expected = {s.case_id for s, _ in CASES if sees(viewer, s.where())}
    with db.engine.connect() as conn:
        for seen in (seen_by(viewer, CITY), seen_by(viewer)):
            got = set(conn.execute(select(C.case_id).where(*seen_where(seen))).scalars())
            assert got == expected, seen


def test_what_the_rule_says():
    gm_case = next(s for s, _ in CASES if s.place and s.place.grid == "440311004001-07")
    lh_case = next(s for s, _ in CASES if s.place and s.place.community == "440303003001" and s.department == "水务局")
    street = Actor(id="s", role=Role.supervisor, scope="440311004")
    assert sees(street, gm_case.where()) and not sees(street, lh_case.where())
    city = Actor(id="c", role=Role.supervisor)
    assert sees(city, gm_case.where()) and sees(city, lh_case.where())
    # A handler of another district's unit sees what was transferred to (or from) its unit, nothing else.
    water = Actor(id="h", role=Role.handler, department="水务局", scope="440311")
    assert sees(water, lh_case.where())
    assert not any(
        sees(water, s.where())
        for s, _ in CASES
        if s.place and s.place.district == "440303" and "水务局" not in s.units()
    )


@pytest.mark.parametrize("viewer", VIEWERS, ids=lambda v: v.id)
def test_who_may_file_where(viewer: Actor):
    """The one filing rule (models/commands.py may_file), used by /v1 and Open311: a dispatcher,
    supervisor or community, inside its scope; an unplaced filing only by the whole city's."""
    from models.commands import FILERS, NotAllowed, may_file

    for code in PLACES:
        place = CITY.place(code=code).place
        expected = viewer.role in FILERS and (viewer.scope is None or viewer.scope in place.codes())
        try:
            may_file(viewer, place)
            allowed = True
        except NotAllowed:
            allowed = False
        assert allowed is expected, (viewer.id, code)
    try:
        may_file(viewer, None)
        allowed = True
    except NotAllowed:
        allowed = False
    assert allowed is (viewer.role in FILERS and viewer.scope is None)


def test_a_viewer_is_shown_another_identitys_work_only_when_it_sees_all_of_it():
    """sees_all_of (the console's subscriptions): whenever it says a viewer covers another, every
    case the other sees, the viewer sees too, so the other's counts leak nothing. Every pair."""
    from models.scope import sees_all_of

    covered = 0
    for viewer in VIEWERS:
        for other in VIEWERS:
            if not sees_all_of(CITY, seen_by(viewer), seen_by(other)):
                continue
            covered += 1
            leaked = [s.case_id for s, _ in CASES if sees(other, s.where()) and not sees(viewer, s.where())]
            assert not leaked, (viewer.id, other.id, leaked)
    city = Actor(id="c", role=Role.supervisor)
    district, street = (Actor(id=s, role=Role.supervisor, scope=s) for s in ("440311", "440311004"))
    luohu_street = Actor(id="l", role=Role.supervisor, scope="440303003")
    unit = Actor(id="h", role=Role.handler, department="水务局", scope="440311")
    assert sees_all_of(CITY, seen_by(district), seen_by(street))
    assert not sees_all_of(CITY, seen_by(street), seen_by(district))
    assert not sees_all_of(CITY, seen_by(district), seen_by(luohu_street))
    assert not sees_all_of(CITY, seen_by(district), seen_by(city))
    assert not sees_all_of(CITY, seen_by(district), seen_by(unit))  # a transfer reaches across districts
    assert sees_all_of(CITY, seen_by(city), seen_by(unit))
    assert covered > len(VIEWERS)
