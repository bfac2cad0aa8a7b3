"""The read model: cases, milestones, events and the notice outbox in any SQLAlchemy database."""

from readmodel.privacy import load_key
from readmodel.store import ReadModel, snapshot_of
from readmodel.tables import CaseRow, EventRow, MilestoneRow, OutboxRow
from runtime import settings


def open_read_model(config: settings.Settings | None = None) -> ReadModel:
    """The read model the settings name (COMPLAINTS_DB_URL, COMPLAINTS_PHONE_KEY)."""
    config = config or settings.load()
    return ReadModel(config.db_url, load_key(config.phone_key, config.phone_key_file))


__all__ = ["CaseRow", "EventRow", "MilestoneRow", "OutboxRow", "ReadModel", "open_read_model", "snapshot_of"]
