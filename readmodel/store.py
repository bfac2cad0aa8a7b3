"""Read-model writes and look-ups (the repeat look-up in readmodel/repeats.py, the outbox in
readmodel/outbox.py, the schema in readmodel/schema.py). Every write is idempotent: a retried or replayed activity
never duplicates or reorders a row, so the database always matches the workflows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlmodel import Session, SQLModel, col
from sqlmodel import select as sm_select

from models import CaseState, Complaint, Notice, chain
from models.case import CallerHistory
from models.records import CallerQuery, CaseSnapshot, RepeatMatch, RepeatQuery
from models.risk import normalise
from readmodel import callers, outbox, repeats
from readmodel.links import TOKEN, Link, Links, digest
from readmodel.privacy import mask, phone_hash
from readmodel.schema import add_missing_columns, insert_for, make_engine
from readmodel.tables import (
    CASES,
    CLAIMS,
    EVENTS,
    LINKS,
    MILESTONES,
    OPEN,
    CaseRow,
    EventRow,
    MilestoneRow,
    OutboxRow,
    utc,
)
from readmodel.webhooks import owe


class ReadModel:
    def __init__(self, url: str, phone_key: bytes) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.phone_key = phone_key
        self._statements: dict[str, Any] = {}
        SQLModel.metadata.create_all(self.engine)
        add_missing_columns(self.engine)

    # ---- cases -----------------------------------------------------------------------------

    def record(self, snap: CaseSnapshot) -> list[str]:
        """Write a snapshot: the case row and milestones if not older than what is stored, any
        timeline events not yet written, and what the webhooks are owed of them. One transaction
        of plain statements (measured: the ORM version of this took a quarter of the worker's time
        under load). Returns the webhook subscriptions owed something new, to wake."""
        s = snap.state
        woken: list[str] = []
        with self.engine.begin() as conn:
            stored = conn.execute(select(CASES.c.version).where(CASES.c.case_id == s.case_id)).scalar_one_or_none()
            if stored is None or stored <= s.version:
                self._write_case(conn, snap)
            if snap.events:
                conn.execute(
                    self._statement(
                        "events", lambda: self._insert(EVENTS).on_conflict_do_nothing(index_elements=["case_id", "seq"])
                    ),
                    [
                        dict(
                            case_id=s.case_id,
                            seq=seq,
                            at=utc(e.at),
                            kind=e.kind,
                            actor_id=e.actor.id if e.actor else None,
                            actor_role=e.actor.role.value if e.actor else None,
                            actor_department=e.actor.department if e.actor else None,
                            detail=chain.jsonable(e.detail),
                            digest=snap.digests[i] if snap.digests else None,
                        )
                        for i, (seq, e) in enumerate(enumerate(snap.events, start=snap.first_seq))
                    ],
                )
                woken = owe(
                    conn,
                    s.case_id,
                    s.version,
                    (s.department, s.first_department),
                    [
                        (seq, e.kind, utc(e.at), e.actor.department if e.actor else None, e.detail)
                        for seq, e in enumerate(snap.events, start=snap.first_seq)
                    ],
                    s.where(),
                )
            if s.status.value not in OPEN:  # closed or merged: the next complaint may open a case
                conn.execute(CLAIMS.delete().where(CLAIMS.c.case_id == s.case_id))
        return woken

    def _insert(self, table):
        return insert_for(self.engine, table)

    def _statement(self, name: str, build: Callable[[], Any]) -> Any:
        """Each write's statement is built once: building an upsert (its `excluded` columns, its
        cache key) cost more of the worker's time than running it (measured under load)."""
        statement = self._statements.get(name)
        if statement is None:
            statement = self._statements[name] = build()
        return statement

    def _upsert(self, table, keys: list[str], fields: list[str], where_newer: bool = False) -> Any:
        upsert = self._insert(table)
        return upsert.on_conflict_do_update(
            index_elements=keys,
            set_={k: upsert.excluded[k] for k in fields},
            where=table.c.version <= upsert.excluded.version if where_newer else None,
        )

    def _write_case(self, conn: Connection, snap: CaseSnapshot) -> None:
        s = snap.state
        fields = case_columns(snap, self.phone_key) | dict(updated_at=datetime.now(timezone.utc))
        conn.execute(
            self._statement("case", lambda: self._upsert(CASES, ["case_id"], list(fields), where_newer=True)),
            [dict(case_id=s.case_id, **fields)],
        )
        milestones = [
            dict(
                case_id=s.case_id,
                seq=seq,
                name=m.name,
                department=m.department,
                anchor=m.anchor,
                duration=m.duration,
                due_at=utc(m.due_at),
                done_at=utc(m.done_at),
                breached=m.breached,
                breached_at=utc(m.breached_at),
                superseded=m.superseded,
                settled=m.settled,
                estimated=m.estimated,
                anchor_at=utc(m.anchor_at),
                warned=m.warned,
                paused_seconds=m.paused_seconds,
            )
            for seq, m in enumerate(s.milestones)
        ]
        if milestones:
            changing = [k for k in milestones[0] if k not in ("case_id", "seq")]
            conn.execute(
                self._statement("milestones", lambda: self._upsert(MILESTONES, ["case_id", "seq"], changing)),
                milestones,
            )

    def case(self, case_id: str) -> CaseRow | None:
        with Session(self.engine) as session:
            return session.get(CaseRow, case_id)

    def events(self, case_id: str) -> list[EventRow]:
        with Session(self.engine) as session:
            return list(
                session.exec(
                    sm_select(EventRow).where(col(EventRow.case_id) == case_id).order_by(col(EventRow.seq))
                ).all()
            )

    def event(self, case_id: str, seq: int) -> EventRow | None:
        with Session(self.engine) as session:
            return session.get(EventRow, (case_id, seq))

    def milestones(self, case_id: str) -> list[MilestoneRow]:
        with Session(self.engine) as session:
            return list(
                session.exec(
                    sm_select(MilestoneRow).where(col(MilestoneRow.case_id) == case_id).order_by(col(MilestoneRow.seq))
                ).all()
            )

    # ---- repeat complaints (readmodel/repeats.py) -----------------------------------------

    def find_earlier_case(self, q: RepeatQuery) -> RepeatMatch | None:
        return repeats.find_earlier_case(self.engine, self.phone_key, q)

    def caller_history(self, q: CallerQuery) -> CallerHistory:
        return callers.caller_history(self.engine, self.phone_key, q)

    # ---- links -----------------------------------------------------------------------------

    def register_link(self, link: Link) -> None:
        """Keep which case a link's token stands for (by the token's SHA-256 only). Idempotent."""
        with self.engine.begin() as conn:
            conn.execute(
                self._insert(LINKS)
                .values(
                    digest=digest(link.token),
                    case_id=link.case_id,
                    purpose=link.purpose,
                    key_id=link.key_id,
                    created_at=datetime.now(timezone.utc),
                )
                .on_conflict_do_nothing(index_elements=["digest"])
            )

    def open_link(self, token: str, links: Links, purpose: str, now: datetime | None = None) -> str | None:
        """The case a link opens, or None: unknown, changed, not signed by our keys, for another
        purpose, or its case closed too long ago. The caller cannot tell which (nor may anyone)."""
        if not TOKEN.fullmatch(token):
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(LINKS).where(LINKS.c.digest == digest(token))).first()
            if row is None or row.purpose != purpose or not links.genuine(token, row.case_id, purpose, row.key_id):
                return None
            case = conn.execute(
                select(CASES.c.status, CASES.c.closed_at, CASES.c.updated_at).where(CASES.c.case_id == row.case_id)
            ).first()
        if case is None:
            return None
        ended = case.closed_at or (case.updated_at if case.status not in OPEN else None)
        return str(row.case_id) if links.still_open(utc(ended), now) else None

    # ---- the notice outbox (readmodel/outbox.py) --------------------------------------------

    def outbox_attempt(self, notice: Notice) -> None:
        outbox.attempt(self.engine, notice)

    def outbox_result(self, notice_id: str, error: str | None) -> None:
        outbox.result(self.engine, notice_id, error)

    def outbox(self, case_id: str | None = None) -> list[OutboxRow]:
        return outbox.notices(self.engine, case_id)


SAID_KEPT = 1000  # characters of what a complaint says kept for finding 类案 (readmodel/similar.py)


def said_of(title: str, description: str) -> str:
    """What a complaint says, as the case row keeps it: what 类案 are found by and the suggested
    unit's model learns and is asked by (readmodel/similar.py, readmodel/unit_model.py)."""
    return normalise(f"{title}。{description}")[:SAID_KEPT]


def case_columns(snap: CaseSnapshot, phone_key: bytes) -> dict[str, Any]:
    """The case row a snapshot makes (all but updated_at): written by `record`, and compared by the
    audit with the row it finds (starter/audit_check.py)."""
    s, c = snap.state, snap.complaint
    return dict(
        run_id=snap.run_id,
        version=s.version,
        channel=c.channel.value,
        category=s.category.value,
        track=s.track.value,
        policy=s.policy.value,
        district=c.location.district or "",
        street=c.location.street or "",
        community=c.location.community or "",
        grid=c.location.grid,
        title=c.title,
        address=c.location.address,
        lat=c.location.lat,
        long=c.location.long,
        department=s.department,
        first_department=s.first_department,
        status=s.status.value,
        escalated=s.escalated,
        escalation_reason=s.escalation_reason,
        leader_id=s.leader.id if s.leader else None,
        leader_name=s.leader.name if s.leader else None,
        reopen_count=s.reopen_count,
        satisfaction=s.satisfaction.value if s.satisfaction else None,
        repeat_of=s.repeat_of,
        merged_into=s.merged_into,
        breach_count=len(s.breaches),
        suspended=s.suspended,
        received_at=utc(s.received_at),
        resolved_at=utc(s.resolved_at),
        closed_at=utc(s.closed_at),
        complainant_hash=phone_hash(c.complainant.phone, phone_key) if c.complainant else None,
        complainant_masked=mask(c.complainant.phone) if c.complainant else None,
        chain_head=s.chain_head,
        met_milestones=sum(m.counted == "met" for m in s.milestones),
        late_milestones=sum(m.counted == "late" for m in s.milestones),
        risk_level=s.risk.level.value if s.risk and s.risk.level else None,
        risk_rank=s.risk.rank if s.risk else 0,
        caller_first=s.caller.first if s.caller else None,
        caller_previous=s.caller.previous if s.caller else None,
        said=said_of(c.title, c.description),
        suggested_unit=s.suggestion.unit if s.suggestion else None,
        suggested_by=s.suggestion.by.value if s.suggestion else None,
        suggestion_taken=s.suggestion_taken,
        **_place_fields(s),
        **_dispute_fields(s),
    )


def _place_fields(s: CaseState) -> dict[str, Any]:
    """Where the case lies in the city's tree and which units it has known (edition 7)."""
    p = s.place
    units = sorted(s.units())
    return dict(
        city_code=p.city if p else None,
        district_code=p.district if p else None,
        street_code=p.street if p else None,
        community_code=p.community if p else None,
        grid_code=p.grid if p else None,
        unplaced=s.unplaced,
        units="|" + "|".join(units) + "|" if units else None,
        place_key=s.place_key(),
    )


def snapshot_of(state: CaseState, complaint: Complaint, run_id: str) -> CaseSnapshot:
    """A whole case, all its events from the first: for rebuilding the read model."""
    return CaseSnapshot(
        complaint=complaint,
        state=state.model_copy(update={"timeline": []}),
        events=list(state.timeline),
        first_seq=0,
        run_id=run_id,
    )


def _dispute_fields(s: CaseState) -> dict[str, Any]:
    """What the statistics count of a dispute (readmodel/disputes.py)."""
    d = s.dispute
    if d is None:  # every key, always: the write's statement is built once, for one set of columns
        return dict.fromkeys(
            ("dispute_kind", "mediation_org", "mediator_id", "mediation_started_at", "agreed_at", "road")
        ) | dict(agreements=0, fulfilment_checks=0, fulfilment_honoured=0)
    checked = [h for a in d.agreements for h in a.honoured if h is not None]
    return dict(
        dispute_kind=d.kind.value,
        mediation_org=d.mediator.organisation if d.mediator else None,
        mediator_id=d.mediator.id if d.mediator else None,
        mediation_started_at=utc(d.started_at),
        agreed_at=utc(d.agreements[0].effective_at) if d.agreements else None,
        agreements=len(d.agreements),
        fulfilment_checks=len(checked),
        fulfilment_honoured=sum(checked),
        road=d.road.value if d.road else None,
    )
