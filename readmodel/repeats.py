"""Repeat complaints (重复件): the earlier case a complaint repeats, by the same person about the
same thing in the same place, or a grid worker's find in the same grid. The rule's windows are
sla/policies.py's; this is its look-up in the read model, and the claim that makes complaints
filed at the same instant one open case."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from models import Complaint
from models.records import RepeatMatch, RepeatQuery
from readmodel.privacy import phone_hash
from readmodel.schema import insert_for
from readmodel.tables import CASES, CLAIMS, OPEN, utc
from sla.policies import PATROL_WINDOW, REPEAT_WINDOW


def find_earlier_case(engine: Engine, phone_key: bytes, q: RepeatQuery) -> RepeatMatch | None:
    """The case this complaint repeats: an open one (to merge into), else one closed recently.
    For a complainant the look-up and the claim of "the open case" are one transaction, so
    complaints filed at the same instant end as one open case and the rest merged into it."""
    c: Complaint = q.complaint
    if c.complainant is None:
        return _earlier_patrol_case(engine, q)
    person = phone_hash(c.complainant.phone, phone_key)
    key = f"{person}|{c.category.value}|{q.place_key or c.location.community}"
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        conn.execute(
            insert_for(engine, CLAIMS)
            .values(key=key, case_id=q.case_id, claimed_at=now)
            .on_conflict_do_nothing(index_elements=["key"])
        )
        holder = _holder(conn, key)
        if holder != q.case_id:
            if _still_open(conn, holder, q.gone):
                return RepeatMatch(case_id=holder, open=True)
            # It closed, and its release has not landed (or it ended without one): take over.
            conn.execute(
                update(CLAIMS)
                .where(CLAIMS.c.key == key, CLAIMS.c.case_id == holder)
                .values(case_id=q.case_id, claimed_at=now)
            )
            holder = _holder(conn, key)
            if holder != q.case_id:  # another complaint took it over first
                return RepeatMatch(case_id=holder, open=True)
        rows = _candidates(conn, q, CASES.c.complainant_hash == person)
        older = _oldest_open(rows)
        if older is not None:  # filed before claims existed: the oldest open case keeps the claim
            conn.execute(update(CLAIMS).where(CLAIMS.c.key == key).values(case_id=older))
            return RepeatMatch(case_id=older, open=True)
    return _recently_closed(rows, utc(q.received_at), REPEAT_WINDOW)


def _holder(conn: Connection, key: str) -> str:
    return conn.execute(select(CLAIMS.c.case_id).where(CLAIMS.c.key == key)).scalar_one()


def _still_open(conn: Connection, case_id: str, gone: list[str]) -> bool:
    if case_id in gone:
        return False
    status = conn.execute(select(CASES.c.status).where(CASES.c.case_id == case_id)).scalar_one_or_none()
    return status is None or status in OPEN  # no row yet: it claimed a moment ago


def _earlier_patrol_case(engine: Engine, q: RepeatQuery) -> RepeatMatch | None:
    """Nobody complained: a grid worker's find repeats one in the same grid within days."""
    c, received = q.complaint, utc(q.received_at)
    with engine.begin() as conn:
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
