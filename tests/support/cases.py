"""Complaints, actors and cases for tests: each complaint from a complainant of its own (so no two
tests' cases count as repeats), a sender that keeps every notice, and waiting on the engine."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from models import CaseState, Notice

TEST_PHONE_KEY = b"test-phone-key"


class RecordingSender:
    """Keeps every notice sent, so tests can assert who was told what."""

    def __init__(self) -> None:
        self.notices: list[Notice] = []

    async def send(self, notice: Notice) -> None:
        self.notices.append(notice)

    def kinds(self, case_id: str) -> list[tuple[str, str]]:
        return [(n.recipient, n.kind.value) for n in self.notices if n.case_id == case_id]

    async def wait_for(self, case_id: str, recipient: str, kind: str, timeout: float = 10.0) -> None:
        """Notices go out in the background of an update: wait (in real time) for this one."""
        for _ in range(int(timeout / 0.05)):
            if (recipient, kind) in self.kinds(case_id):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {kind} notice to {recipient}: {self.kinds(case_id)}")


def unique_phone() -> str:
    return f"139{uuid.uuid4().int % 10**8:08d}"


def complaint(**overrides) -> dict:
    """A complaint from a complainant of its own (so no two tests' cases count as repeats)."""
    base = {
        "channel": "hotline",
        "complainant": {"name": "陈女士", "phone": unique_phone()},
        "category": "property",
        "title": "小区物业断水",
        "description": "房东切断了整栋楼的供水三天。",
        "location": {"district": "光明区", "street": "凤凰街道", "community": "塘家社区", "grid": "网格07"},
    }
    base.update(overrides)
    return base


def actor(role: str, department: str | None = None, id: str | None = None) -> dict:
    return {"id": id or f"{role}-1", "role": role, "department": department}


def milestone(state: CaseState, name: str, index: int = -1):
    found = [m for m in state.milestones if m.name == name]
    assert found, f"no {name} milestone in {[m.name for m in state.milestones]}"
    return found[index]


def kinds(state: CaseState) -> list[str]:
    return [e.kind for e in state.timeline]


def new_id() -> str:
    return f"case-{uuid.uuid4().hex[:12]}"


async def server_now(env: WorkflowEnvironment) -> datetime:
    return await env.get_current_time()


async def eventually(client: Client, case_id: str, predicate, timeout: float = 10.0) -> CaseState:
    """Poll the case's state (in real time) until predicate holds: for work the engine does by itself."""
    from starter import state

    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        current = await state(client, case_id)
        try:
            if predicate(current):
                return current
        except AssertionError:
            pass  # not there yet
        if loop.time() > end:
            raise AssertionError(f"timed out waiting on case {case_id}: {current.model_dump_json()[:2000]}")
        await asyncio.sleep(0.05)
