"""Plain data: complaints, actors, update payloads, case state and notices."""

from models.actor import Actor, LeaderRef, Role
from models.case import OPEN_STATUSES, CaseState, CaseStatus, Milestone, TimelineEvent
from models.complaint import (
    CaseInput,
    Category,
    Channel,
    Complainant,
    Complaint,
    Location,
    Policy,
    Track,
    received_at_problem,
)
from models.notice import Notice, NoticeKind
from models.updates import (
    AssignLeader,
    Command,
    DecideExtension,
    DecideSuspension,
    Dispatch,
    Escalate,
    RecordContact,
    RecordFollowUp,
    RecordVerification,
    Reply,
    ReportIn,
    ReportProgress,
    RequestExtension,
    RequestSuspension,
    Resolve,
    Resume,
    Satisfaction,
    SubmitOpinion,
    SummonDepartments,
    Transfer,
)

CaseInput.model_rebuild()

__all__ = [
    "Actor", "AssignLeader", "CaseInput", "CaseState", "CaseStatus", "Category", "Channel", "Command",
    "Complainant", "Complaint", "DecideExtension", "DecideSuspension", "ReportIn", "RequestSuspension",
    "Resume", "SummonDepartments", "Dispatch", "Escalate", "LeaderRef", "Location",
    "Milestone", "Notice", "NoticeKind", "OPEN_STATUSES", "Policy", "RecordContact", "RecordFollowUp",
    "RecordVerification", "Reply", "ReportProgress", "RequestExtension", "Resolve", "Role",
    "Satisfaction", "SubmitOpinion", "TimelineEvent", "Track", "Transfer", "received_at_problem",
]
