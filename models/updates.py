"""Payloads of the case updates. Every one carries the actor who acts."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, Field, field_validator

from models.actor import Actor, LeaderRef
from models.base import CaseRef, LongText, PersonText, ShortText, Strict
from models.evidence import SHA256, Attachment, Kind, Purpose
from models.risk import RiskLevel
from models.tree import PlaceCodes


class Command(Strict):
    actor: Actor
    # The case version the sender saw (HTTP If-Match): refused, changing nothing, if the case moved on.
    expected_version: int | None = Field(default=None, ge=0)


class Dispatch(Command):
    department: ShortText


class PlaceCase(Command):
    """Places an unplaced case (待定位) in the tree: `code` names the place; the edge fills in
    `place` (its codes from the city down) and `community_name` from the tree."""

    code: ShortText
    place: PlaceCodes | None = None
    community_name: ShortText | None = None


class RecordContact(Command):
    note: LongText
    reached: bool = True  # False: an attempt that failed (无人接听, 号码错误); it is recorded and counts


class RecordVerification(Command):
    findings: LongText


class Reply(Command):
    message: LongText


class SubmitOpinion(Command):
    """《群众诉求处理意见书》: findings, handling, next steps."""

    findings: LongText
    handling: LongText
    next_steps: LongText


class ReportProgress(Command):
    note: LongText


class Transfer(Command):
    to_department: ShortText
    explanation: LongText  # told to the complainant: why it is not ours


class RequestExtension(Command):
    reason: LongText
    until: AwareDatetime


class DecideExtension(Command):
    approve: bool
    note: LongText | None = None


class Resolve(Command):
    resolution: LongText


class Satisfaction(StrEnum):
    satisfied = "satisfied"
    basically_satisfied = "basically_satisfied"
    dissatisfied = "dissatisfied"
    unreachable = "unreachable"


class RecordFollowUp(Command):
    """The follow-up visit (回访): whether the problem was solved (是否解决) and whether the
    complainant is satisfied. `resolved` is left out when nobody answered, and by follow-ups
    recorded before it was asked."""

    satisfaction: Satisfaction
    resolved: bool | None = None
    note: LongText | None = None


class AddNote(Command):
    """A detail the complainant adds (补充说明), through their link or by phone to the hotline."""

    note: PersonText


class SendLink(Command):
    """Send the complainant their case's link again by SMS (a caller who lost it)."""


class Attach(Command):
    """Evidence on the case (issue 38): an upload of this case, named by its digest, as `kind` for
    `purpose`. `found` is the engine's: the upload's facts, set at the edge (a client's is replaced)."""

    attachment: str = Field(pattern=SHA256)
    kind: Kind
    purpose: Purpose
    note: ShortText | None = None
    found: Attachment | None = None


class PublishPhoto(Command):
    """A supervisor shows one of the case's photos publicly (Open311's media_url), with a region
    covered by a black box first (`box`: left, top, right, bottom, fractions of the width and
    height): then a new photo is made and shown, and the original stays private. `published` is
    the engine's: the covered copy's facts, set at the edge (a client's is replaced)."""

    attachment: str = Field(pattern=SHA256)
    box: list[Annotated[float, Field(ge=0, le=1)]] | None = Field(default=None, min_length=4, max_length=4)
    published: Attachment | None = None

    @field_validator("box")
    @classmethod
    def _a_box(cls, box: list[float] | None) -> list[float] | None:
        if box is not None and not (box[0] < box[2] and box[1] < box[3]):
            raise ValueError("box: left < right and top < bottom, as fractions of the photo")
        return box


class NoteSourceTask(Command):
    """The case is one of a 类案 handed to a unit as one 源头治理 task: its timeline says so."""

    task_id: CaseRef
    department: ShortText  # the unit the task went to


class Escalate(Command):
    reason: LongText


class ReassessRisk(Command):
    """A supervisor sets the case's strong-signal level (null: none), saying why: the rules missed
    a danger, or saw one that is not there."""

    level: RiskLevel | None
    reason: LongText


class ResponseMode(StrEnum):
    on_site = "on_site"  # 到场
    phone = "phone"  # 电话
    video = "video"  # 视频


class RecordResponse(Command):
    """A leader of the case's district has taken up a red case (强信息 响应): what they did."""

    note: LongText
    mode: ResponseMode | None = None


class AssignLeader(Command):
    leader: LeaderRef


class RequestSuspension(Command):
    """Stop the resolve clock while the case waits on something outside the department."""

    reason: LongText


class DecideSuspension(Command):
    approve: bool
    note: LongText | None = None


class Resume(Command):
    note: LongText | None = None


class SummonDepartments(Command):
    """The community's numbered notice (《通知》) summoning departments on site (社区吹哨)."""

    notice_no: ShortText
    departments: list[ShortText] = Field(min_length=1, max_length=30)
    reason: LongText
    meet_at: AwareDatetime | None = None

    @field_validator("departments")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each department once")
        return value


class ReportIn(Command):
    """A summoned department has reported (部门报到)."""

    note: LongText
