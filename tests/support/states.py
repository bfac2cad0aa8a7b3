"""Case states built by hand, for the rules tested without a server."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from models import CaseState, CaseStatus, LeaderRef, Milestone, RequestExtension, TimelineEvent
from models.editions import LATEST, Edition
from starter import validate_command

NOW = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)

PAYLOADS: dict[str, dict[str, Any]] = {
    "dispatch": {"department": "住建局"},
    "record_contact": {"note": "n"},
    "record_verification": {"findings": "f"},
    "reply": {"message": "m"},
    "submit_opinion": {"findings": "f", "handling": "h", "next_steps": "n"},
    "report_progress": {"note": "n"},
    "transfer": {"to_department": "水务局", "explanation": "e"},
    "request_extension": {"reason": "r", "until": "2027-06-01T00:00:00+08:00"},
    "decide_extension": {"approve": True},
    "resolve": {"resolution": "r"},
    "record_follow_up": {"satisfaction": "satisfied"},
    "escalate": {"reason": "r"},
    "assign_leader": {"leader": {"id": "L1", "name": "张书记"}},
    "request_suspension": {"reason": "等待法院裁定"},
    "decide_suspension": {"approve": True},
    "resume": {},
    "summon_departments": {"notice_no": "光明〔2026〕1号", "departments": ["水务局"], "reason": "r"},
    "report_in": {"note": "n"},
    "add_note": {"note": "楼道里的水管也漏了"},
}


def state_in(
    status: CaseStatus,
    *,
    escalated: bool = False,
    leader: bool = False,
    pending: bool = False,
    edition: Edition = LATEST,
) -> CaseState:
    s = CaseState(
        case_id="c1",
        edition=edition,
        policy="1030",
        track="routine",
        category="property",
        received_at=NOW,
        status=status,
        department="住建局" if status != CaseStatus.received else None,
        escalated=escalated,
        leader=LeaderRef(id="L1", name="张书记") if leader else None,
    )
    s.milestones.append(Milestone(name="resolve", due_at=NOW + timedelta(days=60)))
    if status != CaseStatus.received:  # dispatched, and the department has phoned the complainant
        s.timeline += [TimelineEvent(at=NOW, kind="dispatched"), TimelineEvent(at=NOW, kind="contacted")]
    if pending:
        request = validate_command(
            "request_extension", {"actor": {"id": "h", "role": "handler"}, **PAYLOADS["request_extension"]}
        )
        assert isinstance(request, RequestExtension)
        s.pending_extension = request
    return s
