"""The audit part of `make bench` (issue 27): closed cases audited per second on one audit worker
process and on two, next to the offline replay of the same cases' exported histories on one
process (today's `starter replay DIR --jobs 1`), and the bare SDK replayer on the bare workflow's
histories (the physical limit here: the same updates, no engine)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from bench.cases import bare_case, engine_case
from bench.processes import Process
from models.audit import AuditRequest
from starter import audits, data_converter


async def _in_chunks(make: Any, ids: list[str], size: int = 20) -> None:
    for start in range(0, len(ids), size):
        await asyncio.gather(*(make(i) for i in ids[start : start + size]))


async def measure(client: Client, environ: dict[str, str], folder: Path, cases: int, say: Any) -> dict[str, Any]:
    from bench.bare import BareCase

    stamp = uuid.uuid4().hex[:6]
    since = datetime.now(timezone.utc)  # the period starts with this part's cases (another part's may close in it too)
    engine_ids = [f"audit-bench-{stamp}-{n}" for n in range(cases)]
    bare_ids = [f"audit-bare-{stamp}-{n}" for n in range(cases)]
    say(f"Closing {cases} cases for the audit, and as many bare ones ...")
    await _in_chunks(lambda i: engine_case(client, i, 7_000_000 + engine_ids.index(i)), engine_ids)
    await _in_chunks(lambda i: bare_case(client, i, 8_000_000 + bare_ids.index(i)), bare_ids)
    until = datetime.now(timezone.utc) + timedelta(seconds=5)
    result: dict[str, Any] = {"cases": cases}

    say("The bare SDK replayer on the bare workflow's histories ...")
    histories = [await client.get_workflow_handle(i).fetch_history() for i in bare_ids]
    replayer = Replayer(
        workflows=[BareCase], data_converter=data_converter(), workflow_runner=UnsandboxedWorkflowRunner()
    )
    started = time.perf_counter()
    await replayer.replay_workflows(_each(histories))
    result["bare_replayer_per_second"] = round(cases / (time.perf_counter() - started), 1)

    say("Before: the exported histories replayed offline on one process ...")
    out = folder / "audit-histories"
    subprocess.run(
        [sys.executable, "-m", "starter", "export", "--out", str(out), *engine_ids],
        env=environ,
        check=True,
        capture_output=True,
    )
    replayed = subprocess.run(
        [sys.executable, "-m", "starter", "replay", str(out), "--jobs", "1"],
        env=environ,
        capture_output=True,
        text=True,
    )
    m = re.search(r"replayed (\d+) histories in ([\d.]+)s", replayed.stdout)
    if not m:
        raise RuntimeError(f"replay failed: {replayed.stdout}{replayed.stderr}")
    result["offline_replay_per_second"] = round(int(m.group(1)) / float(m.group(2)), 1)

    for workers in (1, 2):
        queue = f"bench-audit-{workers}-{stamp}"
        env = {**environ, "COMPLAINTS_AUDIT_TASK_QUEUE": queue, "COMPLAINTS_METRICS_ADDRESS": "off"}
        say(f"The audit on {workers} audit worker process{'es' if workers > 1 else ''} ...")
        procs = [
            Process(["worker.py", "--audit"], env, folder / f"audit-worker-{workers}-{n}.log") for n in range(workers)
        ]
        try:
            audit_id = await audits.start(client, AuditRequest(since=since, until=until), task_queue=queue)
            report = await audits.wait(client, audit_id)
        finally:
            for p in procs:
                p.stop()
        t = report.totals
        seconds = (report.finished_at - report.started_at).total_seconds()
        result[f"audit_{workers}_workers"] = {
            "cases": t.cases,
            "chain_verified": t.chain_verified,
            "findings": len(t.findings),
            "seconds": round(seconds, 2),
            "per_second": round(t.cases / seconds, 1),
        }
    one, two = result["audit_1_workers"]["per_second"], result["audit_2_workers"]["per_second"]
    result["two_workers_ratio"] = round(two / one, 2) if one else None
    return result


async def _each(histories: list[Any]) -> Any:
    for h in histories:
        yield h


def lines(a: dict[str, Any]) -> list[str]:
    one, two = a["audit_1_workers"], a["audit_2_workers"]
    return [
        "",
        f"audit of {a['cases']} closed cases (cases/s): one audit worker {one['per_second']}, two "
        f"{two['per_second']} (x{a['two_workers_ratio']}); offline replay on one process "
        f"{a['offline_replay_per_second']}; bare SDK replayer on the bare workflow {a['bare_replayer_per_second']}",
        f"  chain-verified {one['chain_verified']}/{one['cases']} and {two['chain_verified']}/{two['cases']}; "
        f"findings {one['findings']} and {two['findings']}",
    ]
