"""Webhooks' rules, pure: which events a subscription wants, where it may send them, how a
delivery is named, signed and retried. The delivery itself is Temporal's (workflows/webhook_delivery.py)."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from models.base import Strict
from models.labels import EVENTS

ALL = "*"
# The names integrators guess from other systems, for the timeline's own kinds.
ALIASES = {"breached": "breach", "warned": "warning"}
# A 类案预警 found in a subscription's scope (issue 40): no case's event, the scope's own news.
CLUSTER_ALERT = "cluster_alert"
ALERT_PREFIX = "similar:"  # what an alert's deliveries carry as their case: similar:<the alert's key>
KINDS = frozenset(EVENTS) | {CLUSTER_ALERT}
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

WORKFLOW = "WebhookDelivery"  # one per subscription and case: the case's events in order
MORE = "more"  # its signal: the read model holds new events for it
MAX_INTERVAL = timedelta(hours=1)  # the longest wait between two tries
ATTEMPT_TIMEOUT = timedelta(seconds=10)  # a receiver that has not answered by then failed this try
ANSWER_KEPT = 1024  # bytes of a receiver's answer kept with the attempt


class DeliveryJob(Strict):
    """What a delivery workflow carries: the subscription and case, and the retry settings it
    started with (from the operator's settings, fixed for the run so a replay sees the same)."""

    webhook: str
    case_id: str
    first_retry_seconds: float = 1.0
    pause_after_seconds: float = 3 * 24 * 3600.0


class Owed(Strict):
    """The next event a subscription is owed for a case; `paused` when it is not to be sent now."""

    webhook: str
    case_id: str
    seq: int
    paused: bool = False


def workflow_id(webhook: str, case_id: str) -> str:
    return f"webhook:{webhook}:{case_id}"


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise ValueError(f"name {name!r}: letters, digits, '_', '.', '-', at most 64, starting with a letter or digit")
    return name


def parse_events(text: str) -> list[str]:
    """`dispatched,resolved` or `*`: the timeline's event kinds (models/labels.py), checked."""
    wanted = [ALIASES.get(part.strip(), part.strip()) for part in text.split(",") if part.strip()]
    if not wanted:
        raise ValueError("events: name at least one event kind, or *")
    unknown = [kind for kind in wanted if kind != ALL and kind not in KINDS]
    if unknown:
        raise ValueError(f"events: {', '.join(unknown)} not an event kind; the kinds are *, {', '.join(sorted(KINDS))}")
    return [ALL] if ALL in wanted else sorted(set(wanted))


def wants(events: list[str], kind: str) -> bool:
    return ALL in events or kind in events


def in_scope(department: str | None, involved: set[str]) -> bool:
    """A subscription narrowed to a department hears of the cases that department has or had
    (now, first, or in an event of theirs); one without a department, of every case."""
    return department is None or department in involved


def check_url(url: str, allow_http_hosts: frozenset[str] = frozenset()) -> str:
    """https only (a receiver on the open network sees personal data); plain http only to hosts
    the operator allows (COMPLAINTS_WEBHOOK_ALLOW_HTTP_HOSTS). No credentials in the URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        raise ValueError(f"url {url!r}: {err}") from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError(f"url {url!r}: expected https://host/path")
    if parts.username or parts.password:
        raise ValueError(f"url {url!r}: no user or password in the URL; the signature says who sends")
    if parts.scheme == "http" and host not in allow_http_hosts:
        raise ValueError(
            f"url {url!r}: https only; plain http only to hosts in COMPLAINTS_WEBHOOK_ALLOW_HTTP_HOSTS "
            f"(now: {', '.join(sorted(allow_http_hosts)) or 'none'})"
        )
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"url {url!r}: port out of range")
    return url


def message_id(case_id: str, seq: int) -> str:
    """The event's own id (`webhook-id`): the same on every retry and redelivery of it."""
    digest = hashlib.sha256(f"{case_id}\x00{seq}".encode()).digest()[:15]
    return "msg_" + base64.b32encode(digest).decode().lower()


def retry_wait(first_retry: timedelta, attempt: int) -> timedelta:
    """How long after try `attempt` (1, 2, ...) the next comes: doubling, at most an hour. The
    same schedule as the delivery's RetryPolicy, so `webhook deliveries` can say when."""
    return min(first_retry * (2 ** max(attempt - 1, 0)), MAX_INTERVAL)


def alert_ref(key: str) -> str:
    """What an alert's delivery is filed under, in place of a case id (its own delivery workflow)."""
    return ALERT_PREFIX + key


def alert_body(at: datetime, key: str, alert: dict[str, Any]) -> dict[str, Any]:
    """A cluster_alert as a receiver gets it: the alert as the subscription's scope sees it."""
    return {"type": CLUSTER_ALERT, "timestamp": at.isoformat(), "data": {"key": key, "alert": alert}}


def body(
    kind: str, at: datetime, case_id: str, version: int, event: dict[str, Any], case: dict[str, Any]
) -> dict[str, Any]:
    """The JSON a receiver gets (Standard Webhooks' envelope: type, timestamp, data)."""
    return {
        "type": kind,
        "timestamp": at.isoformat(),
        "data": {"case_id": case_id, "version": version, "event": event, "case": case},
    }
