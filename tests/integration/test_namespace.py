"""create_worker on a namespace the engine cannot serve: it refuses at once and takes no task
(a fresh dev server that never ran setup-cluster), or registers what the server lets it (the
time-skipping test server)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from models import CaseInput, CaseState, CaseStatus
from runtime import devserver
from starter import data_converter
from starter.cluster import NamespaceNotReady, setup_namespace
from tests.support.cases import complaint
from tests.support.engine import bare_dev_server, worker_with_own_read_model


async def test_a_fresh_dev_server_is_refused_and_no_case_is_left_failing(tmp_path):
    env = await bare_dev_server()
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
            async with worker_with_own_read_model(env.client, queue, tmp_path):
                pytest.fail("the worker started on an unprepared namespace")
        assert time.monotonic() - started < 5
        assert "CasePolicy" in str(refused.value)
        with pytest.raises(NamespaceNotReady):
            await worker_with_own_read_model(env.client, queue, tmp_path).run()

        # Nobody took the case's first task, so it is not failing: it waits for a worker.
        await asyncio.sleep(1)
        kinds = [e.event_type async for e in handle.fetch_history_events()]
        assert EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED not in kinds
        assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in kinds

        # The fix the error names, then the same case is served.
        await setup_namespace(env.client)
        async with worker_with_own_read_model(env.client, queue, tmp_path):
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
    env = await bare_dev_server()
    try:
        other = await Client.connect(
            env.client.service_client.config.target_host, namespace="no-such-namespace", data_converter=data_converter()
        )
        with pytest.raises(NamespaceNotReady, match="'no-such-namespace' does not exist"):
            async with worker_with_own_read_model(other, "complaints", tmp_path):
                pass
    finally:
        await env.shutdown()


async def test_the_time_skipping_server_gets_the_attributes_registered(tmp_path):
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=data_converter(), test_server_existing_path=devserver.test_server_path()
    )
    try:
        queue = f"complaints-{uuid.uuid4().hex[:8]}"
        async with worker_with_own_read_model(env.client, queue, tmp_path):
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
