"""Send a notice through a pluggable sender. Retried by Temporal until it goes through."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Protocol

from temporalio import activity

from activities.templates import COMPLAINANT, LINK_TO, NoticeTemplates
from models import Notice
from models.duty import Duty
from readmodel import ReadModel
from readmodel.links import Links, redact
from runtime import logs

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
            text=redact(notice.text),  # a link in a log would open the case to whoever reads it
        )


def sender_from_setting(setting: str, sms_url: str | None = None, sms_token: str | None = None) -> Sender:
    """The SMS gateway when one is configured; else 'log', or 'module:factory' returning a Sender."""
    if sms_url:
        from activities.sms import HttpSmsSender

        return HttpSmsSender(sms_url, sms_token)
    if setting == "log":
        return LogSender()
    module, _, name = setting.partition(":")
    if not name:
        raise ValueError(f"COMPLAINTS_NOTIFIER={setting!r}: expected 'log' or 'module:factory'")
    return getattr(importlib.import_module(module), name)()


class Notifier:
    """Renders each notice from its template, keeps it in the outbox (attempts, last error, when
    sent) and hands it to the sender."""

    def __init__(
        self,
        sender: Sender,
        read_model: ReadModel | None = None,
        templates: NoticeTemplates | None = None,
        links: Links | None = None,
        on_duty: Callable[[str | None, datetime], Duty | None] | None = None,
    ) -> None:
        self.sender = sender
        self.read_model = read_model
        self.templates = templates
        self.links = links
        self.on_duty = on_duty  # the city's tree's duty rosters, read as each notice goes

    def address(self, notice: Notice) -> Notice:
        """The district's duty leader at the moment it is sent, for a notice "duty" (a red strong
        signal): named in the recipient, their phone the address. No roster: left to the SMS
        gateway's own routing of "duty:<district>"."""
        if notice.recipient != "duty":
            return notice
        duty = self.on_duty(notice.district, datetime.now(timezone.utc)) if self.on_duty else None
        if duty is None:
            return notice.model_copy(update={"recipient": f"duty:{notice.district or '-'}"})
        return notice.model_copy(update={"recipient": f"duty:{duty.identity or duty.name}", "address": duty.phone})

    def render(self, notice: Notice) -> Notice:
        if not notice.template:
            return notice  # sent ready-made by a case started before templates
        if self.templates is None:
            raise RuntimeError("the notifier has no templates to render notices with")
        return notice.model_copy(
            update={"text": self.templates.render(notice.template, notice.params, self._link(notice), notice.district)}
        )

    def _link(self, notice: Notice) -> str:
        """The complainant's link to their case, kept in the read model so the gateway can open it."""
        if notice.template not in COMPLAINANT or self.links is None:
            return ""
        link = self.links.make(notice.params.get(LINK_TO.get(notice.template, ""), notice.case_id))
        if self.read_model is not None:
            self.read_model.register_link(link)
        return self.links.url(link)

    @activity.defn(name="send_notice")
    async def send_notice(self, notice: Notice) -> None:
        notice = self.address(await asyncio.to_thread(self.render, notice))
        outbox = self.read_model if notice.id else None  # notices of old histories carry no id
        if outbox:
            kept = notice.model_copy(update={"text": redact(notice.text)})  # the outbox holds no link
            await asyncio.to_thread(outbox.outbox_attempt, kept)
        try:
            await self.sender.send(notice)
        except Exception as err:
            activity.metric_meter().create_counter(
                "complaints_notice_failures", "attempts to send a notice that failed (each is retried)"
            ).add(1, {"kind": notice.kind.value})
            if outbox:
                await asyncio.to_thread(outbox.outbox_result, notice.id, f"{type(err).__name__}: {err}")
            raise
        if outbox:
            await asyncio.to_thread(outbox.outbox_result, notice.id, None)
