"""The read model: cases, milestones, events and the notice outbox in any SQLAlchemy database."""

from readmodel.store import ReadModel, snapshot_of
from readmodel.tables import CaseRow, EventRow, MilestoneRow, OutboxRow

__all__ = ["CaseRow", "EventRow", "MilestoneRow", "OutboxRow", "ReadModel", "snapshot_of"]
