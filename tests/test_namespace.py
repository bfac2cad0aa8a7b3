"""create_worker on a namespace the engine cannot serve: it refuses at once and takes no task
(a fresh dev server that never ran setup-cluster), or registers what the server lets it (the
time-skipping test server); `python worker.py` exits 2 naming the fix."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from models import CaseInput, CaseState, CaseStatus
from readmodel import ReadModel
from runtime import devserver
from sla import WorkingCalendar
from starter import data_converter
from starter.cluster import NamespaceNotReady, setup_namespace
from tests.conftest import TEST_PHONE_KEY, RecordingSender, complaint
from tests.test_worker_process import ROOT, worker_once
from worker import create_worker


def _worker(client: Client, queue: str, folder: Path):
    return create_worker(
        client,
        task_queue=queue,
        sender=RecordingSender(),
        calendar=WorkingCalendar(),
        read_model=ReadModel(f"sqlite:///{folder / 'complaints.db'}", TEST_PHONE_KEY),
    )


async def _bare_dev_server() -> WorkflowEnvironment:
    """A dev server as a new user starts one: none of the engine's search attributes."""
    return await WorkflowEnvironment.start_local(
        data_converter=data_converter(), dev_server_existing_path=devserver.dev_server_path(), ui=False
    )


async def test_a_fresh_dev_server_is_refused_and_no_case_is_left_failing(tmp_path):
    env = await _bare_dev_server()
    try:
        queue = f"complaints-{uuid.uuid4().hex[:8]}"
        case_id = f"ns-{uuid.uuid4().hex[:8]}"
        handle = await env.client.start_workflow(
            "ComplaintCase",
            CaseInput.model_validate({"complaint": complaint()}),
            id=case_id,
            task_queue=queue,
            result_type=CaseState,
        )
        started = time.monotonic()
        with pytest.raises(NamespaceNotReady, match="python -m starter setup-cluster") as refused:
            async with _worker(env.client, queue, tmp_path):
                pytest.fail("the worker started on an unprepared namespace")
        assert time.monotonic() - started < 5
        assert "CasePolicy" in str(refused.value)
        with pytest.raises(NamespaceNotReady):
            await _worker(env.client, queue, tmp_path).run()

        # Nobody took the case's first task, so it is not failing: it waits for a worker.
        await asyncio.sleep(1)
        kinds = [e.event_type async for e in handle.fetch_history_events()]
        assert EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED not in kinds
        assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in kinds

        # The fix the error names, then the same case is served.
        await setup_namespace(env.client)
        async with _worker(env.client, queue, tmp_path):
            for _ in range(100):
                state = await handle.query("state", result_type=CaseState)
                if state.timeline and state.milestones:
                    break
                await asyncio.sleep(0.1)
            assert state.status == CaseStatus.received and state.milestones
        kinds = [e.event_type async for e in handle.fetch_history_events()]
        assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in kinds
    finally:
        await env.shutdown()


async def test_an_unknown_namespace_is_refused_naming_it(tmp_path):
    env = await _bare_dev_server()
    try:
        other = await Client.connect(
            env.client.service_client.config.target_host, namespace="no-such-namespace", data_converter=data_converter()
        )
        with pytest.raises(NamespaceNotReady, match="'no-such-namespace' does not exist"):
            async with _worker(other, "complaints", tmp_path):
                pass
    finally:
        await env.shutdown()


async def test_the_time_skipping_server_gets_the_attributes_registered(tmp_path):
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=data_converter(), test_server_existing_path=devserver.test_server_path()
    )
    try:
        queue = f"complaints-{uuid.uuid4().hex[:8]}"
        async with _worker(env.client, queue, tmp_path):
            handle = await env.client.start_workflow(
                "ComplaintCase",
                CaseInput.model_validate({"complaint": complaint()}),
                id=f"ns-{uuid.uuid4().hex[:8]}",
                task_queue=queue,
                result_type=CaseState,
            )
            state = await handle.query("state", result_type=CaseState)
            assert state.status == CaseStatus.received
            await env.sleep(2 * 3600)  # past the dispatch deadline: the case upserts and breaches
            state = await handle.query("state", result_type=CaseState)
            assert state.breaches == ["dispatch"]
            kinds = [e.event_type async for e in handle.fetch_history_events()]
            assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in kinds
    finally:
        await env.shutdown()


def test_python_worker_exits_2_on_an_unprepared_namespace(tmp_path):
    async def address() -> tuple[WorkflowEnvironment, str]:
        env = await _bare_dev_server()
        return env, env.client.service_client.config.target_host

    loop = asyncio.new_event_loop()
    env, target = loop.run_until_complete(address())
    try:
        run = worker_once(
            os.environ
            | {
                "TEMPORAL_ADDRESS": target,
                "COMPLAINTS_DATA_DIR": str(tmp_path),
                "COMPLAINTS_TASK_QUEUE": "complaints-refused",
            }
        )
        assert run.returncode == 2, run.stderr
        output = run.stdout + run.stderr
        assert "python -m starter setup-cluster" in output and "Traceback" not in output
    finally:
        loop.run_until_complete(env.shutdown())
        loop.close()


async def test_list_stuck_shows_a_case_failing_its_workflow_task_with_the_error(tmp_path):
    """A case whose every workflow task fails (here: a worker that skipped the namespace check
    serving a namespace without the engine's search attributes) is listed with its error; a
    healthy case is not."""
    env = await _bare_dev_server()
    try:
        queue = f"complaints-{uuid.uuid4().hex[:8]}"
        unchecked = _worker(env.client, queue, tmp_path)
        unchecked._namespace_checked = True  # as an older worker, or one started before the attributes went
        case_id = f"stuck-{uuid.uuid4().hex[:8]}"
        async with unchecked:
            await env.client.start_workflow(
                "ComplaintCase", CaseInput.model_validate({"complaint": complaint()}), id=case_id, task_queue=queue
            )
            handle = env.client.get_workflow_handle(case_id)
            for _ in range(100):
                if (await handle.describe()).raw_description.pending_workflow_task.attempt >= 2:
                    break
                await asyncio.sleep(0.1)
        target = env.client.service_client.config.target_host
        run = subprocess.run(
            [sys.executable, "-m", "starter", "list", "--stuck"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            env=os.environ | {"TEMPORAL_ADDRESS": target},
        )
        assert run.returncode == 0, run.stderr
        line = next(line for line in run.stdout.splitlines() if line.startswith(case_id))
        assert "CasePolicy" in line or "search attribute" in line.lower(), run.stdout
        assert "1 case failing" in run.stdout
        as_json = subprocess.run(
            [sys.executable, "-m", "starter", "list", "--stuck", "--json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            env=os.environ | {"TEMPORAL_ADDRESS": target},
        )
        import json

        [stuck] = json.loads(as_json.stdout)
        assert stuck["case_id"] == case_id and stuck["attempts"] >= 2 and stuck["failing_since"]
    finally:
        await env.shutdown()


async def test_list_stuck_is_empty_when_every_case_is_healthy(tmp_path):
    env = await _bare_dev_server()
    try:
        await setup_namespace(env.client)
        queue = f"complaints-{uuid.uuid4().hex[:8]}"
        async with _worker(env.client, queue, tmp_path):
            await env.client.start_workflow(
                "ComplaintCase",
                CaseInput.model_validate({"complaint": complaint()}),
                id=f"ok-{uuid.uuid4().hex[:8]}",
                task_queue=queue,
            )
            from starter.supervise import list_query, stuck_cases

            await asyncio.sleep(1)
            assert await stuck_cases(env.client, list_query()) == []
    finally:
        await env.shutdown()
