"""Shared fixtures: one real time-skipping test server for the session, a worker per test."""

from __future__ import annotations

import base64
import os

# One keyring for the test process and every CLI or worker process it starts.
# Processes the tests start serve no metrics unless a test gives them a free port.
os.environ.setdefault("COMPLAINTS_METRICS_ADDRESS", "off")
os.environ.setdefault("COMPLAINTS_CODEC_KEYS", "test-1:" + base64.b64encode(b"k" * 32).decode())
os.environ.setdefault("COMPLAINTS_LINK_KEYS", "links-1:" + base64.b64encode(b"l" * 32).decode())
# Every workflow in the tests runs in the SDK's sandbox, so a forbidden call fails CI (workers default to off).
os.environ.setdefault("COMPLAINTS_WORKFLOW_SANDBOX", "1")
# Webhook receivers in the tests listen on loopback over plain http, and retry soon.
os.environ.setdefault("COMPLAINTS_WEBHOOK_ALLOW_HTTP_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("COMPLAINTS_WEBHOOK_FIRST_RETRY", "0.2")

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from readmodel import ReadModel
from runtime import devserver
from sla import WorkingCalendar
from starter import data_converter
from tests.support.cases import TEST_PHONE_KEY, RecordingSender
from tests.support.postgres import postgres_url
from worker import create_worker
from workflows.search_attributes import KEYS


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


@pytest.fixture(scope="session")
def sender() -> RecordingSender:
    return RecordingSender()


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
