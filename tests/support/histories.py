"""Stored histories, and editing one to prove that replay catches a change."""

from __future__ import annotations

from typing import Any


def tamper(history: dict[str, Any]) -> dict[str, Any]:
    """An exported history edited as if the code had run another activity: the first local
    activity's recorded type is changed (a lean history schedules no other kind)."""
    import base64
    import json

    for event in history["events"]:
        attrs = event.get("markerRecordedEventAttributes")
        if attrs and attrs.get("markerName") == "core_local_activity":
            payload = attrs["details"]["data"]["payloads"][0]
            marker = json.loads(base64.b64decode(payload["data"]))
            marker["activity_type"] = "send_fax"
            payload["data"] = base64.b64encode(json.dumps(marker).encode()).decode()
            return history
    raise AssertionError("no local activity in the history")
