"""The read model's tables: one row per case, its milestones, its events (append-only), the outbox."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, overload

from sqlalchemy import JSON, Column, DateTime, Dialect, Index, LargeBinary, Table, and_, func
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from models import OPEN_STATUSES


class UtcDateTime(TypeDecorator[datetime]):
    """A moment, always in UTC on its way in and out. SQLite keeps it as text without an offset
    and compares it as text, so every value bound to it (a row, or a bound in a query given in
    Beijing time) is turned to UTC first; what comes back naive is UTC again."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.astimezone(timezone.utc) if value is not None and value.tzinfo is not None else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


def _when(**kw: Any) -> Any:
    return Field(sa_column=Column(UtcDateTime(), **kw))


def table_of(model: type[SQLModel]) -> Table:
    """The SQLAlchemy table of a table model, for the plain statements of the hot writes."""
    return model.__table__  # type: ignore[attr-defined,no-any-return]  # SQLModel sets it on table models


class CaseRow(SQLModel, table=True):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_repeat_person", "complainant_hash", "category", "community"),
        Index("ix_cases_repeat_place", "category", "community", "grid"),
        Index("ix_cases_repeat_code", "complainant_hash", "category", "place_key"),
        Index("ix_cases_received_at", "received_at"),  # every period the supervisors look at
        # The red cases still open (readmodel/board.py red_cases).
        Index("ix_cases_risk", "risk_rank", "status"),
        # A caller's earlier cases in the district (readmodel/callers.py).
        Index("ix_cases_caller", "complainant_hash", "district_code", "received_at"),
        # A scope's cases, by the level of its place (readmodel/scope.py), newest first.
        Index("ix_cases_district_code", "district_code", "received_at"),
        Index("ix_cases_street_code", "street_code", "received_at"),
        Index("ix_cases_community_code", "community_code", "received_at"),
    )
    case_id: str = Field(primary_key=True)
    run_id: str
    version: int  # the case's change counter when this row was written: older writes never win
    channel: str
    category: str = Field(index=True)
    track: str
    policy: str
    district: str
    street: str = Field(index=True)
    community: str
    grid: str | None = None
    title: str | None = None  # public: Open311 shows it (the description is personal, never stored here)
    address: str | None = None
    lat: float | None = None
    long: float | None = None
    department: str | None = Field(default=None, index=True)
    first_department: str | None = None
    status: str = Field(index=True)
    escalated: bool = False
    escalation_reason: str | None = None
    leader_id: str | None = None
    leader_name: str | None = None
    reopen_count: int = 0
    satisfaction: str | None = None
    repeat_of: str | None = None
    merged_into: str | None = None
    complainant_hash: str | None = None
    complainant_masked: str | None = None
    breach_count: int = 0
    suspended: bool = False
    received_at: datetime = _when(nullable=False)
    resolved_at: datetime | None = _when(nullable=True)
    closed_at: datetime | None = _when(nullable=True)
    updated_at: datetime = _when(nullable=False)
    # A dispute taken to mediation (issue 25): no party's name or phone, only what is counted.
    dispute_kind: str | None = Field(default=None, index=True)
    mediation_org: str | None = None
    mediator_id: str | None = None  # the mediator assigned: they see the case (models/scope.py)
    mediation_started_at: datetime | None = _when(nullable=True)
    agreed_at: datetime | None = _when(nullable=True)  # the first agreement's taking effect
    agreements: int = 0
    fulfilment_checks: int = 0
    fulfilment_honoured: int = 0
    road: str | None = None  # referred: where to
    # Edition 4 (issue 27): the head of the case's hash chain as of this write (models/chain.py).
    chain_head: str | None = None
    # Edition 7 (issue 35): its place in the city's tree, as codes; unplaced: 待定位. `units`:
    # every unit it is or was assigned to, as |a|b| (who sees it by its unit, models/scope.py).
    city_code: str | None = None
    district_code: str | None = None
    street_code: str | None = None
    community_code: str | None = None
    grid_code: str | None = None
    unplaced: bool = False
    units: str | None = None
    place_key: str | None = None  # where its repeats are matched (CaseState.place_key)
    # Its milestones met and already late (models/case.py met_or_late), counted when the row is
    # written, so an on-time rate over a city's year reads the cases only (readmodel/counting.py).
    met_milestones: int = 0
    late_milestones: int = 0
    # Edition 9 (issue 40): its strong signal (强信息): red, orange, yellow or none; the rank (3 red
    # … 0 none) puts red cases first on every board.
    risk_level: str | None = None
    risk_rank: int = 0
    # Edition 10 (issue 40): the caller's first case in the district (初信初访)? their earlier cases
    # in the 90 days before (CaseState.caller); None: not known (before edition 10, or a grid find).
    caller_first: bool | None = None
    caller_previous: int | None = None
    # What the complaint says, as the strong-signal rules read it (models/risk.py normalise: title
    # and description, simplified, no spaces; at most SAID_KEPT characters): what 类案 are found by
    # (readmodel/similar.py). Never shown: a case's own page reads the complaint from its workflow.
    said: str | None = None
    # Edition 11 (issue 40): the unit suggested when it was filed (models/suggestion.py), by whom
    # ("model" or "routing"), and whether its first dispatch took it (None: not dispatched, or
    # nothing was suggested): the suggestion's use, and what became of the cases that took it.
    suggested_unit: str | None = None
    suggested_by: str | None = None
    suggestion_taken: bool | None = None


class MilestoneRow(SQLModel, table=True):
    __tablename__ = "case_milestones"
    __table_args__ = (
        Index("ix_milestones_owed", "done_at", "due_at"),  # the overdue board
        Index(
            "ix_milestones_breached_at", "breached_at", "case_id", "breached"
        ),  # breaches in a period, from the index alone
    )
    case_id: str = Field(primary_key=True)
    seq: int = Field(primary_key=True)
    name: str = Field(index=True)
    department: str | None = None
    anchor: str
    duration: str
    due_at: datetime = _when(nullable=False)
    done_at: datetime | None = _when(nullable=True)
    breached: bool = False
    breached_at: datetime | None = _when(nullable=True)
    superseded: bool = False
    estimated: bool = False
    anchor_at: datetime | None = _when(nullable=True)
    warned: bool = False
    paused_seconds: float = 0.0
    settled: str | None = None  # resolution, closed, merged or missed: see Milestone.settled


class EventRow(SQLModel, table=True):
    __tablename__ = "case_events"
    case_id: str = Field(primary_key=True)
    seq: int = Field(primary_key=True)  # position in the case's timeline: never reordered
    at: datetime = _when(nullable=False)
    kind: str = Field(index=True)
    actor_id: str | None = None
    actor_role: str | None = None
    actor_department: str | None = None
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    digest: str | None = None  # edition 4: the chain's digest after this event (models/chain.py)


class OutboxRow(SQLModel, table=True):
    __tablename__ = "outbox"
    id: str = Field(primary_key=True)  # the notice's id: run id and sequence, so a retry is the same row
    case_id: str = Field(index=True)
    recipient: str
    kind: str
    text: str
    address: str | None = None  # masked
    created_at: datetime = _when(nullable=False)
    sent_at: datetime | None = _when(nullable=True)
    attempts: int = 0
    last_error: str | None = None


class ClaimRow(SQLModel, table=True):
    """Who holds "the open case" of a complainant, category and community: one row per key, so
    two identical complaints filed at once cannot both become open cases. Released at close."""

    __tablename__ = "open_claims"
    key: str = Field(primary_key=True)  # phone hash | category | community
    case_id: str = Field(index=True)
    claimed_at: datetime = _when(nullable=False)


class LinkRow(SQLModel, table=True):
    """A link sent to a person (the complainant's /s/<token>): found by the token's SHA-256, never by
    the token itself, so whoever reads this table holds no link. The token is the engine's
    signature over the case and the purpose (readmodel/links.py), so a row alone opens nothing."""

    __tablename__ = "links"
    digest: str = Field(primary_key=True)  # SHA-256 of the token, hex
    case_id: str = Field(index=True)
    purpose: str
    key_id: str  # the signing key of COMPLAINTS_LINK_KEYS that made it
    created_at: datetime = _when(nullable=False)


class WebhookRow(SQLModel, table=True):
    """A subscription: a department's system told of its cases' events (readmodel/webhooks.py)."""

    __tablename__ = "webhooks"
    name: str = Field(primary_key=True)
    identity: str  # whose eyes it sees with: the gateway identity's role and department, at creation
    role: str
    identity_department: str | None = None
    identity_scope: str | None = None  # the identity's scope (city-contract.md): only the cases it sees
    department: str | None = None  # only the cases of this department (now or first), if set
    url: str
    events: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # kinds, or ["*"]
    secret: str  # "key id:base64(nonce + AES-GCM(secret))" under the codec's keys: never in clear at rest
    created_at: datetime = _when(nullable=False)
    paused_at: datetime | None = _when(nullable=True)
    paused_reason: str | None = None


class DeliveryRow(SQLModel, table=True):
    """What a subscription is owed: one row per event, written in the transaction that writes the
    event itself, so a change is never recorded without its deliveries (the webhooks' outbox)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_deliveries_owed", "webhook", "delivered_at", "case_id", "seq"),)
    webhook: str = Field(primary_key=True)
    case_id: str = Field(primary_key=True)
    seq: int = Field(primary_key=True)  # the event's place in the case's timeline: the order of delivery
    kind: str
    version: int  # the case's version after the change that added the event
    at: datetime = _when(nullable=False)  # when the event happened
    enqueued_at: datetime = _when(nullable=False)
    delivered_at: datetime | None = _when(nullable=True)
    attempts: int = 0


class AttemptRow(SQLModel, table=True):
    """Each try to deliver, for `webhook deliveries`: what the receiver answered (≤ 1 KiB)."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_attempts_recent", "webhook", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    webhook: str
    case_id: str
    seq: int
    kind: str
    attempt: int
    at: datetime = _when(nullable=False)
    status_code: int | None = None
    delivered: bool = False
    answer: str | None = None
    error: str | None = None
    next_try_at: datetime | None = _when(nullable=True)


class UploadRow(SQLModel, table=True):
    """A file uploaded for a case (issue 38), as kept: its digest names the blob in the evidence
    store (runtime/blobs.py). Until an `attach` update records it, it is on no timeline; the
    update names it by digest, and only an upload of that same case is taken."""

    __tablename__ = "uploads"
    case_id: str = Field(primary_key=True)
    digest: str = Field(primary_key=True)
    kind: str
    media_type: str
    size: int
    thumbnail: str | None = None
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    uploaded_by: str  # the identity's id (the complainant's: complainant:<case>)
    at: datetime = _when(nullable=False)


class WebhookAlertRow(SQLModel, table=True):
    """A 类案预警 owed to a subscription (issue 40): the alert as its scope saw it when first found,
    for its one `cluster_alert` delivery (case_id `similar:<key>`, seq 0). One row per alert and
    subscription: the alert is told once, however it grows."""

    __tablename__ = "webhook_alerts"
    webhook: str = Field(primary_key=True)
    key: str = Field(primary_key=True)  # the alert's first case (readmodel/similar.py Cluster.key)
    alert: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    found_at: datetime = _when(nullable=False)


class UnitModelRow(SQLModel, table=True):
    """A district's suggested-unit model (readmodel/unit_model.py): the latest training only, with
    its figures on the cases held out; `model` empty and `reason` saying why when none could be
    learned (too few closed cases, one unit only), so the routing table decides."""

    __tablename__ = "unit_models"
    district_code: str = Field(primary_key=True)
    trained_at: datetime = _when(nullable=False)
    cases: int  # closed cases it learned from, held-out ones included
    units: int
    figures: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    reason: str | None = None
    reason_en: str | None = None
    # The fitted scikit-learn pipeline, pickled. Written only by the engine's own training on its
    # own database; a database an attacker can write to is lost already, so this adds no door.
    model: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


CASES, MILESTONES, EVENTS, OUTBOX, CLAIMS, LINKS = (
    table_of(t) for t in (CaseRow, MilestoneRow, EventRow, OutboxRow, ClaimRow, LinkRow)
)
OPEN = tuple(s.value for s in OPEN_STATUSES)  # as text, the way the tables hold it


def moved_elsewhere() -> ColumnElement[bool]:
    """A milestone a transfer moved to another unit, unmissed: neither met nor late (the SQL of
    models/case.py met_or_late's first test)."""
    m = MILESTONES.c
    return and_(m.superseded, func.coalesce(m.settled, "") != "missed")


@overload
def utc(moment: datetime) -> datetime: ...
@overload
def utc(moment: None) -> None: ...
def utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: everything is stored and read as UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
