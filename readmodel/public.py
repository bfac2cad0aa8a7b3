"""The cases as the public may see them (Open311's GETs): no personal data is in these columns."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from models.case import FINISHED
from readmodel.store import ReadModel
from readmodel.tables import OPEN, CaseRow, MilestoneRow

MAX_RESULTS = 1000


def public_cases(
    read_model: ReadModel,
    *,
    ids: list[str] | None = None,
    categories: list[str] | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[tuple[CaseRow, datetime | None]]:
    """Cases newest first (at most MAX_RESULTS), each with its latest resolve deadline. `status`:
    "open" or "closed" (finished: closed or merged); None for both."""
    query = select(CaseRow)
    if ids is not None:
        query = query.where(col(CaseRow.case_id).in_(ids))
    if categories:
        query = query.where(col(CaseRow.category).in_(categories))
    if status == "open":
        query = query.where(col(CaseRow.status).in_(OPEN))
    elif status == "closed":
        query = query.where(col(CaseRow.status).in_([s.value for s in FINISHED]))
    if since is not None:
        query = query.where(col(CaseRow.received_at) >= since)
    if until is not None:
        query = query.where(col(CaseRow.received_at) <= until)
    query = query.order_by(col(CaseRow.received_at).desc()).limit(MAX_RESULTS)
    with Session(read_model.engine) as session:
        rows = list(session.exec(query).all())
        due: dict[str, datetime] = {}
        if rows:
            milestones = session.exec(
                select(MilestoneRow)
                .where(col(MilestoneRow.case_id).in_([r.case_id for r in rows]), col(MilestoneRow.name) == "resolve")
                .order_by(col(MilestoneRow.seq))
            ).all()
            due = {m.case_id: m.due_at for m in milestones}  # the latest resolve clock wins
    return [(r, due.get(r.case_id)) for r in rows]


def published_photos(read_model: ReadModel, ids: list[str]) -> dict[str, str]:
    """The photo each case shows the public (the latest `photo_published`, issue 38): case -> digest."""
    from sqlalchemy import select as plain

    from readmodel.tables import EVENTS

    if not ids:
        return {}
    query = (
        plain(EVENTS.c.case_id, EVENTS.c.detail)
        .where(EVENTS.c.case_id.in_(ids), EVENTS.c.kind == "photo_published")
        .order_by(EVENTS.c.seq)
    )
    with read_model.engine.connect() as conn:
        return {r.case_id: str(r.detail["digest"]) for r in conn.execute(query)}
