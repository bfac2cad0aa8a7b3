"""`make bench`: the engine next to bare Temporal, on the embedded dev server (SQLite with WAL).

    python -m bench                 # the full run (about 20 minutes on 2 cores)
    python -m bench --quick         # every measurement, small: checks the script works

One fresh dev server, one engine worker process (`python worker.py`, as a user runs it) and one
worker process for the bare workflow (`python -m bench.bare`); this process is the integrators.
Prints a table, then one JSON line with every number.

1. throughput: whole closed loops per second (file, dispatch, contact, verify, reply, opinion,
   resolve, satisfied follow-up, closed) at each concurrency, engine and bare workflow in turn;
2. gateway: the same closed loops through HTTP (`python -m gateway`, API keys) and through the
   Python API, in turn; every request timed, so what HTTP adds shows in the p99 of one request;
3. acknowledgement: start to the acknowledgement notice recorded in the outbox, at a steady rate;
   webhooks: closed loops at 10 a second without and with a subscription to every event, and each
   event's lag from the change to the receiver's 2xx (bench/webhooks.py);
4. open cases: many cases open on their clocks (one in ten received an hour ago, so overdue);
   the engine worker's RSS and the databases' size before and after; time to list the overdue;
5. replay: exported histories replayed by the auditors' command (`python -m starter replay`);
6. console: the server time of each console page on a read model of 20,000 synthetic cases, and
   of a real case's page (bench/console.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col
from temporalio.client import Client

from bench.cases import BARE_QUEUE, DISPATCHER, ENGINE_QUEUE, HANDLER, STEPS, bare_case, complaint, engine_case
from bench.processes import ROOT, Process, free_port
from readmodel.schema import make_engine
from readmodel.tables import OutboxRow
from runtime import devserver, process, settings
from starter import data_converter, file_complaint
from starter.supervise import list_cases, list_query
from workflows.search_attributes import KEYS


@dataclass
class Scale:
    seconds: float  # each closed-loop measurement
    concurrency: tuple[int, ...]
    ack_rate: float  # cases per second
    ack_seconds: float
    open_cases: int
    replay: int  # histories
    console_cases: int = 20_000  # synthetic cases in the console's read model
    workers: int = 1  # worker processes each for the engine and the bare workflow
    hook_rate: float = 10  # closed loops started per second, without and with a webhook subscription
    hook_seconds: float = 60
    audit: int = 400  # closed cases the audit part audits


FULL = Scale(seconds=60, concurrency=(10, 50), ack_rate=5, ack_seconds=60, open_cases=20_000, replay=1000)
QUICK = Scale(
    seconds=4,
    concurrency=(2, 5),
    ack_rate=5,
    ack_seconds=3,
    open_cases=200,
    replay=20,
    console_cases=500,
    hook_rate=5,
    hook_seconds=3,
    audit=20,
)


# ---- 1. throughput ---------------------------------------------------------------------------


class Numbers:
    def __init__(self) -> None:
        self.next = 0

    def take(self) -> int:
        self.next += 1
        return self.next


async def closed_loops(
    client: Client, run_case: Any, prefix: str, concurrency: int, seconds: float, numbers: Numbers
) -> dict[str, float]:
    """Each of `concurrency` integrators walks one case after another until time is up."""
    done: list[float] = []
    start = time.perf_counter()
    end = start + seconds

    async def integrator() -> None:
        while time.perf_counter() < end:
            n = numbers.take()
            began = time.perf_counter()
            await run_case(client, f"{prefix}-{n}", n)
            done.append(time.perf_counter() - began)

    await asyncio.gather(*(integrator() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    return {
        "cases": len(done),
        "seconds": round(elapsed, 1),
        "per_second": round(len(done) / elapsed, 2),
        "case_p50_ms": round(statistics.median(done) * 1000),
        "case_p99_ms": round(_p(done, 0.99) * 1000),
    }


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ---- 2. acknowledgement latency --------------------------------------------------------------


async def acknowledgement(client: Client, read_model: Engine, rate: float, seconds: float, numbers: Numbers) -> dict:
    """Start cases at a steady rate; each one's latency is from the start request to its
    acknowledgement notice marked sent in the outbox."""
    started: dict[str, float] = {}
    tasks = []
    begin = time.time()
    count = int(rate * seconds)

    async def start(case_id: str, n: int, at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.time()))
        started[case_id] = time.time()
        await file_complaint(client, case_id, complaint(n), task_queue=ENGINE_QUEUE)

    for i in range(count):
        n = numbers.take()
        tasks.append(asyncio.create_task(start(f"ack-{n}", n, begin + i / rate)))
    await asyncio.gather(*tasks)
    sent = await _wait_for_acknowledgements(read_model, set(started), timeout=120)
    latencies = [sent[c] - started[c] for c in started if c in sent]
    return {
        "cases": count,
        "acknowledged": len(latencies),
        "p50_ms": round(_p(latencies, 0.5) * 1000),
        "p99_ms": round(_p(latencies, 0.99) * 1000),
        "max_ms": round(max(latencies) * 1000),
    }


# Acknowledgements sent: the outbox rows the engine's worker marked sent.
ACKNOWLEDGED = (col(OutboxRow.kind) == "acknowledgement", col(OutboxRow.sent_at).is_not(None))


async def _wait_for_acknowledgements(read_model: Engine, case_ids: set[str], timeout: float) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while True:
        with Session(read_model) as session:
            rows = session.execute(select(col(OutboxRow.case_id), col(OutboxRow.sent_at)).where(*ACKNOWLEDGED)).all()
        sent = {case_id: _utc(at).timestamp() for case_id, at in rows if case_id in case_ids}
        if len(sent) == len(case_ids) or time.monotonic() > deadline:
            return sent
        await asyncio.sleep(0.5)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _acknowledged(read_model: Engine) -> int:
    with Session(read_model) as session:
        return session.execute(select(func.count()).select_from(OutboxRow).where(*ACKNOWLEDGED)).scalar_one()


# ---- 3. open cases ---------------------------------------------------------------------------


def _size_mib(*files: Path) -> float:
    total = 0
    for f in files:
        for part in (f, f.with_name(f.name + "-wal")):
            total += part.stat().st_size if part.exists() else 0
    return total / 2**20


async def open_cases(
    client: Client, worker: Process, read_model: Engine, files: list[Path], count: int, numbers: Numbers, say: Any
) -> dict:
    rss = [(0, round(worker.rss_mib()))]
    size_before = _size_mib(*files)
    acknowledged_before = _acknowledged(read_model)
    hour_ago = datetime.now(timezone.utc) - timedelta(minutes=61)
    overdue_expected = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)
    began = time.perf_counter()
    step = max(1, count // 10)

    async def starter() -> None:
        nonlocal overdue_expected
        while not queue.empty():
            i = queue.get_nowait()
            n = numbers.take()
            late = i % 10 == 0  # its one-hour dispatch clock ran out before it was entered
            overdue_expected += late
            await file_complaint(
                client, f"open-{n}", complaint(n, received_at=hour_ago if late else None), task_queue=ENGINE_QUEUE
            )

    await asyncio.gather(*(starter() for _ in range(20)))
    started_in = time.perf_counter() - began
    say(f"  {count} started in {started_in:.0f} s; the worker works through them")
    # Every case has done its first work once its acknowledgement is out. RSS as they get there:
    deadline = time.monotonic() + 1800
    while (done := _acknowledged(read_model) - acknowledged_before) < count and time.monotonic() < deadline:
        if done >= rss[-1][0] + step:
            rss.append((done, round(worker.rss_mib())))
            say(f"  {done} cases open on their clocks, engine worker RSS {rss[-1][1]} MiB")
        await asyncio.sleep(1)
    settled_in = time.perf_counter() - began
    # Visibility is eventually consistent: wait until it shows every overdue case, then time the list.
    query = list_query(overdue=True)
    while (await client.count_workflows(query)).count < overdue_expected and time.monotonic() < deadline:
        await asyncio.sleep(2)
    visible_in = time.perf_counter() - began
    rss.append((count, round(worker.rss_mib())))
    listing = []
    for _ in range(3):
        t = time.perf_counter()
        found = await list_cases(client, query, limit=1_000_000)
        listing.append(time.perf_counter() - t)
    return {
        "cases": count,
        "started_per_second": round(count / started_in, 1),
        "settled_per_second": round(count / settled_in, 1),
        "visible_after_seconds": round(visible_in),
        "worker_rss_mib": rss,
        "db_mib_before": round(size_before, 1),
        "db_mib_after": round(_size_mib(*files), 1),
        "overdue_expected": overdue_expected,
        "overdue_listed": len(found),
        "list_overdue_seconds": round(min(listing), 2),
    }


# ---- 4. replay -------------------------------------------------------------------------------


def replay(environ: dict[str, str], folder: Path, case_ids: list[str]) -> dict:
    exported = subprocess.run(
        [sys.executable, "-m", "starter", "export", "--out", str(folder), *case_ids],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
    )
    if exported.returncode != 0:
        raise RuntimeError(f"export failed: {exported.stderr}")
    replayed = subprocess.run(
        [sys.executable, "-m", "starter", "replay", str(folder)], cwd=ROOT, env=environ, capture_output=True, text=True
    )
    m = re.search(r"replayed (\d+) histories in ([\d.]+)s, (\d+)/s: all deterministic", replayed.stdout)
    if replayed.returncode != 0 or not m:
        raise RuntimeError(f"replay failed: {replayed.stdout}{replayed.stderr}")
    files = list(folder.glob("*.json"))
    events = sum(len(json.loads(f.read_text(encoding="utf-8"))["events"]) for f in files)
    return {
        "histories": int(m.group(1)),
        "seconds": float(m.group(2)),
        "per_second": int(m.group(3)),
        "events_per_history": round(events / len(files)),
        "kib_per_history": round(sum(f.stat().st_size for f in files) / len(files) / 1024, 1),
        "kib_stored_per_history": round(sum(stored_bytes(f) for f in files) / len(files) / 1024, 1),
    }


def stored_bytes(exported: Path) -> int:
    """A history's size as Temporal stores it (protobuf), not as the JSON export spells it."""
    from temporalio.api.history.v1 import History
    from temporalio.client import WorkflowHistory

    history = WorkflowHistory.from_json(exported.stem, exported.read_text(encoding="utf-8"))
    return len(History(events=history.events).SerializeToString())


# ---- the run ---------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    found = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
    mem = int(found.group(1)) / 2**20 if found else 0.0
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem),
        "python": platform.python_version(),
        "temporal_cli": subprocess.run(
            [devserver.dev_server_path(), "--version"], capture_output=True, text=True
        ).stdout.strip(),
    }


PARTS = ["throughput", "gateway", "acknowledgement", "webhooks", "open_cases", "replay", "audit", "console"]


async def through_gateway(
    client: Client, environ: dict[str, str], folder: Path, scale: Scale, numbers: Numbers, say: Any
) -> dict[str, Any]:
    """Closed loops through HTTP next to the same loops through the Python API, per concurrency."""
    import httpx

    from bench.gateway import GatewayProcess, api_case, http_case, make_keys

    identities = f"sqlite:///{folder / 'identities.db'}"
    keys = make_keys(identities, DISPATCHER, HANDLER)
    gateway = GatewayProcess(
        {
            **environ,
            "COMPLAINTS_TASK_QUEUE": ENGINE_QUEUE,
            "COMPLAINTS_RATE_LIMIT": "0",
            "COMPLAINTS_IDENTITIES_URL": identities,
        },
        free_port(),
        folder / "gateway.log",
    )
    result: dict[str, Any] = {}
    try:
        for c in scale.concurrency:
            limits = httpx.Limits(max_connections=c + 10, max_keepalive_connections=c + 10)
            async with httpx.AsyncClient(base_url=gateway.base, timeout=120, limits=limits) as h:
                latencies: dict[str, list[float]] = {"api": [], "http": []}
                for name, run_case in (
                    ("api", api_case(STEPS, complaint, ENGINE_QUEUE, latencies["api"])),
                    ("http", http_case(h, keys, STEPS, complaint, latencies["http"])),
                ):
                    say(f"Closed loops through the {name.upper()}, concurrency {c}, {scale.seconds:.0f} s ...")
                    loops = await closed_loops(client, run_case, f"{name}-c{c}", c, scale.seconds, numbers)
                    ms = latencies[name]
                    result[f"{name}_c{c}"] = loops | {
                        "requests": len(ms),
                        "request_p50_ms": round(_p(ms, 0.5) * 1000, 1),
                        "request_p99_ms": round(_p(ms, 0.99) * 1000, 1),
                    }
            api, http = result[f"api_c{c}"], result[f"http_c{c}"]
            result[f"ratio_c{c}"] = round(http["per_second"] / api["per_second"], 2)
            result[f"added_p99_ms_c{c}"] = round(http["request_p99_ms"] - api["request_p99_ms"], 1)
            result[f"added_p50_ms_c{c}"] = round(http["request_p50_ms"] - api["request_p50_ms"], 1)
    finally:
        gateway.stop()
    return result


async def bench(scale: Scale, folder: Path, say: Any, parts: list[str] = PARTS) -> dict[str, Any]:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    # Every process of the run shares this folder: its codec and phone-hash keys, its read model.
    os.environ["COMPLAINTS_DATA_DIR"] = str(folder)
    os.environ["COMPLAINTS_WEBHOOK_ALLOW_HTTP_HOSTS"] = "127.0.0.1"  # the webhooks part's receiver
    port = free_port()
    say(f"Booting the dev server on a fresh SQLite file in {folder} ...")
    env = await devserver.start_dev_server(
        data_converter(), search_attributes=KEYS, db_file=folder / "temporal.db", port=port
    )
    client = env.client
    environ = {**os.environ, "TEMPORAL_ADDRESS": f"localhost:{port}", "PYTHONUNBUFFERED": "1"}
    read_model = make_engine(settings.load().db_url)
    engine = Process(["worker.py"], {**environ, "COMPLAINTS_TASK_QUEUE": ENGINE_QUEUE}, folder / "engine-worker.log")
    bare = Process(["-m", "bench.bare"], {**environ, "COMPLAINTS_TASK_QUEUE": BARE_QUEUE}, folder / "bare-worker.log")
    # More worker processes, as a deployment adds them (Temporal shares the task queue out).
    more = [
        Process(args, {**environ, "COMPLAINTS_TASK_QUEUE": queue, "COMPLAINTS_METRICS_ADDRESS": "off"}, folder / log)
        for n in range(2, scale.workers + 1)
        for args, queue, log in (
            (["worker.py"], ENGINE_QUEUE, f"engine-worker-{n}.log"),
            (["-m", "bench.bare"], BARE_QUEUE, f"bare-worker-{n}.log"),
        )
    ]
    numbers = Numbers()
    result: dict[str, Any] = {"machine": machine(), "throughput": {}}
    try:
        for c in scale.concurrency if "throughput" in parts else ():
            for name, run_case in (("engine", engine_case), ("bare", bare_case)):
                say(f"Closed loops, {name}, concurrency {c}, {scale.seconds:.0f} s ...")
                result["throughput"][f"{name}_c{c}"] = await closed_loops(
                    client, run_case, f"{name}-c{c}", c, scale.seconds, numbers
                )
            ratio = (
                result["throughput"][f"engine_c{c}"]["per_second"] / result["throughput"][f"bare_c{c}"]["per_second"]
            )
            result["throughput"][f"ratio_c{c}"] = round(ratio, 2)
        if "gateway" in parts:
            result["gateway"] = await through_gateway(client, environ, folder, scale, numbers, say)
        if "acknowledgement" in parts:
            say(f"Acknowledgement latency at {scale.ack_rate:.0f} cases/s for {scale.ack_seconds:.0f} s ...")
            result["acknowledgement"] = await acknowledgement(
                client, read_model, scale.ack_rate, scale.ack_seconds, numbers
            )
        if "webhooks" in parts:
            from bench import webhooks

            result["webhooks"] = await webhooks.measure(
                client, read_model, engine_case, scale.hook_rate, scale.hook_seconds, numbers, say
            )
        if "replay" in parts:  # before the open cases, on a quiet system
            say(f"Replaying {scale.replay} closed cases' histories ...")
            closed = [
                e.id
                async for e in client.list_workflows(
                    "WorkflowType = 'ComplaintCase' AND ExecutionStatus = 'Completed'", limit=scale.replay
                )
            ]
            result["replay"] = replay(environ, folder / "histories", closed)
        if "audit" in parts:
            from bench import audit

            result["audit"] = await audit.measure(client, environ, folder, scale.audit, say)
        if "console" in parts:
            from bench import console

            say(f"Console pages on {scale.console_cases} synthetic cases ...")
            one = f"console-case-{int(time.time())}"
            await file_complaint(client, one, complaint(1), task_queue=ENGINE_QUEUE)
            result["console"] = await console.measure(folder / "console", scale.console_cases, client, one)
        if "open_cases" in parts:
            say(f"Opening {scale.open_cases} cases ...")
            result["open_cases"] = await open_cases(
                client,
                engine,
                read_model,
                [folder / "temporal.db", folder / "complaints.db"],
                scale.open_cases,
                numbers,
                say,
            )
    finally:
        for worker in (engine, bare, *more):
            worker.stop()
        await env.shutdown()
        read_model.dispose()
    return result


def table(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [
        f"machine: {m['cpus']} cpus ({m['cpu']}), {m['memory_gib']} GiB, Python {m['python']}, "
        f"{m['temporal_cli'].splitlines()[0] if m['temporal_cli'] else 'temporal'}",
        "",
        f"{'closed loops':<24}{'engine/s':>10}{'bare/s':>10}{'ratio':>8}{'engine p50':>12}{'bare p50':>10}",
    ]
    t = r["throughput"]
    for key in sorted(k for k in t if k.startswith("ratio_")):
        c = key.removeprefix("ratio_c")
        e, b = t[f"engine_c{c}"], t[f"bare_c{c}"]
        lines.append(
            f"{'concurrency ' + c:<24}{e['per_second']:>10}{b['per_second']:>10}{t[key]:>8}"
            f"{e['case_p50_ms']:>10}ms{b['case_p50_ms']:>8}ms"
        )
    if "gateway" in r:
        g = r["gateway"]
        lines += [
            "",
            f"{'gateway closed loops':<24}{'http/s':>10}{'api/s':>10}{'ratio':>8}{'http p99':>12}"
            f"{'api p99':>10}{'added p99':>12}",
        ]
        for key in sorted(k for k in g if k.startswith("ratio_")):
            c = key.removeprefix("ratio_c")
            h, a = g[f"http_c{c}"], g[f"api_c{c}"]
            lines.append(
                f"{'concurrency ' + c:<24}{h['per_second']:>10}{a['per_second']:>10}{g[key]:>8}"
                f"{h['request_p99_ms']:>10}ms{a['request_p99_ms']:>8}ms{g[f'added_p99_ms_c{c}']:>10}ms"
            )
    if "acknowledgement" in r:
        a = r["acknowledgement"]
        lines += [
            "",
            f"acknowledgement: {a['acknowledged']}/{a['cases']} cases, p50 {a['p50_ms']} ms, "
            f"p99 {a['p99_ms']} ms, max {a['max_ms']} ms",
        ]
    if "webhooks" in r:
        w = r["webhooks"]
        lines += [
            f"webhooks at {w['rate']} loops/s: {w['with_subscription']['per_second']}/s with a subscription to *, "
            f"{w['without']['per_second']}/s without (ratio {w['ratio']}); {w['events_delivered']}/{w['events_owed']} "
            f"events delivered, change to 2xx p50 {w['lag_p50_ms']} ms, p99 {w['lag_p99_ms']} ms, "
            f"max {w['lag_max_ms']} ms",
        ]
    if "open_cases" in r:
        o = r["open_cases"]
        lines += [
            f"open cases: {o['cases']} started at {o['started_per_second']}/s (settled {o['settled_per_second']}/s); "
            f"worker RSS MiB {' '.join(f'{n}:{mib}' for n, mib in o['worker_rss_mib'])}",
            f"  databases {o['db_mib_before']} -> {o['db_mib_after']} MiB; all overdue visible after "
            f"{o['visible_after_seconds']} s; {o['overdue_listed']} overdue listed (expected "
            f"{o['overdue_expected']}) in {o['list_overdue_seconds']} s",
        ]
    if "replay" in r:
        p = r["replay"]
        lines.append(
            f"replay: {p['histories']} histories in {p['seconds']} s, {p['per_second']}/s "
            f"(a closed case: {p['events_per_history']} events, {p['kib_stored_per_history']} KiB stored, "
            f"{p['kib_per_history']} KiB as JSON)"
        )
    if "audit" in r:
        from bench import audit

        lines += audit.lines(r["audit"])
    if "console" in r:
        c = r["console"]
        lines += ["", f"console pages, server time, {c['cases']} cases in the read model (p50 / p95 / max ms):"]
        lines += [f"  {path:<48}{p['p50_ms']:>8}{p['p95_ms']:>8}{p['max_ms']:>8}" for path, p in c["pages"].items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="every measurement, small (a check of the script)")
    parser.add_argument("--open-cases", type=int, help="how many open cases (default 20000; quick 200)")
    parser.add_argument("--seconds", type=float, help="length of each closed-loop measurement")
    parser.add_argument("--concurrency", type=int, nargs="+", help="closed-loop integrators (default 10 50)")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=PARTS, help="measure only these")
    parser.add_argument("--workers", type=int, help="worker processes each for the engine and bare (default 1)")
    parser.add_argument("--hook-seconds", type=float, help="each webhooks run (default 60)")
    parser.add_argument(
        "--hook-rate", type=float, help="closed loops started a second in the webhooks part (default 10)"
    )
    parser.add_argument("--audit-cases", type=int, help="closed cases the audit part audits (default 400)")
    parser.add_argument("--out", type=Path, default=None, help="working folder (default: DATA_DIR/bench)")
    args = parser.parse_args(argv)
    scale = QUICK if args.quick else FULL
    if args.open_cases is not None:
        scale.open_cases = args.open_cases
    if args.seconds is not None:
        scale.seconds = args.seconds
    if args.concurrency:
        scale.concurrency = tuple(args.concurrency)
    if args.workers:
        scale.workers = args.workers
    if args.hook_seconds:
        scale.hook_seconds = args.hook_seconds
    if args.hook_rate:
        scale.hook_rate = args.hook_rate
    if args.audit_cases:
        scale.audit = args.audit_cases
    folder = args.out or settings.load().data_dir / "bench"

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    async def run() -> None:
        result = await bench(scale, folder, say, args.only)
        print(table(result))
        print(json.dumps(result, ensure_ascii=False))

    process.run(run)
