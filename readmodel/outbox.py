"""The notice outbox: every notice the engine sends, its attempts and how they ended."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from models import Notice
from readmodel.privacy import mask
from readmodel.schema import insert_for
from readmodel.tables import OUTBOX, OutboxRow


def attempt(engine: Engine, notice: Notice) -> None:
    """A notice about to be sent: its row, or one more attempt on it."""
    row = insert_for(engine, OUTBOX).values(
        id=notice.id,
        case_id=notice.case_id,
        recipient=notice.recipient,
        kind=notice.kind.value,
        text=notice.text,
        address=mask(notice.address) if notice.address else None,
        created_at=datetime.now(timezone.utc),
        attempts=1,
    )
    with engine.begin() as conn:
        conn.execute(row.on_conflict_do_update(index_elements=["id"], set_={"attempts": OUTBOX.c.attempts + 1}))


def result(engine: Engine, notice_id: str, error: str | None) -> None:
    """How the attempt ended: sent (the first time kept), or the error."""
    change = (
        dict(sent_at=func.coalesce(OUTBOX.c.sent_at, datetime.now(timezone.utc)), last_error=None)
        if error is None
        else dict(last_error=error[:2000])
    )
    with engine.begin() as conn:
        conn.execute(update(OUTBOX).where(OUTBOX.c.id == notice_id).values(**change))


def notices(engine: Engine, case_id: str | None = None) -> list[OutboxRow]:
    with Session(engine) as session:
        query = sm_select(OutboxRow).order_by(col(OutboxRow.created_at), col(OutboxRow.id))
        if case_id:
            query = query.where(col(OutboxRow.case_id) == case_id)
        return list(session.exec(query).all())
