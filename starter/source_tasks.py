"""Handing a 类案预警 to a unit as one 源头治理 task (issue 40): a grid-patrol case naming the
cluster's cases (readmodel/similar.py `task_complaint`), dispatched to the unit by the supervisor
who hands it, and a `source_task` event on each member case still open, so its own timeline says
a unit is fixing the cause. One task per alert: handing it again changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio.client import Client

from models import Actor
from models.scope import sees
from readmodel.similar import Cluster
from starter.cases import Rejected, UnknownCase, act, file_complaint, state


@dataclass
class Handed:
    task_id: str
    created: bool  # False: the alert was handed before; nothing new was done
    department: str | None
    noted: list[str] = field(default_factory=list)  # member cases whose timelines now say so
    not_noted: dict[str, str] = field(default_factory=dict)  # member -> why not (closed since, ...)


async def hand(client: Client, cluster: Cluster, unit: str, actor: Actor, *, task_queue: str) -> Handed:
    """The task filed and dispatched to `unit` (a code, name or alias of the tree), its members told.
    The caller has found `cluster` within `actor`'s own scope."""
    task_id = cluster.task_id
    filed = await file_complaint(client, task_id, {"complaint": cluster.task_complaint()}, task_queue=task_queue)
    task = await state(client, task_id)
    if not sees(actor, task.where()):  # handed before by another's scope: as unknown as a wrong id
        raise UnknownCase(f"no case {task_id}")
    if filed.created or task.department is None:
        task = await act(client, task_id, "dispatch", {"actor": actor.model_dump(mode="json"), "department": unit})
    handed = Handed(task_id, filed.created, task.department)
    for member in task.members:
        note = {"actor": actor.model_dump(mode="json"), "task_id": task_id, "department": task.department}
        try:  # at most once per member, task and hander, however often it is handed (the update's id)
            await act(client, member, "note_source_task", note, update_id=f"source-task:{task_id}:{actor.id}")
            handed.noted.append(member)
        except (Rejected, UnknownCase) as err:  # ended since, or outside the hander's scope
            handed.not_noted[member] = str(err)
    return handed
