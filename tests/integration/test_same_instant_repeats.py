"""Fifty identical complaints filed at the same instant (same phone, category and community,
concurrently through the Python API) end as exactly one open case with 49 merged into it, on a
real dev server with the read model on SQLite and on PostgreSQL, round after round without a
split: four rounds in `make test` (the claim's own race, fifty look-ups at once, runs twenty
rounds in tests/integration/test_read_model.py), twenty in `make soak`
(COMPLAINTS_SOAK_ROUNDS)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from temporalio.client import Client

from models import CaseState, CaseStatus
from readmodel import ReadModel
from runtime import devserver
from sla import WorkingCalendar
from starter import data_converter, file_complaint
from tests.support.cases import TEST_PHONE_KEY, RecordingSender, complaint, eventually, kinds, new_id, unique_phone
from tests.support.postgres import fresh_postgres
from worker import create_worker
from workflows.search_attributes import KEYS

ROUNDS, AT_ONCE = int(os.environ.get("COMPLAINTS_SOAK_ROUNDS", "4")), 50


@asynccontextmanager
async def engine_on(read_model: ReadModel, folder) -> AsyncIterator[tuple[Client, str]]:
    env = await devserver.start_dev_server(data_converter(), search_attributes=KEYS, db_file=folder / "temporal.db")
    queue = f"complaints-{uuid.uuid4().hex[:8]}"
    try:
        async with create_worker(
            env.client,
            task_queue=queue,
            sender=RecordingSender(),
            calendar=WorkingCalendar(),
            read_model=read_model,
            max_concurrent_workflow_tasks=AT_ONCE,
        ):
            yield env.client, queue
    finally:
        await env.shutdown()


async def one_round(client: Client, queue: str, read_model: ReadModel, round_: int) -> None:
    filing = {"complaint": complaint(complainant={"name": "王", "phone": f"1391{uuid.uuid4().int % 10**7:07d}"})}
    ids = [f"same-{round_}-{i}-{uuid.uuid4().hex[:6]}" for i in range(AT_ONCE)]
    await asyncio.gather(*(file_complaint(client, case_id, filing, task_queue=queue) for case_id in ids))

    def settled(case_id: str) -> bool:
        row = read_model.case(case_id)
        return row is not None and (
            row.status == CaseStatus.merged.value or any(e.kind == "acknowledged" for e in read_model.events(case_id))
        )

    # Watched through the read model, one SQL look a case (a query a case every 0.1 s, fifty at a
    # time, cost the dev server more than the filing itself); then each case's own state, once.
    waiting = list(ids)
    for _ in range(600):
        waiting = [case_id for case_id in waiting if not await asyncio.to_thread(settled, case_id)]
        if not waiting:
            break
        await asyncio.sleep(0.1)
    assert not waiting, f"round {round_}: never settled: {waiting}"
    states = await asyncio.gather(
        *(client.get_workflow_handle(case_id).query("state", result_type=CaseState) for case_id in ids)
    )
    open_cases = [s.case_id for s in states if s.status != CaseStatus.merged]
    assert len(open_cases) == 1, f"round {round_}: split into {open_cases}"
    assert {s.merged_into for s in states if s.status == CaseStatus.merged} == set(open_cases)
    # The open case heard of every repeat.
    survivor = next(s for s in states if s.case_id == open_cases[0])
    for _ in range(100):
        repeats = [e for e in survivor.timeline if e.kind == "repeat_complaint"]
        if len(repeats) == AT_ONCE - 1:
            break
        await asyncio.sleep(0.1)
        survivor = await client.get_workflow_handle(open_cases[0]).query("state", result_type=CaseState)
    assert len(repeats) == AT_ONCE - 1


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_fifty_identical_complaints_at_once_are_one_case(database, tmp_path, request):
    url = (
        f"sqlite:///{tmp_path / 'complaints.db'}"
        if database == "sqlite"
        else fresh_postgres(request.getfixturevalue("pg_url"))
    )
    read_model = ReadModel(url, TEST_PHONE_KEY)
    async with engine_on(read_model, tmp_path) as (client, queue):
        for round_ in range(ROUNDS):
            await one_round(client, queue, read_model, round_)


async def test_a_repeat_of_a_case_that_vanished_takes_its_claim_over(tmp_path):
    """The read model says open, the workflow is gone (an operator terminated it): the signal
    fails with not-found, the look-up runs again with that case marked gone, and the new
    complaint becomes the open case that the next repeat merges into. (On the real server: the
    time-skipping one stalls after a terminate.)"""
    read_model = ReadModel(f"sqlite:///{tmp_path / 'complaints.db'}", TEST_PHONE_KEY)
    async with engine_on(read_model, tmp_path) as (client, queue):
        filing = {"complaint": complaint(complainant={"name": "赵", "phone": unique_phone()})}
        first = new_id()
        await file_complaint(client, first, filing, task_queue=queue)
        await eventually(client, first, lambda s: read_model.case(first) is not None)
        await client.get_workflow_handle(first).terminate(reason="test: gone without closing")

        second = new_id()
        await file_complaint(client, second, filing, task_queue=queue)
        s = await eventually(client, second, lambda s: "acknowledged" in kinds(s))
        assert s.status == CaseStatus.received and s.merged_into is None and not s.escalated

        third = new_id()
        await file_complaint(client, third, filing, task_queue=queue)
        merged = await client.get_workflow_handle(third, result_type=CaseState).result()
        assert merged.merged_into == second
