"""A notice the engine sends: to the complainant, a department, the supervisor or a leader."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class NoticeKind(StrEnum):
    acknowledgement = "acknowledgement"  # to the complainant: the case is accepted
    assignment = "assignment"  # to a department: a case is yours
    breach = "breach"  # a deadline ran past due
    escalation = "escalation"  # to the supervisor and leader: 领导包案
    transfer = "transfer"  # to the complainant: why another department now handles it
    follow_up_due = "follow_up_due"  # to the complainant: resolved; give your verdict (回访评价)
    warning = "warning"  # 临期预警: a deadline is near
    summons = "summons"  # 社区吹哨: a department is summoned on site
    repeat = "repeat"  # to the department: the complainant came back about an open case
    complainant_note = "complainant_note"  # to the department: the complainant added a detail (补充说明)
    mediation = "mediation"  # a dispute: to its parties (sessions, confirmation, referral) and its mediator
    risk_alert = "risk_alert"  # to the district's duty leader: a red strong signal (强信息预警)


class Notice(BaseModel):
    case_id: str
    recipient: str  # "complainant", "supervisor", "department:<name>", "leader:<id>", "mediator:<id>", "community:<name>", "party:<n>", "duty" (the district's duty leader)
    kind: NoticeKind
    # What to say: a template of config/notices.toml and its parameters, rendered by the notifier
    # in the configured language. `text` is the rendered text (older cases sent it ready-made).
    template: str = ""
    params: dict[str, str] = Field(default_factory=dict)
    text: str = ""
    address: str | None = None  # phone for the complainant
    id: str = ""  # run id and sequence: the same notice on every retry (the outbox key)
    district: str | None = None  # edition 7: the case's district code, whose sign opens the text
