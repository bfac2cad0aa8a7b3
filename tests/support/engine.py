"""Workers and dev servers made by hand, for the tests that look at what happens before or around
the session's own (a namespace the engine has not prepared, say)."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from readmodel import ReadModel
from runtime import devserver
from sla import WorkingCalendar
from starter import data_converter
from tests.support.cases import TEST_PHONE_KEY, RecordingSender
from worker import create_worker


def worker_with_own_read_model(client: Client, queue: str, folder: Path) -> Worker:
    return create_worker(
        client,
        task_queue=queue,
        sender=RecordingSender(),
        calendar=WorkingCalendar(),
        read_model=ReadModel(f"sqlite:///{folder / 'complaints.db'}", TEST_PHONE_KEY),
    )


async def bare_dev_server() -> WorkflowEnvironment:
    """A dev server as a new user starts one: none of the engine's search attributes."""
    return await WorkflowEnvironment.start_local(
        data_converter=data_converter(), dev_server_existing_path=devserver.dev_server_path(), ui=False
    )
