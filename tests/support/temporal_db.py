"""Editing Temporal's own database, as someone with write access to it could: the dev server's
SQLite file, its `history_node` rows (each a batch of history events, protobuf). For the audit's
tests: a change the audit must report. Run only while the server is stopped."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import History, HistoryEvent

from starter import data_converter

KEY = ("shard_id", "tree_id", "branch_id", "node_id", "txn_id")


def edit_events(db: Path, edit: Callable[[bytes, HistoryEvent], bool]) -> int:
    """Apply `edit(tree id, event)` to every stored history event (a run's events share a tree
    id); rewrite the batches it changed. Returns how many batches changed."""
    con = sqlite3.connect(db)
    changed = 0
    with con:
        for row in con.execute(f"SELECT {', '.join(KEY)}, data FROM history_node ORDER BY node_id").fetchall():
            batch = History()
            batch.ParseFromString(row[-1])
            if any([edit(row[1], e) for e in batch.events]):
                changed += 1
                where = " AND ".join(f"{k} = ?" for k in KEY)
                con.execute(f"UPDATE history_node SET data = ? WHERE {where}", (batch.SerializeToString(), *row[:-1]))
    con.close()
    return changed


def rewrite_payload(payload: Payload, change: Callable[[dict], dict]) -> None:
    """Decrypt a payload with the engine's codec, change its JSON, encrypt it back in place."""
    codec = data_converter().payload_codec
    assert codec is not None
    [plain] = asyncio.run(codec.decode([payload]))
    plain.data = json.dumps(change(json.loads(plain.data)), ensure_ascii=False).encode()
    [sealed] = asyncio.run(codec.encode([plain]))
    payload.CopyFrom(sealed)


def update_input(event: HistoryEvent, name: str) -> Payload | None:
    """The argument of an accepted update of this name, if the event is one."""
    if not event.HasField("workflow_execution_update_accepted_event_attributes"):
        return None
    request = event.workflow_execution_update_accepted_event_attributes.accepted_request
    return request.input.args.payloads[0] if request.input.name == name else None
