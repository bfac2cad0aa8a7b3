"""The read model: cases, milestones, events and the notice outbox in any SQLAlchemy database."""

from readmodel.anchors import Anchors, AuditKeys
from readmodel.links import Links
from readmodel.privacy import load_key
from readmodel.store import ReadModel, snapshot_of
from readmodel.tables import CaseRow, EventRow, MilestoneRow, OutboxRow
from runtime import keys, settings


def links_of(config: settings.Settings | None = None) -> Links:
    """The complainants' links as the settings make them (COMPLAINTS_LINK_KEYS, COMPLAINTS_PUBLIC_URL)."""
    config = config or settings.load()
    keyring = keys.load(config.link_keys, config.link_key_file, setting_name="COMPLAINTS_LINK_KEYS", what="link")
    return Links(keyring, config.public_url)


def audit_keys_of(config: settings.Settings | None = None) -> AuditKeys:
    """The engine's Ed25519 audit keys (COMPLAINTS_AUDIT_KEYS; a dev key file otherwise)."""
    config = config or settings.load()
    keyring = keys.load(
        config.audit_keys, config.audit_key_file, setting_name="COMPLAINTS_AUDIT_KEYS", what="audit signing"
    )
    return AuditKeys(keyring)


def open_read_model(config: settings.Settings | None = None) -> ReadModel:
    """The read model the settings name (COMPLAINTS_DB_URL, COMPLAINTS_PHONE_KEY)."""
    config = config or settings.load()
    return ReadModel(config.db_url, load_key(config.phone_key, config.phone_key_file))


__all__ = [
    "Anchors",
    "AuditKeys",
    "audit_keys_of",
    "Links",
    "links_of",
    "CaseRow",
    "EventRow",
    "MilestoneRow",
    "OutboxRow",
    "ReadModel",
    "open_read_model",
    "snapshot_of",
]
