"""A case's hash chain (issue 27): each event's digest covers the one before it, so a change to
any event, its time or its order, wherever it is made, changes every digest after it.

Computed in the workflow (CaseState.seal) as part of the case's history, written with each event
to the read model, anchored daily under the engine's signature, and recomputed by the audit. One
canonical encoding for all of them: the event as the read model stores it (time in UTC, kind,
actor, detail as JSON), so an event row can be checked on its own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

VERSION = b"complaints/chain/v1\n"


def jsonable(value: object) -> object:
    """A detail as JSON keeps it: moments as ISO text, nested the same way."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def utc_text(moment: datetime) -> str:
    """A moment as signed and hashed text: UTC, to the microsecond, whatever zone it came in."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(
    at: datetime, kind: str, actor_id: str | None, role: str | None, department: str | None, detail: dict[str, Any]
) -> bytes:
    """One event's bytes: sorted keys, no spaces, UTF-8, its time in UTC to the microsecond."""
    record = {"at": utc_text(at), "kind": kind, "actor": [actor_id, role, department], "detail": jsonable(detail)}
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def genesis(case_id: str) -> str:
    """Where a case's chain starts: bound to the case, so no chain fits another case."""
    return hashlib.sha256(VERSION + case_id.encode()).hexdigest()


def link(previous: str, event_bytes: bytes) -> str:
    return hashlib.sha256(previous.encode() + b"\n" + event_bytes).hexdigest()


def digests(start: str, events: Iterable[bytes]) -> list[str]:
    """The digest after each event, from `start` (a genesis or an earlier digest)."""
    out = []
    head = start
    for e in events:
        head = link(head, e)
        out.append(head)
    return out
