"""The hotline centre's callback list (待回访): cases resolved at least CALLBACK_AFTER ago that are
still waiting for a verdict (the complainant did not answer their link), oldest first. The
hotline's 回访员 phone them; the follow_up deadline itself does not change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, func, select

from readmodel.board import Filters
from readmodel.counting import C, M
from readmodel.store import ReadModel
from readmodel.tables import CASES, utc
from sla import WorkingCalendar, passed_by
from sla.policies import CALLBACK_AFTER


@dataclass
class Callback:
    case_id: str
    title: str | None
    category: str
    street: str
    department: str | None
    resolved_at: datetime
    follow_up_due: datetime | None  # the promise itself: unchanged by the list
    phone: str | None  # masked: the hotline reads the number in clear from the case itself
    reopen_count: int
    escalated: bool
    breaches: int

    def as_row(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "title": self.title,
            "category": self.category,
            "street": self.street,
            "department": self.department,
            "resolved_at": self.resolved_at.isoformat(),
            "follow_up_due": self.follow_up_due.isoformat() if self.follow_up_due else None,
            "phone": self.phone,
            "reopen_count": self.reopen_count,
        }


def callbacks_due(
    read_model: ReadModel,
    filters: Filters | None = None,
    *,
    calendar: WorkingCalendar | None = None,
    now: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Callback], int]:
    """One page of the list, and how many are on it in all."""
    now = now or datetime.now(timezone.utc)
    before = passed_by(CALLBACK_AFTER, now, calendar or WorkingCalendar())
    due = and_(C.status == "resolved", C.resolved_at < before, *(filters or Filters()).where())
    follow_up = (
        select(M.case_id, func.max(M.due_at).label("due"))
        .where(M.name == "follow_up", M.done_at.is_(None))
        .group_by(M.case_id)
        .subquery()
    )
    query = (
        select(
            C.case_id,
            C.title,
            C.category,
            C.street,
            C.department,
            C.resolved_at,
            follow_up.c.due,
            C.complainant_masked,
            C.reopen_count,
            C.escalated,
            C.breach_count,
        )
        .select_from(CASES.outerjoin(follow_up, follow_up.c.case_id == C.case_id))
        .where(due)
        .order_by(C.risk_rank.desc(), C.resolved_at, C.case_id)  # a red case's caller first (强信息)
        .limit(limit)
        .offset(offset)
    )
    with read_model.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(CASES).where(due)).scalar_one()
        rows = conn.execute(query).all()
    found = [
        Callback(
            case_id=r.case_id,
            title=r.title,
            category=r.category,
            street=r.street,
            department=r.department,
            resolved_at=utc(r.resolved_at),
            follow_up_due=utc(r.due),
            phone=r.complainant_masked,
            reopen_count=r.reopen_count,
            escalated=r.escalated,
            breaches=r.breach_count,
        )
        for r in rows
    ]
    return found, int(total)


__all__ = ["Callback", "callbacks_due"]
