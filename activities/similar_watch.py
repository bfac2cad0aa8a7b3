"""Watching for 类案预警 to tell (issue 40): for each subscription to `cluster_alert`, the alerts its
identity's scope sees now (readmodel/similar.py, the console's own rule), each owed once and
delivered by the same signed, retried, ordered deliveries as a case's events."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import activity

from activities.webhooks import Timing, wake
from models.scope import seen_by
from models.tree import Tree
from models.webhooks import alert_ref
from readmodel import ReadModel
from readmodel.similar import similar_alerts
from readmodel.webhooks import Webhooks
from sla.policies import SIMILAR_PEOPLE, SIMILAR_WINDOW


class SimilarWatch:
    def __init__(
        self,
        read_model: ReadModel,
        webhooks: Webhooks,
        city: Callable[[], Tree],
        task_queue: str,
        timing: Timing,
        people: int = SIMILAR_PEOPLE,
    ) -> None:
        self.read_model, self.webhooks, self.city = read_model, webhooks, city
        self.task_queue, self.timing = task_queue, timing  # where the delivery workflows run
        self.people = people

    @activity.defn(name="watch_similar_alerts")
    async def watch(self, now: datetime) -> int:
        """Owe each subscription the alerts new to it as of `now`, and wake their deliveries; how
        many were owed."""
        owed = await asyncio.to_thread(self.owe, now)
        for name, key in owed:
            await wake(activity.client(), self.task_queue, self.timing, [name], alert_ref(key))
        return len(owed)

    def owe(self, now: datetime) -> list[tuple[str, str]]:
        """(subscription, alert key) newly owed: found within what each subscription's identity
        sees, each scope clustered once however many subscriptions share it."""
        city, found, owed = self.city(), {}, []
        for sub in self.webhooks.alert_subscriptions():
            seen = seen_by(sub.identity, city)
            if seen not in found:
                found[seen] = similar_alerts(
                    self.read_model,
                    since=now - SIMILAR_WINDOW,
                    until=now + timedelta(seconds=1),
                    seen=seen,
                    people=self.people,
                )
            new = self.webhooks.owe_alerts(sub.name, {c.key: c.as_json() for c in found[seen]}, now)
            if sub.paused_at is None:  # a paused one is told on resume (its owed deliveries)
                owed += [(sub.name, key) for key in new]
        return owed
