"""Telling the departments' systems: one signed POST per try (Standard Webhooks), its answer kept.
Retrying, ordering and pausing are the delivery workflow's (workflows/webhook_delivery.py)."""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import httpx
from standardwebhooks.webhooks import Webhook
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from models import Complaint
from models.actor import sees_personal_data
from models.base import Strict
from models.webhooks import (
    ALERT_PREFIX,
    ATTEMPT_TIMEOUT,
    MORE,
    WORKFLOW,
    DeliveryJob,
    Owed,
    alert_body,
    body,
    check_url,
    message_id,
    retry_wait,
)
from models.webhooks import workflow_id as delivery_workflow_id
from readmodel import Links, ReadModel
from readmodel.evidence_links import grant
from readmodel.privacy import person_as_seen
from readmodel.tables import DeliveryRow
from readmodel.webhooks import Subscription, WebhookError, Webhooks
from runtime import logs, settings

log = logs.get("webhooks")
PAUSED = "WebhookPaused"  # the error type that ends a delivery workflow without retrying
# The first tries from a case's write share this: within the write's local try (workflows/projection.py).
FIRST_TRIES = timedelta(seconds=2)


class PauseRequest(Strict):
    webhook: str
    reason: str


@dataclass(frozen=True)
class Timing:
    first_retry: timedelta = timedelta(seconds=1)
    pause_after: timedelta = timedelta(days=3)

    @classmethod
    def from_settings(cls, config: settings.Settings) -> Timing:
        """COMPLAINTS_WEBHOOK_FIRST_RETRY and COMPLAINTS_WEBHOOK_PAUSE_AFTER."""
        return cls(timedelta(seconds=config.webhook_first_retry), timedelta(seconds=config.webhook_pause_after))

    def job(self, webhook: str, case_id: str) -> DeliveryJob:
        return DeliveryJob(
            webhook=webhook,
            case_id=case_id,
            first_retry_seconds=self.first_retry.total_seconds(),
            pause_after_seconds=self.pause_after.total_seconds(),
        )


async def wake(client: Client, task_queue: str, timing: Timing, webhooks: list[str], case_id: str) -> None:
    """Signal (or start) each subscription's delivery workflow for this case: it reads what is
    owed from the read model, so a lost or doubled signal loses or doubles nothing."""
    for name in webhooks:
        await client.start_workflow(
            WORKFLOW,
            timing.job(name, case_id),
            id=delivery_workflow_id(name, case_id),
            task_queue=task_queue,
            start_signal=MORE,
        )


class Deliveries:
    def __init__(
        self,
        webhooks: Webhooks,
        read_model: ReadModel,
        allow_http_hosts: frozenset[str],
        timing: Timing,
        client: httpx.AsyncClient | None = None,
        links: Links | None = None,
    ) -> None:
        self.links = links  # signs an attachment's address for a subscriber who sees it in clear
        self.webhooks = webhooks
        self.read_model = read_model
        self.allow_http_hosts = allow_http_hosts
        self.timing = timing
        # Redirects are not followed: a receiver cannot point the engine at another host.
        self.http = client or httpx.AsyncClient(follow_redirects=False, timeout=ATTEMPT_TIMEOUT.total_seconds())
        self._complaints: OrderedDict[str, Complaint] = OrderedDict()

    @activity.defn(name="owed_webhook_deliveries")
    async def owed(self, job: DeliveryJob) -> list[Owed]:
        """What this subscription is owed of this case, oldest first (a few at a time)."""
        return await asyncio.to_thread(self.webhooks.owed, job.webhook, job.case_id)

    @activity.defn(name="pause_webhook")
    async def pause(self, request: PauseRequest) -> None:
        await asyncio.to_thread(self.webhooks.pause, request.webhook, request.reason)
        log.warning("webhook paused", webhook=request.webhook, reason=request.reason)
        _paused(request.webhook, 1)

    @activity.defn(name="deliver_webhook")
    async def deliver(self, owed: Owed) -> None:
        """One try. Returns when the receiver answered 2xx; raises (Temporal retries) otherwise."""
        try:
            sub = await asyncio.to_thread(self.webhooks.get, owed.webhook)
        except WebhookError as err:  # removed while this was owed: nothing is owed any more
            raise ApplicationError(str(err), type=PAUSED, non_retryable=True) from None
        if sub.paused_at is not None:
            raise ApplicationError(f"webhook {sub.name} is paused", type=PAUSED, non_retryable=True)
        row = await asyncio.to_thread(self.webhooks.delivery, owed)
        if row is None or row.delivered_at is not None:
            return  # delivered by an earlier try whose answer was lost, or the subscription removed
        wait = retry_wait(timedelta(seconds=_job_first_retry(self.timing)), activity.info().attempt)
        secret = await asyncio.to_thread(self.webhooks.secret, sub.name)
        failure = await self._try(sub, secret, row, ATTEMPT_TIMEOUT, wait)
        if failure is not None:
            # Benign: a receiver that is down is expected, not the worker's fault (no traceback logged).
            raise ApplicationError(f"{sub.url}: {failure}", category=ApplicationErrorCategory.BENIGN)

    async def first_tries(self, names: list[str], complaint: Complaint, case_id: str) -> list[str]:
        """The first try of what a case's write now owes each subscription, straight from the
        write: a receiver that answers is told in milliseconds and no workflow runs (measured:
        a workflow per event and subscription halved what the worker could serve). Returns the
        subscriptions still owed something, whose delivery workflows take over: retries, order,
        pausing. The tries share FIRST_TRIES, so a slow receiver holds the write up little."""
        self._remember(case_id, complaint)  # the complaint as filed, for the payload: no query
        deadline = asyncio.get_running_loop().time() + FIRST_TRIES.total_seconds()
        done = await asyncio.gather(
            *(self._first_try(name, case_id, deadline) for name in names), return_exceptions=True
        )
        still_owed = []
        for name, outcome in zip(names, done, strict=True):
            if isinstance(outcome, Exception):  # the workflow tries again, and reports what fails there
                log.warning("webhook first try failed", webhook=name, case_id=case_id, error=repr(outcome))
            if outcome is not True:
                still_owed.append(name)
        return still_owed

    async def _first_try(self, name: str, case_id: str, deadline: float) -> bool:
        """True when everything the case owed this subscription was delivered now."""
        found = await asyncio.to_thread(self.webhooks.untried, name, case_id)
        if found is None:  # an older event is being retried, or paused: its workflow keeps the order
            return False
        sub, secret, rows = found
        for row in rows:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0 or await self._try(sub, secret, row, timedelta(seconds=left), timedelta(0)) is not None:
                return False  # the workflow tries again at once, then waits longer each time
        return True

    async def _try(
        self, sub: Subscription, secret: str, row: DeliveryRow, timeout: timedelta, wait: timedelta
    ) -> str | None:
        """POST one event, signed, and keep the answer. None when the receiver answered 2xx, else
        what went wrong; `wait`: how long until the next try, kept with a failed one."""
        owed = Owed(webhook=sub.name, case_id=row.case_id, seq=row.seq)
        payload = await self._payload(sub, owed, row.kind, row.version)
        msg_id, now = message_id(owed.case_id, owed.seq), datetime.now(timezone.utc)
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, now, text),
            "user-agent": "complaint-cases-webhooks/1",
        }
        status, answer, error = None, None, None
        try:
            check_url(sub.url, self.allow_http_hosts)  # the settings may have changed since it was added
            response = await self.http.post(
                sub.url, content=text.encode(), headers=headers, timeout=timeout.total_seconds()
            )
            status, answer = response.status_code, response.text
        except ValueError as err:
            error = str(err)
        except httpx.HTTPError as err:
            error = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
        # A redirect is a failed try: the engine posts only to the address the operator registered.
        delivered = status is not None and 200 <= status < 300
        await asyncio.to_thread(
            self.webhooks.attempted,
            owed,
            row.kind,
            row.attempts + 1,  # counted across the first try and the workflow's runs
            delivered,
            status,
            answer,
            error,
            None if delivered else now + wait,
        )
        if delivered:
            _count("complaints_webhook_delivered", sub.name)
            _paused(sub.name, 0)
            activity.metric_meter().create_histogram_timedelta(
                "complaints_webhook_lag", "from a case's change to the receiver's 2xx", "ms"
            ).with_additional_attributes({"webhook": sub.name}).record(max(timedelta(0), now - row.at))
            return None
        _count("complaints_webhook_failed_attempts", sub.name)
        return f"answered {status}" if status is not None else str(error)

    async def _payload(self, sub: Subscription, owed: Owed, kind: str, version: int) -> dict[str, object]:
        if owed.case_id.startswith(ALERT_PREFIX):  # a 类案预警, as the subscription's scope saw it
            key = owed.case_id.removeprefix(ALERT_PREFIX)
            found = await asyncio.to_thread(self.webhooks.alert, sub.name, key)
            if found is None:
                raise ApplicationError(f"alert {key} is not owed to {sub.name}", type=PAUSED, non_retryable=True)
            return alert_body(found.found_at, key, found.alert)
        case, event = await asyncio.gather(
            asyncio.to_thread(self.read_model.case, owed.case_id),
            asyncio.to_thread(self.read_model.event, owed.case_id, owed.seq),
        )
        if case is None or event is None:
            raise ApplicationError(f"case {owed.case_id} event {owed.seq} is not in the read model yet")
        clear = sees_personal_data(sub.identity, case.department, case.first_department, case.leader_id)
        summary: dict[str, object] = {
            "case_id": case.case_id,
            "status": case.status,
            "category": case.category,
            "track": case.track,
            "channel": case.channel,
            "policy": case.policy,
            "title": case.title,
            "district": case.district,
            "street": case.street,
            "community": case.community,
            "grid": case.grid,
            "address": case.address,
            "department": case.department,
            "first_department": case.first_department,
            "escalated": case.escalated,
            "reopen_count": case.reopen_count,
            "satisfaction": case.satisfaction,
            "received_at": _iso(case.received_at),
            "resolved_at": _iso(case.resolved_at),
            "closed_at": _iso(case.closed_at),
            "complainant": None,
        }
        if case.complainant_masked is not None:
            person = (await self._complaint(owed.case_id)).complainant
            if person is not None:
                summary["complainant"] = person_as_seen(person.name, person.phone, person.email, clear)
        timeline_event = {
            "seq": event.seq,
            "kind": event.kind,
            "at": _iso(event.at),
            "actor": {"id": event.actor_id, "role": event.actor_role, "department": event.actor_department}
            if event.actor_id
            else None,
            "detail": event.detail,
        }
        message = body(kind, event.at, owed.case_id, version, timeline_event, summary)
        digest = event.detail.get("digest") if event.kind == "attached" and isinstance(event.detail, dict) else None
        if digest and clear and self.links is not None:  # evidence: its facts, and a 10-minute address to it
            token = grant(self.links.keyring, owed.case_id, str(digest), sub.identity.id)
            message["data"]["attachment"] = {
                "id": digest,
                "kind": event.detail.get("evidence"),
                "purpose": event.detail.get("purpose"),
                "media_type": event.detail.get("media_type"),
                "size": event.detail.get("size"),
                "url": f"{self.links.public_url}/v1/evidence/{token}",
            }
        return message

    async def _complaint(self, case_id: str) -> Complaint:
        """The complaint as filed (personal data only ever in Temporal, encrypted), cached a while."""
        if case_id in self._complaints:
            self._complaints.move_to_end(case_id)
            return self._complaints[case_id]
        found = await activity.client().get_workflow_handle(case_id).query("complaint", result_type=Complaint)
        self._remember(case_id, found)
        return found

    def _remember(self, case_id: str, complaint: Complaint) -> None:
        self._complaints[case_id] = complaint
        self._complaints.move_to_end(case_id)
        if len(self._complaints) > 2000:
            self._complaints.popitem(last=False)


def _count(name: str, webhook: str) -> None:
    activity.metric_meter().create_counter(name, name.replace("_", " ")).with_additional_attributes(
        {"webhook": webhook}
    ).add(1)


def _paused(webhook: str, value: int) -> None:
    activity.metric_meter().create_gauge(
        "complaints_webhook_paused", "1 once the subscription paused, 0 after its next delivery"
    ).with_additional_attributes({"webhook": webhook}).set(value)


def _job_first_retry(timing: Timing) -> float:
    info = activity.info()
    # The workflow's job carries the retry schedule it started with; a try in the same run follows it.
    return (
        timing.first_retry.total_seconds()
        if info.retry_policy is None
        else info.retry_policy.initial_interval.total_seconds()
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
