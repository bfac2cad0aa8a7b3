"""A dispute between people (矛盾纠纷): its parties, its mediator, the sessions and the agreement.

A complaint becomes a dispute when it is taken to mediation (`start_mediation`); the case keeps
its history and its own clocks. The transitions are CaseState's (models/case.py), the clocks are
sla/policies.py's (人民调解法, 劳动争议调解仲裁法), the updates are rows of models/commands.py."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, Field, field_validator, model_validator

from models.base import LongText, Name, Phone, ShortText, Strict
from models.updates import Command
from sla.policies import MEDIATION_EXTENSION_MAX_DAYS


class DisputeKind(StrEnum):
    labour = "labour"  # 劳动争议: 劳动争议调解仲裁法
    tenancy = "tenancy"
    neighbour = "neighbour"
    property_management = "property_management"
    consumer = "consumer"
    family = "family"
    other = "other"


# What GET /v1/cases?kind= takes: every dispute, or one kind of them.
KIND_FILTERS = ("dispute", *(k.value for k in DisputeKind))


class PartySide(StrEnum):
    applicant = "applicant"  # 申请人
    respondent = "respondent"  # 被申请人


class Party(Strict):
    """One side of the dispute: a person or an organisation. Name and phone are personal data:
    encrypted with the case in Temporal, masked for whoever does not handle the case."""

    side: PartySide
    name: Name
    phone: Phone
    organisation: bool = False  # a company or a property manager rather than a person


class MediatorRef(Strict):
    """A people's mediator or legal commissioner (法律顾问) and the organisation they mediate for."""

    id: ShortText
    name: Name
    organisation: ShortText  # the mediation committee or room: 虹姐调解工作室


class AgreementForm(StrEnum):
    written = "written"  # 人民调解法 第二十九条: effective once the parties and the mediator sign
    oral = "oral"  # 第二十八条: effective when reached; the mediator records it


class Obligation(Strict):
    """What one party must do by when: the fulfilment check (履行回访) falls due then."""

    party: int = Field(ge=1, le=20)  # its place in the dispute's parties, from 1
    what: LongText
    due_at: AwareDatetime


class Confirmation(StrEnum):
    """司法确认 (人民调解法 第三十三条): whether the parties applied to a court in time."""

    applied = "applied"
    not_applied = "not_applied"
    not_needed = "not_needed"


class Road(StrEnum):
    """Where a dispute goes when mediation ends without an agreement (or one not honoured)."""

    labour_arbitration = "labour_arbitration"  # 劳动争议仲裁
    civil_litigation = "civil_litigation"  # 民事诉讼
    administrative_reconsideration = "administrative_reconsideration"  # 行政复议
    other = "other"


class Session(Strict):
    at: AwareDatetime
    place: ShortText
    attended: list[int] | None = None  # the parties who came; None until it is recorded
    note: LongText | None = None


class Agreement(Strict):
    form: AgreementForm
    terms: LongText
    effective_at: AwareDatetime
    obligations: list[Obligation]
    confirmation: Confirmation | None = None
    honoured: list[bool | None] = Field(default_factory=list)  # one per obligation, as checked


class Dispute(Strict):
    kind: DisputeKind
    parties: list[Party]
    amount: float | None = None  # 涉及金额, yuan
    started_at: datetime  # when mediation was applied for: the labour term counts from here
    mediator: MediatorRef | None = None
    sessions: list[Session] = Field(default_factory=list)
    agreements: list[Agreement] = Field(default_factory=list)  # the last one is in force
    extended: bool = False  # the mediation term was extended (once, with the parties' consent)
    road: Road | None = None  # referred: where to
    limitation_ends: date | None = None  # labour: the arbitration limitation, as information

    @property
    def agreement(self) -> Agreement | None:
        return self.agreements[-1] if self.agreements else None


# ---- the updates' payloads --------------------------------------------------------------------


class DisputeFiling(Strict):
    """What makes a case a dispute: its kind, its parties and the amount involved."""

    kind: DisputeKind
    parties: list[Party] = Field(min_length=2, max_length=20)
    amount: float | None = Field(default=None, ge=0)

    @field_validator("parties")
    @classmethod
    def _both_sides(cls, parties: list[Party]) -> list[Party]:
        sides = {p.side for p in parties}
        if sides != {PartySide.applicant, PartySide.respondent}:
            raise ValueError("at least one applicant (申请人) and one respondent (被申请人)")
        return parties


class StartMediation(Command, DisputeFiling):
    note: LongText | None = None


class AssignMediator(Command):
    mediator: MediatorRef


class ScheduleSession(Command):
    at: AwareDatetime
    place: ShortText


class RecordSession(Command):
    attended: list[Annotated[int, Field(ge=1, le=20)]] = Field(max_length=20)  # the parties who came, from 1
    note: LongText


class ExtendMediation(Command):
    """Once, by a supervisor, with every party's consent recorded (the note says how it was given)."""

    days: int = Field(ge=1, le=MEDIATION_EXTENSION_MAX_DAYS)
    parties_consent: bool
    note: LongText

    @field_validator("parties_consent")
    @classmethod
    def _consent(cls, value: bool) -> bool:
        if not value:
            raise ValueError("the mediation term is extended only with the parties' consent")
        return value


class RecordAgreement(Command):
    form: AgreementForm
    terms: LongText
    effective_at: AwareDatetime | None = None  # default: now
    obligations: list[Obligation] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _due_after_effect(self) -> RecordAgreement:
        if self.effective_at is not None:
            for n, o in enumerate(self.obligations):
                if o.due_at < self.effective_at:
                    raise ValueError(f"obligations[{n}].due_at is before the agreement takes effect")
        return self


class RecordConfirmation(Command):
    outcome: Confirmation
    note: LongText | None = None


class RecordFulfilment(Command):
    obligation: int = Field(ge=1, le=20)  # its place in the agreement's obligations, from 1
    honoured: bool
    note: LongText


class Refer(Command):
    road: Road
    # Labour: when the applicant knew (or should have known) of the infringement (第二十七条).
    known_since: date | None = None
    note: LongText


class Withdraw(Command):
    party: int = Field(ge=1, le=20)  # the party who withdraws, from 1
    reason: LongText
