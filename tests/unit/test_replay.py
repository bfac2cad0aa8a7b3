"""Every history stored under tests/histories replays against the current code.

These were recorded from real cases (python -m tests.histories.record). A workflow change that
would break cases already running fails here: guard it with workflow.patched.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

from starter.audit import replayer
from tests.support.histories import tamper

HISTORIES = sorted((Path(__file__).parent.parent / "histories").glob("*.json"))


def test_histories_are_stored():
    assert len(HISTORIES) >= 8


def test_every_edition_has_a_recorded_history():
    """Each workflow.patched gate (models/editions.py) is crossed by a stored history, so the
    replay test runs the new path too, not only the old ones."""
    from models.editions import PATCHES

    patches: set[str] = set()
    for path in HISTORIES:
        for event in json.loads(path.read_text(encoding="utf-8"))["events"]:
            marker = event.get("markerRecordedEventAttributes", {})
            if marker.get("markerName") == "core_patch":
                for payload in marker["details"]["patch-data"]["payloads"]:
                    patches.add(json.loads(base64.b64decode(payload["data"]))["id"])
    assert set(PATCHES.values()) <= patches, set(PATCHES.values()) - patches


@pytest.mark.parametrize("sandboxed", [True, False], ids=["sandboxed", "unsandboxed"])
@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays(path: Path, sandboxed: bool):
    """In the sandbox (as the tests run) and without it (as workers, the replay command and the
    audit run: through their own replayer, activations on the event loop's thread)."""
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    result = await replayer(sandboxed=sandboxed).replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"


@pytest.mark.parametrize("sandboxed", [True, False], ids=["sandboxed", "unsandboxed"])
async def test_a_changed_workflow_would_fail_replay(sandboxed: bool):
    """The guard itself works, with and without the sandbox (and its deadlock detector): a
    history whose recorded commands differ is caught."""
    path = next(p for p in HISTORIES if p.stem == "closed_loop")
    data = json.loads(path.read_text(encoding="utf-8"))
    tamper(data)
    history = WorkflowHistory.from_json("tampered", json.dumps(data))
    result = await replayer(sandboxed=sandboxed).replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is not None
