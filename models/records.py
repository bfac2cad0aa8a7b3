"""What the workflow hands the read model: snapshots, repeat look-ups, and a repeat notice."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from models.case import CaseState, TimelineEvent
from models.complaint import Complaint
from models.risk import RiskMark


class CaseSnapshot(BaseModel):
    """The case as of `state.version`, with the timeline events not yet written (from first_seq)."""

    complaint: Complaint
    state: CaseState  # its timeline left empty: the events travel in `events`
    events: list[TimelineEvent]
    first_seq: int
    run_id: str
    digests: list[str] = []  # edition 4: each event's digest in the case's chain (models/chain.py)


class RepeatQuery(BaseModel):
    case_id: str
    complaint: Complaint
    received_at: datetime
    # Cases the workflow found gone (closed or ended) although the read model still had them
    # open: their claim is taken over instead of matched again.
    gone: list[str] = []
    # Edition 7: where repeats are matched, by code (CaseState.place_key); None: by community name.
    place_key: str | None = None


class RepeatMatch(BaseModel):
    case_id: str
    open: bool
    closed_at: datetime | None = None


class CallerQuery(BaseModel):
    """Whose history to count: the complainant's phone, within the case's district (its code;
    by name for a case the tree does not place), before the case was received."""

    case_id: str
    phone: str
    district_code: str | None = None
    district: str | None = None
    received_at: datetime


class RepeatComplaint(BaseModel):
    """Told to the open case that a new complaint repeats it."""

    case_id: str
    title: str
    received_at: datetime
    risk: RiskMark | None = None  # its strong signal (edition 9): the open case takes a stronger one
