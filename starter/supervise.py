"""Live lists for supervisors, through Temporal visibility: they work when the read model is down."""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone

from pydantic import BaseModel
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import Client, WorkflowExecution

from models.case_input import WORKFLOW_TYPE
from models.dispute import DisputeKind
from models.scope import Seen
from models.tree import Level, Tree
from workflows import search_attributes as sa


class CaseSummary(BaseModel):
    """A case as a live list shows it (from its search attributes)."""

    case_id: str
    status: str | None
    department: str | None
    street: str | None
    category: str | None
    next_deadline: datetime | None
    breaches: int
    overdue: int
    escalated: bool
    resolved_at: datetime | None = None  # on the callback list (待回访)


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def place_clause(city: Tree, code: str) -> str:
    """The visibility condition for the cases placed under `code` (edition 7's codes)."""
    place = city.places[code]
    if place.level == Level.city:
        districts = [p.code for p in city.children(code)]
        return f"{sa.DISTRICT.name} IN ({', '.join(_quote(d) for d in districts) or _quote('-')})"
    attribute = {Level.district: sa.DISTRICT, Level.street: sa.STREET, Level.community: sa.COMMUNITY}.get(place.level)
    if attribute is None:
        raise ValueError(f"{code}: a {place.level.value} is not a search attribute; name its community")
    return f"{attribute.name} = {_quote(code)}"


def seen_clause(city: Tree, seen: Seen) -> str | None:
    """The "sees" rule (models/scope.py) as a visibility condition: the scope's place, or a case
    that is or was assigned to one of the viewer's units. None: it sees everything. (Mediators see
    their disputes by GET; a list shows them their scope's.)"""
    if seen.everything:
        return None
    assert seen.scope is not None
    options = [place_clause(city, seen.scope)]
    if seen.units:
        options.append(f"{sa.UNITS.name} IN ({', '.join(_quote(u) for u in sorted(seen.units))})")
    return "(" + " OR ".join(options) + ")"


def list_query(
    *,
    status: str | None = None,
    department: str | None = None,
    street: str | None = None,
    street_codes: tuple[str, ...] = (),
    seen: str | None = None,
    within: str | None = None,
    category: str | None = None,
    overdue: bool = False,
    escalated: bool = False,
    due_within: timedelta | None = None,
    now: datetime | None = None,
    kind: str | None = None,
) -> str:
    """A visibility query; without a status, the open cases. `kind`: "dispute" (every case taken
    to mediation) or one kind of dispute ("labour"). `seen` and `within`: conditions from
    seen_clause and place_clause, the caller's scope and the place it narrows to."""
    parts = [f"WorkflowType = {_quote(WORKFLOW_TYPE)}"]
    parts.append(f"{sa.CASE_STATUS.name} = {_quote(status)}" if status else "ExecutionStatus = 'Running'")
    if department:
        parts.append(f"{sa.DEPARTMENT.name} = {_quote(department)}")
    if street:
        # As filed before edition 7 (a name), or the codes the tree gives that name since.
        names = [street, *street_codes]
        parts.append(f"{sa.STREET.name} IN ({', '.join(_quote(n) for n in names)})")
    if seen:
        parts.append(seen)
    if within:
        parts.append(within)
    if category:
        parts.append(f"{sa.CATEGORY.name} = {_quote(category)}")
    if overdue:
        parts.append(f"{sa.OVERDUE_COUNT.name} > 0")
    if escalated:
        parts.append(f"{sa.ESCALATED.name} = true")
    if kind == "dispute":
        parts.append(f"{sa.DISPUTE_KIND.name} IN ({', '.join(_quote(k.value) for k in DisputeKind)})")
    elif kind is not None:
        parts.append(f"{sa.DISPUTE_KIND.name} = {_quote(DisputeKind(kind).value)}")
    if due_within is not None:
        until = (now or datetime.now(timezone.utc)) + due_within
        parts.append(f"{sa.NEXT_DEADLINE.name} <= {_quote(until.astimezone(timezone.utc).isoformat())}")
    return " AND ".join(parts)


def listed(execution: WorkflowExecution) -> CaseSummary:
    a = execution.typed_search_attributes
    return CaseSummary(
        case_id=execution.id,
        status=a.get(sa.CASE_STATUS),
        department=a.get(sa.DEPARTMENT),
        street=a.get(sa.STREET),
        category=a.get(sa.CATEGORY),
        next_deadline=a.get(sa.NEXT_DEADLINE),
        breaches=a.get(sa.BREACH_COUNT) or 0,
        overdue=a.get(sa.OVERDUE_COUNT) or 0,
        escalated=bool(a.get(sa.ESCALATED)),
    )


async def list_cases(client: Client, query: str, limit: int = 200) -> list[CaseSummary]:
    return [listed(execution) async for execution in client.list_workflows(query, limit=limit)]


async def list_page(
    client: Client, query: str, page_size: int, page_token: bytes | None = None
) -> tuple[list[CaseSummary], bytes | None]:
    """One page of cases and the token of the next (None: this was the last)."""
    pages = client.list_workflows(query, page_size=page_size, next_page_token=page_token)
    await pages.fetch_next_page()
    return [listed(e) for e in pages.current_page or []], pages.next_page_token or None


@dataclass
class StuckCase:
    """An open case whose workflow task keeps failing: no update reaches it, no timer moves it."""

    case_id: str
    attempts: int
    failing_since: datetime | None
    cause: str | None
    error: str

    def as_json(self) -> dict:
        d = asdict(self)
        d["failing_since"] = self.failing_since.isoformat() if self.failing_since else None
        return d


async def stuck_cases(client: Client, query: str, *, concurrency: int = 16) -> list[StuckCase]:
    """Describe every case the query lists (one call each: visibility cannot say whether a task
    fails) and keep those retrying a failed workflow task, with the failure from the history."""
    gate = asyncio.Semaphore(concurrency)

    async def look(case_id: str) -> StuckCase | None:
        async with gate:
            handle = client.get_workflow_handle(case_id)
            pending = (await handle.describe()).raw_description.pending_workflow_task
            if pending.attempt < 2:
                return None
            last = None
            async for event in handle.fetch_history_events():
                if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                    last = event
        failure = last.workflow_task_failed_event_attributes if last else None
        return StuckCase(
            case_id=case_id,
            attempts=pending.attempt,
            failing_since=last.event_time.ToDatetime(tzinfo=timezone.utc) if last else None,
            cause=WorkflowTaskFailedCause.Name(failure.cause).removeprefix("WORKFLOW_TASK_FAILED_CAUSE_")
            if failure
            else None,
            error=failure.failure.message if failure else "(the failure is not in the history yet)",
        )

    ids = [execution.id async for execution in client.list_workflows(query)]
    found = await asyncio.gather(*(look(case_id) for case_id in ids))
    return [s for s in found if s is not None]
