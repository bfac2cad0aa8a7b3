"""What the browser tests share: the environment of the processes they drive, and the page's
console watched for errors."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.processes import free_port


def environment(tmp: Path, **more: str) -> dict[str, str]:
    """The environment of the processes under test: their own data folder and free ports, no
    metrics, no rate limit (the test clicks faster than a person)."""
    environ = {k: v for k, v in os.environ.items() if k != "TEMPORAL_ADDRESS"}
    environ.update(
        COMPLAINTS_DATA_DIR=str(tmp / "data"),
        COMPLAINTS_DEV_PORT=str(free_port()),
        COMPLAINTS_DEV_UI_PORT=str(free_port()),
        COMPLAINTS_METRICS_ADDRESS="off",
        COMPLAINTS_RATE_LIMIT="0",
        PYTHONUNBUFFERED="1",
        **more,
    )
    return environ


def watch_console(page) -> None:
    """Collect what the page writes to the browser's console as errors, and uncaught exceptions,
    in page.errors."""
    page.errors = []
    page.on("console", lambda m: page.errors.append(f"{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(f"pageerror: {e}"))
