"""Webhooks end to end, as operators run them: `python -m starter webhook add`, a worker process,
the dev server, and the Node.js receiver of examples/ verifying every signature. The receiver
answers 500 to the first two tries of every event and is stopped for a while in the middle; the
worker is SIGKILLed in the middle of another run. Every event of 20 concurrent closed loops
arrives, each case's in order, each retry with its first webhook-id, and no case waits."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections import defaultdict

import httpx
from temporalio.client import Client

from models import CaseState
from models.webhooks import message_id
from starter import act, file_complaint
from tests.support.cases import complaint
from tests.support.processes import (
    CLOSE,
    WorkerProcess,
    add_identity,
    cli,
    free_port,
    metric,
    read_model,
    worker_env,
)
from tests.support.receiver import NodeReceiver

LOOPS = 20


def subscribe(variables: dict[str, str], port: int) -> str:
    variables["COMPLAINTS_WEBHOOK_FIRST_RETRY"] = "0.05"  # retries soon (doubling from there)
    add_identity(variables, "command-centre", "supervisor")
    added = cli(
        variables,
        *("webhook", "add", "centre", "--identity", "command-centre"),
        *("--url", f"http://127.0.0.1:{port}/hooks", "--events", "*"),
    )
    assert added.returncode == 0, added.stderr
    return added.stdout.strip().splitlines()[-1]


async def closed_loop(client: Client, case_id: str, queue: str) -> CaseState:
    await file_complaint(client, case_id, {"complaint": complaint()}, task_queue=queue)
    for update, payload in CLOSE:
        await act(client, case_id, update, payload)
    return await client.get_workflow_handle(case_id, result_type=CaseState).result()


async def all_delivered(receiver: NodeReceiver, expected: dict[str, list[int]], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        got = {(line["case_id"], line["seq"]) for line in receiver.acknowledged()}
        missing = [(c, s) for c, seqs in expected.items() for s in seqs if (c, s) not in got]
        if not missing:
            return
        assert time.monotonic() < deadline, f"{len(missing)} events never delivered, e.g. {missing[:5]}"
        await asyncio.sleep(0.2)


def check_deliveries(receiver: NodeReceiver, expected: dict[str, list[int]]) -> None:
    assert all(line.get("verified", True) for line in receiver.lines), "a signature did not verify"
    first_acks: dict[str, list[int]] = defaultdict(list)
    for line in receiver.acknowledged():
        seqs = first_acks[line["case_id"]]
        if line["seq"] not in seqs:
            seqs.append(line["seq"])
    # Each case's events reached the receiver in the order they happened, every one of them.
    assert {c: first_acks[c] for c in expected} == expected
    # A retried event always carried its first webhook-id: the event's own, on every try.
    for line in receiver.lines:
        if "case_id" in line:
            assert line["id"] == message_id(line["case_id"], line["seq"])
    tries: dict[str, list[int]] = defaultdict(list)
    for line in receiver.lines:
        if "status" in line:
            tries[line["id"]].append(line["status"])
    assert all(statuses.count(500) >= 2 for statuses in tries.values())  # every event was retried


async def test_twenty_closed_loops_reach_a_receiver_that_fails_and_goes_away(server, tmp_path):
    variables = worker_env(server, tmp_path)
    queue, port = variables["COMPLAINTS_TASK_QUEUE"], free_port()
    secret = subscribe(variables, port)
    receiver = NodeReceiver(secret, port, fail_first=2)
    variables["COMPLAINTS_METRICS_ADDRESS"] = metrics = f"127.0.0.1:{free_port()}"
    worker = WorkerProcess(variables, tmp_path / "w.log")
    try:
        ids = [f"hook-{uuid.uuid4().hex[:6]}" for _ in range(LOOPS)]
        first = await asyncio.gather(*(closed_loop(server, i, queue) for i in ids[: LOOPS // 2]))
        receiver.stop()  # the department's system goes away
        # ... and the cases go on without it: these close while nobody receives anything
        second = await asyncio.gather(*(closed_loop(server, i, queue) for i in ids[LOOPS // 2 :]))
        assert receiver.proc.poll() is not None
        assert all(f.status.value == "closed" for f in first + second)
        receiver.start()  # back: what it missed arrives, in order
        rm = read_model(variables)
        expected = {i: [e.seq for e in rm.events(i)] for i in ids}
        assert all(len(seqs) == len(f.timeline) for seqs, f in zip(expected.values(), first + second, strict=True))
        await all_delivered(receiver, expected)
        check_deliveries(receiver, expected)
        listed = cli(variables, "webhook", "list")
        assert listed.returncode == 0 and "centre" in listed.stdout and "active" in listed.stdout, listed.stdout
        shown = cli(variables, "webhook", "deliveries", "centre", "--limit", "5")
        assert shown.returncode == 0 and "delivered" in shown.stdout, shown.stdout
        events = sum(len(seqs) for seqs in expected.values())
        text = httpx.get(f"http://{metrics}/metrics", timeout=10).text
        assert metric(text, "complaints_webhook_delivered", webhook="centre") == events
        assert metric(text, "complaints_webhook_failed_attempts", webhook="centre") >= 2 * events
        assert metric(text, "complaints_webhook_lag_count", webhook="centre") == events
    finally:
        receiver.stop()
        worker.stop(signal.SIGTERM)


async def test_a_worker_killed_mid_run_loses_no_delivery(server, tmp_path):
    variables = worker_env(server, tmp_path)
    queue, port = variables["COMPLAINTS_TASK_QUEUE"], free_port()
    secret = subscribe(variables, port)
    receiver = NodeReceiver(secret, port, fail_first=2)
    worker = WorkerProcess(variables, tmp_path / "w1.log")
    try:
        ids = [f"kill-{uuid.uuid4().hex[:6]}" for _ in range(LOOPS)]
        # The cases close first (a worker killed in the middle of a case's update is test_faults'
        # concern; here: SIGKILL while the deliveries are under way, most of them still owed).
        finals = await asyncio.gather(*(closed_loop(server, i, queue) for i in ids))
        assert all(f.status.value == "closed" for f in finals)
        deadline = time.monotonic() + 60
        while not receiver.acknowledged():
            assert time.monotonic() < deadline, "no delivery began"
            await asyncio.sleep(0.05)
        worker.proc.kill()  # SIGKILL: no shutdown at all, deliveries and their bookkeeping mid-flight
        assert worker.proc.wait(timeout=10) == -signal.SIGKILL
        assert len(receiver.acknowledged()) < sum(len(f.timeline) for f in finals)  # most still owed
        worker = WorkerProcess(variables, tmp_path / "w2.log")
        rm = read_model(variables)
        expected = {i: [e.seq for e in rm.events(i)] for i in ids}
        await all_delivered(receiver, expected)
        check_deliveries(receiver, expected)
    finally:
        receiver.stop()
        worker.stop(signal.SIGTERM)
