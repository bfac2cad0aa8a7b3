"""What the gateway takes and gives beyond the engine's own models, and who sees personal data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from models import CaseInput, CaseState, CaseStatus, Complaint, Policy, TimelineEvent
from models.actor import sees_personal_data as personal_data_rule
from readmodel.privacy import mask, mask_name, person_as_seen
from starter.identities import Identity
from starter.supervise import CaseSummary


class CaseFiling(BaseModel):
    """A complaint to file: the case contract's `CaseInput` as integrators send it."""

    model_config = {"extra": "forbid"}
    complaint: Complaint
    policy: Policy = Policy.p1030

    def as_case_input(self) -> CaseInput:
        return CaseInput(complaint=self.complaint, policy=self.policy)


class ComplainantAnswer(BaseModel):
    name: str
    phone: str
    email: str | None = None
    masked: bool = Field(description="true: name and phone are masked for this caller")


class ComplaintAnswer(BaseModel):
    channel: str
    dispute: dict[str, Any] | None = None
    category: str
    track: str
    title: str
    description: str
    location: dict[str, Any]
    media_url: str | None = None
    received_at: datetime | None = None
    complainant: ComplainantAnswer | None = None


class CaseAnswer(CaseState):
    """The case's state, and the complaint as filed."""

    complaint: ComplaintAnswer


class CaseList(BaseModel):
    cases: list[CaseSummary]
    next_page_token: str | None = Field(description="Pass it back for the next page; null on the last")


class TimelineAnswer(BaseModel):
    case_id: str
    status: CaseStatus
    runs: int = Field(description="Workflow runs that carried the case (a long case continues as new)")
    timeline: list[TimelineEvent]


def sees_personal_data(identity: Identity, case: CaseState) -> bool:
    """Names and phones in clear only for those who handle or supervise the case (models.actor)."""
    d = case.dispute
    return personal_data_rule(
        identity.actor,
        case.department,
        case.first_department,
        case.leader.id if case.leader else None,
        d.mediator.id if d and d.mediator else None,
        case.community if d else None,
    )


def state_as_seen(case: CaseState, identity: Identity) -> dict[str, Any]:
    """The case's state for this caller: a dispute's parties masked as complainants are."""
    body = case.model_dump(mode="json")
    if not sees_personal_data(identity, case):
        _mask_parties(body)
    return body


def case_answer(case: CaseState, complaint: Complaint, identity: Identity) -> dict[str, Any]:
    """The complaint as this caller may see it."""
    body = complaint.model_dump(mode="json", exclude={"complainant"})
    clear = sees_personal_data(identity, case)
    person = complaint.complainant
    if person is not None:
        seen = person_as_seen(person.name, person.phone, person.email, clear)
        body["complainant"] = ComplainantAnswer.model_validate(seen).model_dump(mode="json")
    if not clear:  # filed as a dispute: its parties, as the case's are
        _mask_parties(body)
    return body


def _mask_parties(body: dict[str, Any]) -> None:
    """A dispute's parties in a state's or a complaint's body, masked as a complainant is."""
    for party in (body.get("dispute") or {}).get("parties", []):
        party.update(name=mask_name(party["name"]), phone=mask(party["phone"]))
