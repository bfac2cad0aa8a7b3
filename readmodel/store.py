"""Read-model writes and look-ups. Every write is idempotent: a retried or replayed activity
never duplicates or reorders a row, so the database always matches the workflows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, overload

from sqlalchemy import and_, event, func, not_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import Session, SQLModel, col, create_engine
from sqlmodel import select as sm_select

from models import OPEN_STATUSES, CaseState, Complaint, Notice, chain
from models.records import CaseSnapshot, RepeatMatch, RepeatQuery
from readmodel.links import TOKEN, Link, Links, digest
from readmodel.privacy import mask, phone_hash
from readmodel.tables import CaseRow, ClaimRow, EventRow, LinkRow, MilestoneRow, OutboxRow, table_of
from readmodel.webhooks import owe
from sla.policies import PATROL_WINDOW, REPEAT_WINDOW

CASES, MILESTONES, EVENTS, OUTBOX, CLAIMS, LINKS = (
    table_of(t) for t in (CaseRow, MilestoneRow, EventRow, OutboxRow, ClaimRow, LinkRow)
)
OPEN = tuple(s.value for s in OPEN_STATUSES)  # as text, the way the tables hold it


@overload
def utc(moment: datetime) -> datetime: ...
@overload
def utc(moment: None) -> None: ...
def utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: everything is stored and read as UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # A fresh data directory is normal (first run, a test's tmp dir): SQLite makes the file, not the folder.
        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    engine = create_engine(url, pool_pre_ping=True)

    @event.listens_for(engine, "connect")
    def _no_jit(conn, _record) -> None:
        # The console's and the board's queries are many and short: compiling them cost more than
        # it saved (bench/city.py: 230 ms of a 900 ms board query at a million cases). A SET, not
        # a startup option, which connection poolers such as PgBouncer refuse.
        cur = conn.cursor()
        cur.execute("SET jit = off")
        cur.close()
        conn.commit()  # a SET in a transaction rolled back would be undone

    return engine


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
        """INSERT with ON CONFLICT, in the dialect at hand (SQLite and PostgreSQL both have it)."""
        return (postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert)(table)

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

    # ---- repeat complaints -----------------------------------------------------------------

    def find_earlier_case(self, q: RepeatQuery) -> RepeatMatch | None:
        """The case this complaint repeats: an open one (to merge into), else one closed recently.
        For a complainant the look-up and the claim of "the open case" are one transaction, so
        complaints filed at the same instant end as one open case and the rest merged into it."""
        c: Complaint = q.complaint
        if c.complainant is None:
            return self._earlier_patrol_case(q)
        person = phone_hash(c.complainant.phone, self.phone_key)
        key = f"{person}|{c.category.value}|{q.place_key or c.location.community}"
        now = datetime.now(timezone.utc)
        with self.engine.begin() as conn:
            conn.execute(
                self._insert(CLAIMS)
                .values(key=key, case_id=q.case_id, claimed_at=now)
                .on_conflict_do_nothing(index_elements=["key"])
            )
            holder = self._holder(conn, key)
            if holder != q.case_id:
                if self._still_open(conn, holder, q.gone):
                    return RepeatMatch(case_id=holder, open=True)
                # It closed, and its release has not landed (or it ended without one): take over.
                conn.execute(
                    update(CLAIMS)
                    .where(CLAIMS.c.key == key, CLAIMS.c.case_id == holder)
                    .values(case_id=q.case_id, claimed_at=now)
                )
                holder = self._holder(conn, key)
                if holder != q.case_id:  # another complaint took it over first
                    return RepeatMatch(case_id=holder, open=True)
            rows = _candidates(conn, q, CASES.c.complainant_hash == person)
            older = _oldest_open(rows)
            if older is not None:  # filed before claims existed: the oldest open case keeps the claim
                conn.execute(update(CLAIMS).where(CLAIMS.c.key == key).values(case_id=older))
                return RepeatMatch(case_id=older, open=True)
        return _recently_closed(rows, utc(q.received_at), REPEAT_WINDOW)

    @staticmethod
    def _holder(conn: Connection, key: str) -> str:
        return conn.execute(select(CLAIMS.c.case_id).where(CLAIMS.c.key == key)).scalar_one()

    @staticmethod
    def _still_open(conn: Connection, case_id: str, gone: list[str]) -> bool:
        if case_id in gone:
            return False
        status = conn.execute(select(CASES.c.status).where(CASES.c.case_id == case_id)).scalar_one_or_none()
        return status is None or status in OPEN  # no row yet: it claimed a moment ago

    def _earlier_patrol_case(self, q: RepeatQuery) -> RepeatMatch | None:
        """Nobody complained: a grid worker's find repeats one in the same grid within days."""
        c, received = q.complaint, utc(q.received_at)
        with self.engine.begin() as conn:
            rows = _candidates(
                conn,
                q,
                CASES.c.complainant_hash.is_(None),
                CASES.c.grid == c.location.grid,
                CASES.c.received_at >= received - PATROL_WINDOW,
            )
        older = _oldest_open(rows)
        if older is not None:
            return RepeatMatch(case_id=older, open=True)
        return _recently_closed(rows, received, PATROL_WINDOW)

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

    # ---- outbox ----------------------------------------------------------------------------

    def outbox_attempt(self, notice: Notice) -> None:
        row = self._insert(OUTBOX).values(
            id=notice.id,
            case_id=notice.case_id,
            recipient=notice.recipient,
            kind=notice.kind.value,
            text=notice.text,
            address=mask(notice.address) if notice.address else None,
            created_at=datetime.now(timezone.utc),
            attempts=1,
        )
        with self.engine.begin() as conn:
            conn.execute(row.on_conflict_do_update(index_elements=["id"], set_={"attempts": OUTBOX.c.attempts + 1}))

    def outbox_result(self, notice_id: str, error: str | None) -> None:
        change = (
            dict(sent_at=func.coalesce(OUTBOX.c.sent_at, datetime.now(timezone.utc)), last_error=None)
            if error is None
            else dict(last_error=error[:2000])
        )
        with self.engine.begin() as conn:
            conn.execute(update(OUTBOX).where(OUTBOX.c.id == notice_id).values(**change))

    def outbox(self, case_id: str | None = None) -> list[OutboxRow]:
        with Session(self.engine) as session:
            query = sm_select(OutboxRow).order_by(col(OutboxRow.created_at), col(OutboxRow.id))
            if case_id:
                query = query.where(col(OutboxRow.case_id) == case_id)
            return list(session.exec(query).all())


def add_missing_columns(engine: Engine) -> None:
    """Tables made by an earlier version gain the columns and indexes added since (create_all
    adds none to a table that exists)."""
    from sqlalchemy import inspect, text

    inspector = inspect(engine)
    added: set[str] = set()
    with engine.begin() as conn:
        for table in SQLModel.metadata.sorted_tables:
            have = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in have:
                    continue
                added.add(f"{table.name}.{column.name}")
                kind = column.type.compile(dialect=engine.dialect)
                default = (
                    getattr(column.default, "arg", None)
                    if column.default is not None and column.default.is_scalar
                    else None
                )
                literal = (
                    "" if default is None else f" DEFAULT {int(default) if isinstance(default, bool) else default}"
                )
                if engine.dialect.name == "postgresql" and isinstance(default, bool):
                    literal = f" DEFAULT {str(default).lower()}"
                conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}{literal}'))
        if "cases.met_milestones" in added or "cases.late_milestones" in added:
            count_milestones(conn)
    for table in SQLModel.metadata.sorted_tables:  # and the indexes added since
        for index in table.indexes:
            index.create(engine, checkfirst=True)


def count_milestones(conn: Connection) -> None:
    """Each case's met and already-late milestones, counted from its milestone rows: for rows
    written before the case row kept them (what case_columns counts from the state)."""
    m = MILESTONES.c
    moved = and_(m.superseded, func.coalesce(m.settled, "") != "missed")

    def count(condition: Any) -> Any:
        return select(func.count()).where(m.case_id == CASES.c.case_id, condition).scalar_subquery()

    conn.execute(
        CASES.update().values(
            met_milestones=count(and_(m.done_at.is_not(None), not_(m.breached), not_(moved))),
            late_milestones=count(and_(m.breached, not_(moved))),
        )
    )


def _candidates(conn: Connection, q: RepeatQuery, *who: Any) -> Sequence[Any]:
    """Earlier cases, not merged, in the complaint's category and community, of this person or
    place (`who`): the rows both look-ups choose from."""
    c = q.complaint
    return conn.execute(
        select(CASES.c.case_id, CASES.c.status, CASES.c.received_at, CASES.c.closed_at).where(
            CASES.c.case_id != q.case_id,
            CASES.c.case_id.not_in(q.gone),
            CASES.c.category == c.category.value,
            CASES.c.place_key == q.place_key if q.place_key else CASES.c.community == c.location.community,
            CASES.c.merged_into.is_(None),
            *who,
        )
    ).all()


def _oldest_open(rows: Sequence[Any]) -> str | None:
    open_rows = sorted((r for r in rows if r.status in OPEN), key=lambda r: utc(r.received_at))
    return open_rows[0].case_id if open_rows else None


def _recently_closed(rows: Sequence[Any], received: datetime | None, window: timedelta) -> RepeatMatch | None:
    assert received is not None
    closed = [r for r in rows if r.status == "closed" and r.closed_at and utc(r.closed_at) >= received - window]
    if not closed:
        return None
    latest = max(closed, key=lambda r: utc(r.closed_at))
    return RepeatMatch(case_id=latest.case_id, open=False, closed_at=utc(latest.closed_at))


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
