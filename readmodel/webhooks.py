"""Webhook subscriptions and what each is owed, in the read model's database.

What a subscription is owed is written by `owe` inside the transaction that writes the case's new
events (ReadModel.record), so no change is ever recorded without its deliveries, and a worker
killed at any moment loses none: the delivery workflows read what is owed from here."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.engine import Connection, Engine

from models.actor import Actor
from models.scope import CaseWhere, sees
from models.webhooks import ANSWER_KEPT, CLUSTER_ALERT, Owed, alert_ref, in_scope, wants
from readmodel.tables import AttemptRow, DeliveryRow, EventRow, WebhookAlertRow, WebhookRow, table_of
from runtime.keys import Keyring

WEBHOOKS, DELIVERIES, ATTEMPTS, EVENTS, ALERTS = (
    table_of(t) for t in (WebhookRow, DeliveryRow, AttemptRow, EventRow, WebhookAlertRow)
)


class WebhookError(ValueError):
    """A webhook command that cannot be done; the message says why."""


def owe(
    conn: Connection,
    case_id: str,
    version: int,
    departments: Iterable[str | None],
    events: Sequence[Any],
    where: CaseWhere | None = None,
) -> list[str]:
    """In the caller's transaction (after the new events are written): a delivery row for every
    subscription that wants each new event (`events`: (seq, kind, at, actor department, detail)).
    A subscription narrowed to a department is owed a case from the moment the department has it,
    the case's earlier events included, so it always sees the case from its start, whichever
    writes the changes came in. A subscription is owed nothing of a case its identity does not see
    (models/scope.py; `where`: the case, as the rule reads it). Returns the subscriptions to wake
    (those not paused). Idempotent: a retried write owes nothing twice (and wakes them again)."""
    subscriptions = conn.execute(
        select(
            WEBHOOKS.c.name,
            WEBHOOKS.c.events,
            WEBHOOKS.c.department,
            WEBHOOKS.c.paused_at,
            WEBHOOKS.c.identity,
            WEBHOOKS.c.role,
            WEBHOOKS.c.identity_department,
            WEBHOOKS.c.identity_scope,
        )
    ).all()
    if not subscriptions:
        return []
    involved = {d for d in (*departments, *(x for e in events for x in (e[3], _department_in(e[4])))) if d}
    whole: list[tuple[int, str, datetime]] | None = None  # the case's every event, read once if needed
    now = datetime.now(timezone.utc)
    rows, woken = [], []
    for sub in subscriptions:
        if not in_scope(sub.department, involved):
            continue
        eyes = Actor(id=sub.identity, role=sub.role, department=sub.identity_department, scope=sub.identity_scope)
        if where is not None and not sees(eyes, where):
            continue
        if sub.department is None:
            candidates = [(seq, kind, at) for seq, kind, at, _, _ in events]
        else:
            if whole is None:
                whole = [
                    (r.seq, r.kind, r.at)
                    for r in conn.execute(
                        select(EVENTS.c.seq, EVENTS.c.kind, EVENTS.c.at).where(EVENTS.c.case_id == case_id)
                    )
                ]
            candidates = whole
        owed = [
            dict(
                webhook=sub.name,
                case_id=case_id,
                seq=seq,
                kind=kind,
                version=version,
                at=at,
                enqueued_at=now,
                attempts=0,
            )
            for seq, kind, at in candidates
            if wants(list(sub.events), kind)
        ]
        rows += owed
        if owed and sub.paused_at is None:
            woken.append(sub.name)
    if rows:
        insert = _insert(conn.engine.dialect.name)(DELIVERIES)
        conn.execute(insert.on_conflict_do_nothing(index_elements=["webhook", "case_id", "seq"]), rows)
    return woken


def _department_in(detail: Any) -> str | None:
    if isinstance(detail, dict):
        for key in ("department", "from_department", "to_department"):
            if isinstance(detail.get(key), str):
                return str(detail[key])
    return None


def _insert(dialect: str) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if dialect == "postgresql" else sqlite.insert


@dataclass
class Subscription:
    name: str
    identity: Actor
    department: str | None
    url: str
    events: list[str]
    created_at: datetime
    paused_at: datetime | None
    paused_reason: str | None


class Webhooks:
    """Subscriptions, their secrets (encrypted with the codec's keys), deliveries and attempts."""

    def __init__(self, engine: Engine, keyring: Keyring | None = None) -> None:
        self.engine = engine
        self._keyring = keyring  # only to seal and open secrets: a reader needs none
        self._opened: dict[str, str] = {}

    @property
    def keyring(self) -> Keyring:
        if self._keyring is None:
            raise WebhookError("no keyring: this reader cannot see or set a webhook's secret")
        return self._keyring

    # ---- subscriptions ---------------------------------------------------------------------

    def add(self, name: str, identity: Actor, url: str, events: list[str], department: str | None = None) -> str:
        """A new subscription; returns its signing secret (whsec_...), which is shown once."""
        secret = new_secret()
        with self.engine.begin() as conn:
            if conn.execute(select(WEBHOOKS.c.name).where(WEBHOOKS.c.name == name)).first():
                raise WebhookError(f"webhook {name} exists; remove it first, or choose another name")
            conn.execute(
                WEBHOOKS.insert().values(
                    name=name,
                    identity=identity.id,
                    role=identity.role.value,
                    identity_department=identity.department,
                    identity_scope=identity.scope,
                    department=department,
                    url=url,
                    events=events,
                    secret=self._seal(secret),
                    created_at=datetime.now(timezone.utc),
                )
            )
        return secret

    def get(self, name: str) -> Subscription:
        with self.engine.connect() as conn:
            row = conn.execute(select(WEBHOOKS).where(WEBHOOKS.c.name == name)).first()
        if row is None:
            raise WebhookError(f"no webhook {name}")
        return _subscription(row)

    def all(self) -> list[Subscription]:
        with self.engine.connect() as conn:
            return [_subscription(r) for r in conn.execute(select(WEBHOOKS).order_by(WEBHOOKS.c.name)).all()]

    def secret(self, name: str) -> str:
        with self.engine.connect() as conn:
            sealed = conn.execute(select(WEBHOOKS.c.secret).where(WEBHOOKS.c.name == name)).scalar_one_or_none()
        if sealed is None:
            raise WebhookError(f"no webhook {name}")
        return self._open(sealed)

    def rotate(self, name: str) -> str:
        secret = new_secret()
        with self.engine.begin() as conn:
            done = conn.execute(update(WEBHOOKS).where(WEBHOOKS.c.name == name).values(secret=self._seal(secret)))
        if not done.rowcount:
            raise WebhookError(f"no webhook {name}")
        return secret

    def remove(self, name: str) -> None:
        with self.engine.begin() as conn:
            if not conn.execute(delete(WEBHOOKS).where(WEBHOOKS.c.name == name)).rowcount:
                raise WebhookError(f"no webhook {name}")
            conn.execute(delete(DELIVERIES).where(DELIVERIES.c.webhook == name))
            conn.execute(delete(ATTEMPTS).where(ATTEMPTS.c.webhook == name))
            conn.execute(delete(ALERTS).where(ALERTS.c.webhook == name))

    def pause(self, name: str, reason: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(WEBHOOKS)
                .where(WEBHOOKS.c.name == name, WEBHOOKS.c.paused_at.is_(None))
                .values(paused_at=datetime.now(timezone.utc), paused_reason=reason[:500])
            )

    def pause_identity(self, identity: str, reason: str) -> list[str]:
        """Pause every subscription that sees with this identity's eyes (it was revoked)."""
        with self.engine.begin() as conn:
            names = list(conn.execute(select(WEBHOOKS.c.name).where(WEBHOOKS.c.identity == identity)).scalars())
        for name in names:
            self.pause(name, reason)
        return names

    def resume(self, name: str) -> list[str]:
        """Unpause; returns the cases it is owed events of, to wake (their oldest owed first)."""
        with self.engine.begin() as conn:
            if not conn.execute(
                update(WEBHOOKS).where(WEBHOOKS.c.name == name).values(paused_at=None, paused_reason=None)
            ).rowcount:
                raise WebhookError(f"no webhook {name}")
        return self.owed_cases(name)

    def owed_cases(self, name: str) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(DELIVERIES.c.case_id, func.min(DELIVERIES.c.enqueued_at).label("first"))
                .where(DELIVERIES.c.webhook == name, DELIVERIES.c.delivered_at.is_(None))
                .group_by(DELIVERIES.c.case_id)
                .order_by("first")
            ).all()
        return [r.case_id for r in rows]

    def redeliver(self, name: str, since: datetime) -> list[str]:
        """Owe again every event since `since` (same webhook-id: receivers drop what they have)."""
        self.get(name)
        with self.engine.begin() as conn:
            conn.execute(
                update(DELIVERIES)
                .where(DELIVERIES.c.webhook == name, DELIVERIES.c.at >= since)
                .values(delivered_at=None)
            )
        return self.owed_cases(name)

    # ---- 类案预警 (cluster_alert) -------------------------------------------------------------

    def alert_subscriptions(self) -> list[Subscription]:
        """The subscriptions told of 类案预警: those wanting cluster_alert, not narrowed to a
        department (an alert is a scope's news, no department's case)."""
        return [s for s in self.all() if s.department is None and wants(s.events, CLUSTER_ALERT)]

    def owe_alerts(self, name: str, alerts: dict[str, dict[str, Any]], now: datetime | None = None) -> list[str]:
        """Owe the subscription each alert (key -> the alert as its scope sees it) it was not owed
        before, with its one delivery, in one transaction. Returns the keys newly owed."""
        if not alerts:
            return []
        now = now or datetime.now(timezone.utc)
        with self.engine.begin() as conn:
            known = set(
                conn.execute(
                    select(ALERTS.c.key).where(ALERTS.c.webhook == name, ALERTS.c.key.in_(list(alerts)))
                ).scalars()
            )
            new = [key for key in alerts if key not in known]
            if new:
                conn.execute(ALERTS.insert(), [dict(webhook=name, key=k, alert=alerts[k], found_at=now) for k in new])
                conn.execute(
                    DELIVERIES.insert(),
                    [
                        dict(webhook=name, case_id=alert_ref(k), seq=0, kind=CLUSTER_ALERT, version=0, at=now,
                             enqueued_at=now, attempts=0)
                        for k in new
                    ],
                )  # fmt: skip
        return new

    def alert(self, name: str, key: str) -> WebhookAlertRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(ALERTS).where(ALERTS.c.webhook == name, ALERTS.c.key == key)).first()
        return WebhookAlertRow.model_validate(row._mapping) if row else None

    # ---- delivering ------------------------------------------------------------------------

    def owed(self, name: str, case_id: str, limit: int = 20) -> list[Owed]:
        """The events of this case not yet delivered to this subscription, oldest first; each
        marked `paused` while the subscription is. Nothing once the subscription is removed."""
        with self.engine.connect() as conn:
            sub = conn.execute(select(WEBHOOKS.c.paused_at).where(WEBHOOKS.c.name == name)).first()
            if sub is None:
                return []
            seqs = conn.execute(_still_owed(select(DELIVERIES.c.seq), name, case_id).limit(limit)).scalars()
            paused = sub.paused_at is not None
            return [Owed(webhook=name, case_id=case_id, seq=seq, paused=paused) for seq in seqs]

    def untried(self, name: str, case_id: str, limit: int = 20) -> tuple[Subscription, str, list[DeliveryRow]] | None:
        """The subscription, its secret and what this case owes it, oldest first, when none of it
        was tried yet: the events a write just owed, for their first try straight from the write
        (read together: this runs on every change). None when an older event is already being
        retried (its delivery workflow keeps the order), when the subscription is paused or gone,
        or when more are owed than one write should send."""
        with self.engine.connect() as conn:
            sub = conn.execute(select(WEBHOOKS).where(WEBHOOKS.c.name == name)).first()
            if sub is None or sub.paused_at is not None:
                return None
            rows = conn.execute(_still_owed(select(DELIVERIES), name, case_id).limit(limit + 1)).all()
        if len(rows) > limit or any(r.attempts for r in rows):
            return None
        return _subscription(sub), self._open(sub.secret), [DeliveryRow.model_validate(r._mapping) for r in rows]

    def delivery(self, owed: Owed) -> DeliveryRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(DELIVERIES).where(
                    DELIVERIES.c.webhook == owed.webhook,
                    DELIVERIES.c.case_id == owed.case_id,
                    DELIVERIES.c.seq == owed.seq,
                )
            ).first()
        return DeliveryRow.model_validate(row._mapping) if row else None

    def attempted(
        self,
        owed: Owed,
        kind: str,
        attempt: int,
        delivered: bool,
        status_code: int | None,
        answer: str | None,
        error: str | None,
        next_try_at: datetime | None,
    ) -> None:
        """Keep one try (the answer cut to 1 KiB) and, when it was delivered, mark the event so."""
        now = datetime.now(timezone.utc)
        kept = answer.encode()[:ANSWER_KEPT].decode(errors="ignore") if answer else None
        key = and_(
            DELIVERIES.c.webhook == owed.webhook, DELIVERIES.c.case_id == owed.case_id, DELIVERIES.c.seq == owed.seq
        )
        with self.engine.begin() as conn:
            conn.execute(
                ATTEMPTS.insert().values(
                    webhook=owed.webhook,
                    case_id=owed.case_id,
                    seq=owed.seq,
                    kind=kind,
                    attempt=attempt,
                    at=now,
                    status_code=status_code,
                    delivered=delivered,
                    answer=kept,
                    error=error[:500] if error else None,
                    next_try_at=next_try_at,
                )
            )
            change: dict[str, Any] = {"attempts": DELIVERIES.c.attempts + 1}
            if delivered:
                change["delivered_at"] = now
            conn.execute(update(DELIVERIES).where(key).values(**change))

    def attempts(self, name: str, limit: int = 50) -> list[AttemptRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(ATTEMPTS).where(ATTEMPTS.c.webhook == name).order_by(ATTEMPTS.c.id.desc()).limit(limit)
            ).all()
        return [AttemptRow.model_validate(r._mapping) for r in rows]

    def overview(self) -> list[tuple[Subscription, int, datetime | None]]:
        """Every subscription, what it is owed and since when: the console and `webhook list`."""
        return [(sub, *self.owed_count(sub.name)) for sub in self.all()]

    def owed_count(self, name: str) -> tuple[int, datetime | None]:
        """How many events are owed, and since when the oldest."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(func.count(), func.min(DELIVERIES.c.at)).where(
                    DELIVERIES.c.webhook == name, DELIVERIES.c.delivered_at.is_(None)
                )
            ).one()
        return int(row[0]), row[1]  # UtcDateTime: already in UTC

    # ---- secrets at rest ------------------------------------------------------------------

    def _seal(self, secret: str) -> str:
        nonce = os.urandom(12)
        key_id = self.keyring.current
        sealed = AESGCM(self.keyring.keys[key_id]).encrypt(nonce, secret.encode(), b"webhook-secret")
        return f"{key_id}:{base64.b64encode(nonce + sealed).decode()}"

    def _open(self, sealed: str) -> str:
        """The secret in clear; remembered by its sealed text, so a rotation is seen at once."""
        known = self._opened.get(sealed)
        if known is None:
            known = self._opened[sealed] = self._unseal(sealed)
            if len(self._opened) > 256:
                self._opened.pop(next(iter(self._opened)))
        return known

    def _unseal(self, sealed: str) -> str:
        key_id, _, data = sealed.partition(":")
        if key_id not in self.keyring.keys:
            raise WebhookError(
                f"the webhook's secret was sealed with key {key_id!r}, no longer in COMPLAINTS_CODEC_KEYS"
            )
        raw = base64.b64decode(data)
        return AESGCM(self.keyring.keys[key_id]).decrypt(raw[:12], raw[12:], b"webhook-secret").decode()


def new_secret() -> str:
    """Standard Webhooks' form: whsec_ and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _still_owed(query: Any, name: str, case_id: str) -> Any:
    """What this case still owes this subscription, oldest first (the order of delivery)."""
    return query.where(
        DELIVERIES.c.webhook == name, DELIVERIES.c.case_id == case_id, DELIVERIES.c.delivered_at.is_(None)
    ).order_by(DELIVERIES.c.seq)


def _subscription(row: Any) -> Subscription:
    return Subscription(
        name=row.name,
        identity=Actor(id=row.identity, role=row.role, department=row.identity_department, scope=row.identity_scope),
        department=row.department,
        url=row.url,
        events=list(row.events),
        created_at=row.created_at,
        paused_at=row.paused_at,
        paused_reason=row.paused_reason,
    )
