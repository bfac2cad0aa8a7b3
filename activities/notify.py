"""Send a notice through a pluggable sender. Retried by Temporal until it goes through."""

from __future__ import annotations

import importlib
from typing import Protocol

from temporalio import activity

import logs
from models import Notice

log = logs.get("notices")


class Sender(Protocol):
    async def send(self, notice: Notice) -> None: ...


class LogSender:
    """The default: every notice becomes one JSON log line."""

    async def send(self, notice: Notice) -> None:
        info = activity.info()
        log.info(
            "notice",
            case_id=notice.case_id,
            run_id=info.workflow_run_id,
            recipient=notice.recipient,
            kind=notice.kind.value,
            text=notice.text,
        )


def sender_from_setting(setting: str) -> Sender:
    """'log', or 'package.module:factory' naming a callable that returns a Sender."""
    if setting == "log":
        return LogSender()
    module, _, name = setting.partition(":")
    if not name:
        raise ValueError(f"COMPLAINTS_NOTIFIER={setting!r}: expected 'log' or 'module:factory'")
    return getattr(importlib.import_module(module), name)()


class Notifier:
    def __init__(self, sender: Sender) -> None:
        self.sender = sender

    @activity.defn(name="send_notice")
    async def send_notice(self, notice: Notice) -> None:
        await self.sender.send(notice)
