"""Case states built by hand, for the rules tested without a server."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from models import CaseState, CaseStatus, LeaderRef, Milestone, RequestExtension, TimelineEvent
from models.dispute import Agreement, Dispute, MediatorRef, Obligation, Party, Session
from models.editions import LATEST, Edition
from starter import validate_command

NOW = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)

PAYLOADS: dict[str, dict[str, Any]] = {
    "dispatch": {"department": "住建局"},
    # The edge fills `place` from the code (starter.act); a test gives both, as the edge would.
    "place": {
        "code": "440311004001",
        "place": {"city": "440300", "district": "440311", "street": "440311004", "community": "440311004001"},
        "community_name": "塘家社区",
    },
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
    "send_link": {},
    # Strong signals (issue 40)
    "reassess_risk": {"level": "red", "reason": "来电称已站在楼顶"},
    "note_source_task": {"task_id": "source-0123456789", "department": "光明区住房和建设局"},
    "publish_photo": {"attachment": "ab" * 32},
    "attach": {
        "attachment": "ab" * 32,
        "kind": "photo",
        "purpose": "problem",
        "found": {"id": "ab" * 32, "kind": "photo", "purpose": "problem", "media_type": "image/jpeg", "size": 1000},
    },
    "record_response": {"note": "已电话联系诉求人并赶赴现场", "mode": "on_site"},
    # Disputes (issue 25)
    "start_mediation": {
        "kind": "tenancy",
        "parties": [
            {"side": "applicant", "name": "陈女士", "phone": "13900000001"},
            {"side": "respondent", "name": "李先生", "phone": "13900000002"},
        ],
    },
    "assign_mediator": {"mediator": {"id": "m1", "name": "虹姐", "organisation": "虹姐调解工作室"}},
    "schedule_session": {"at": "2026-11-24T10:00:00+08:00", "place": "东门街道调解室"},
    "record_session": {"attended": [1, 2], "note": "双方到场，陈述诉求"},
    "extend_mediation": {"days": 10, "parties_consent": True, "note": "双方电话同意延长"},
    "record_agreement": {
        "form": "written",
        "terms": "房东24小时内恢复供水供电",
        "obligations": [{"party": 2, "what": "恢复供水供电", "due_at": "2026-11-25T09:00:00+08:00"}],
    },
    "record_confirmation": {"outcome": "applied"},
    "record_fulfilment": {"obligation": 1, "honoured": True, "note": "已恢复"},
    "refer": {"road": "civil_litigation", "note": "未达成协议"},
    "withdraw": {"party": 1, "reason": "已自行和解"},
}
MEDIATOR = {"id": "m1", "role": "mediator", "department": "虹姐调解工作室"}


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


def dispute_in(
    status: CaseStatus, *, mediator: bool = True, session: bool = False, agreement: str | None = None
) -> CaseState:
    """A case taken to mediation, in `status` (mediating or agreed), with its mediation term open."""
    s = state_in(CaseStatus.handling)
    s.status = status
    s.community = "塘家社区"
    s.dispute = Dispute(
        kind="tenancy",
        parties=[Party.model_validate(p) for p in PAYLOADS["start_mediation"]["parties"]],
        started_at=NOW,
        mediator=MediatorRef(id="m1", name="虹姐", organisation="虹姐调解工作室") if mediator else None,
    )
    s.milestones.append(Milestone(name="mediation", due_at=NOW + timedelta(days=30), anchor="mediation"))
    if session:
        s.dispute.sessions.append(Session(at=NOW, place="调解室"))
        s.milestones.append(Milestone(name="session:1", due_at=NOW + timedelta(days=1)))
    if agreement is not None or status == CaseStatus.agreed:
        form = agreement or "written"
        s.dispute.agreements.append(
            Agreement(
                form=form,
                terms="t",
                effective_at=NOW,
                obligations=[Obligation(party=2, what="w", due_at=NOW + timedelta(days=1))],
                confirmation=None if form == "written" else "not_needed",
                honoured=[None],
            )
        )
        s.milestones[-1].done_at = NOW  # the mediation term, met by the agreement
        s.milestones.append(Milestone(name="fulfilment:1", due_at=NOW + timedelta(days=1)))
        if form == "written":
            s.milestones.append(Milestone(name="confirmation", due_at=NOW + timedelta(days=30), window=True))
    return s
