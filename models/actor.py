"""Who acts on a case."""

from __future__ import annotations

from enum import StrEnum

from models.base import Name, ShortText, Strict


class Role(StrEnum):
    dispatcher = "dispatcher"
    handler = "handler"
    leader = "leader"
    supervisor = "supervisor"
    community = "community"  # a community's party secretary: department names the community
    auditor = "auditor"  # reads everything, changes nothing: no update admits this role
    # The person who complained, through the link in their SMS: the actor's id names the case
    # (complainant:<case id>), never a name or a phone. No identity has this role.
    complainant = "complainant"
    # A people's mediator or legal commissioner (人民调解员、法律顾问): department names the mediation
    # organisation (the committee or room). Acts only on the disputes assigned to them.
    mediator = "mediator"


class Actor(Strict):
    id: ShortText
    role: Role
    department: ShortText | None = None
    # The place code of the part of the tree it answers for (city-contract.md); None: the whole
    # tree. Set from the caller's identity, never from what a client sends.
    scope: ShortText | None = None


def complainant_of(case_id: str) -> Actor:
    """The complainant of a case as an actor: made by the engine from a verified link, never sent."""
    return Actor(id=f"complainant:{case_id}", role=Role.complainant)


class LeaderRef(Strict):
    """The division-level leader who takes over an escalated case (领导包案)."""

    id: ShortText
    name: Name


def sees_personal_data(
    viewer: Actor,
    department: str | None,
    first_department: str | None,
    leader_id: str | None,
    mediator_id: str | None = None,
    dispute_community: str | None = None,
) -> bool:
    """Names and phones in clear only for those who handle or supervise the case: supervisors, the
    dispatchers who take complaints in, the handlers of its (first) department and its leader; for
    a dispute, also its mediator and the community it is mediated in. Auditors and everyone else
    see them masked. One rule for GET /v1/cases/{id}, update answers and webhooks."""
    if viewer.role in (Role.supervisor, Role.dispatcher):
        return True
    if viewer.role == Role.mediator:
        return mediator_id is not None and viewer.id == mediator_id
    if viewer.role == Role.community and dispute_community is not None:
        return viewer.department == dispute_community
    if viewer.role == Role.handler:
        return viewer.department is not None and viewer.department in (department, first_department)
    if viewer.role == Role.leader:
        return leader_id is not None and leader_id == viewer.id
    return False
