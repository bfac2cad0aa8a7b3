"""`python worker.py` exits 2 naming the fix on an unprepared namespace; `python -m starter list
--stuck` shows a case failing its workflow task, with the error."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

from temporalio.testing import WorkflowEnvironment

from models import CaseInput
from starter.cluster import setup_namespace
from tests.support.cases import complaint
from tests.support.engine import bare_dev_server, worker_with_own_read_model
from tests.support.processes import ROOT, worker_once


def test_python_worker_exits_2_on_an_unprepared_namespace(tmp_path):
    async def address() -> tuple[WorkflowEnvironment, str]:
        env = await bare_dev_server()
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
    env = await bare_dev_server()
    try:
        queue = f"complaints-{uuid.uuid4().hex[:8]}"
        unchecked = worker_with_own_read_model(env.client, queue, tmp_path)
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
    env = await bare_dev_server()
    try:
        await setup_namespace(env.client)
        queue = f"complaints-{uuid.uuid4().hex[:8]}"
        async with worker_with_own_read_model(env.client, queue, tmp_path):
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
