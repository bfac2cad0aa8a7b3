"""What the gateway takes and gives beyond the engine's own models, and who sees personal data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from models import CaseInput, CaseState, CaseStatus, Complaint, Policy, TimelineEvent
from models.actor import sees_personal_data as personal_data_rule
from models.scope import sees
from models.tree import Level, Tree
from readmodel.privacy import mask, mask_name, person_as_seen
from starter.cases import UnknownCase
from starter.identities import Identity
from starter.supervise import CaseSummary


class CaseFiling(BaseModel):
    """A complaint to file: the case contract's `CaseInput` as integrators send it."""

    model_config = {"extra": "forbid"}
    complaint: Complaint
    policy: Policy | None = Field(
        default=None, description="The policy to run under; none: the district's own (city-contract.md)"
    )

    def as_case_input(self) -> CaseInput:
        if self.policy is None:
            return CaseInput(complaint=self.complaint)
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


def must_see(case: CaseState, identity: Identity) -> CaseState:
    """The case, if the caller sees it (models/scope.py); else it does not exist for the caller."""
    if not sees(identity.actor, case.where()):
        raise UnknownCase(f"no case {case.case_id}")
    return case


def state_as_seen(case: CaseState, identity: Identity) -> dict[str, Any]:
    """The case's state for this caller: a dispute's parties masked as complainants are; a case
    outside its scope is an unknown one."""
    body = must_see(case, identity).model_dump(mode="json")
    if not sees_personal_data(identity, case):
        _mask_parties(body)
    return body


def case_answer(case: CaseState, complaint: Complaint, identity: Identity) -> dict[str, Any]:
    """The complaint as this caller may see it."""
    body = complaint.model_dump(mode="json", exclude={"complainant"})
    must_see(case, identity)
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


class PlaceAnswer(BaseModel):
    code: str
    name: str
    level: str = Field(description="city, district, street, community or grid")
    parent: str | None
    sample: bool = Field(description="invented for the sample, not from a published source")
    policy: str | None = Field(None, description="a district's (or a street's own) policy")
    sign: str | None = Field(None, description="a district's notice sign: 【sign】 opens its SMS")


class UnitAnswer(BaseModel):
    code: str
    name: str
    place: str
    level: str
    kind: str
    aliases: list[str]


class StationAnswer(BaseModel):
    code: str
    name: str
    place: str


class JurisdictionsAnswer(BaseModel):
    """The tree inside the caller's scope (city-contract.md): its places, units and stations."""

    scope: str | None = Field(description="the caller's scope; null: the whole city")
    places: list[PlaceAnswer]
    units: list[UnitAnswer]
    stations: list[StationAnswer]


def jurisdictions_seen(city: Tree, scope: str | None) -> JurisdictionsAnswer:
    """The part of the tree a scope sees: its own place and everything under it."""
    top = [city.places[scope]] if scope is not None and scope in city.places else []
    inside = [*top, *city.below(scope)] if scope is None or top else []
    codes = {p.code for p in inside}
    places = []
    for p in inside:
        rules = city.districts.get(p.code) or city.streets.get(p.code)
        policy = rules.policy.value if rules and rules.policy else None
        places.append(
            PlaceAnswer(
                code=p.code,
                name=p.name,
                level=p.level.value,
                parent=p.parent,
                sample=p.sample,
                policy=policy,
                sign=city.sign(p.code) if p.level == Level.district else None,
            )
        )
    units = [
        UnitAnswer(
            code=u.code,
            name=u.name,
            place=u.place,
            level=city.places[u.place].level.value,
            kind=u.kind.value,
            aliases=list(u.aliases),
        )
        for u in city.units.values()
        if u.place in codes
    ]
    stations = [
        StationAnswer(code=s.code, name=s.name, place=s.place) for s in city.stations.values() if s.place in codes
    ]
    return JurisdictionsAnswer(scope=scope, places=places, units=units, stations=stations)
