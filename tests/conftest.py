"""Shared fixtures: one real time-skipping test server for the session, a worker per test."""

from __future__ import annotations

import base64
import os

# One keyring for the test process and every CLI or worker process it starts.
# Processes the tests start serve no metrics unless a test gives them a free port.
os.environ.setdefault("COMPLAINTS_METRICS_ADDRESS", "off")
os.environ.setdefault("COMPLAINTS_CODEC_KEYS", "test-1:" + base64.b64encode(b"k" * 32).decode())
# Every workflow in the tests runs in the SDK's sandbox, so a forbidden call fails CI (workers default to off).
os.environ.setdefault("COMPLAINTS_WORKFLOW_SANDBOX", "1")

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime

import pytest
from sqlmodel import SQLModel
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from models import CaseState, Notice
from readmodel import ReadModel
from readmodel.store import make_engine
from runtime import devserver
from sla import WorkingCalendar
from starter import data_converter
from tests.postgres import postgres_url
from worker import create_worker
from workflows.search_attributes import KEYS


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
        import asyncio

        for _ in range(int(timeout / 0.05)):
            if (recipient, kind) in self.kinds(case_id):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {kind} notice to {recipient}: {self.kinds(case_id)}")


@pytest.fixture(scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    environment = await devserver.start_test_server(data_converter(), search_attributes=KEYS)
    yield environment
    await environment.shutdown()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A running PostgreSQL for the read-model tests. Skipped where none can be had, except in
    CI (COMPLAINTS_REQUIRE_PG=1), where a missing PostgreSQL is a failure."""
    with postgres_url() as url:
        if url is None:
            message = "no PostgreSQL here: install Debian's postgresql package (.ci/run does)"
            if os.environ.get("COMPLAINTS_REQUIRE_PG"):
                pytest.fail(message)
            pytest.skip(message)
        yield url


def fresh_postgres(url: str) -> str:
    SQLModel.metadata.drop_all(make_engine(url))
    return url


@pytest.fixture(scope="session")
def sender() -> RecordingSender:
    return RecordingSender()


TEST_PHONE_KEY = b"test-phone-key"


@pytest.fixture(scope="session")
def read_model(tmp_path_factory) -> ReadModel:
    return ReadModel(f"sqlite:///{tmp_path_factory.mktemp('readmodel') / 'complaints.db'}", TEST_PHONE_KEY)


@pytest.fixture(scope="session")
async def client(env: WorkflowEnvironment, sender: RecordingSender, read_model: ReadModel) -> AsyncIterator[Client]:
    # One worker for the whole session: time skipping is global to the test server, and a case
    # left open by an earlier test must still have a worker when its timers fire.
    queue = f"complaints-{uuid.uuid4().hex[:8]}"
    worker = create_worker(
        env.client, task_queue=queue, sender=sender, calendar=WorkingCalendar(), read_model=read_model
    )
    async with worker:
        env.client.task_queue = queue  # type: ignore[attr-defined]
        yield env.client


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
    import asyncio

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
