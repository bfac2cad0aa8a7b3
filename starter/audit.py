"""For auditors: a case's story from Temporal's own history, exported histories, and replay of
them against the current code (the check an auditor or a release runs)."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistory
from temporalio.worker import Interceptor, Replayer, WorkflowReplayResult

from activities.replay import recorded_end, replay_lanes
from models import CaseState
from models.case_input import WORKFLOW_TYPE
from runtime import settings
from starter.cases import UnknownCase, execution_status, validate_case_id
from starter.converter import data_converter
from starter.progress import progress
from workflows import workflow_runner


async def runs_of(client: Client, case_id: str) -> list[str]:
    """Every run of a case, oldest first (a long case continues as new)."""
    runs = [
        (e.start_time, e.run_id) async for e in client.list_workflows(f"WorkflowId = '{validate_case_id(case_id)}'")
    ]
    if not runs:
        raise UnknownCase(f"no case {case_id}")
    return [run_id for _, run_id in sorted(runs)]


async def histories_of(client: Client, case_id: str) -> list[WorkflowHistory]:
    return [await client.get_workflow_handle(case_id, run_id=r).fetch_history() for r in await runs_of(client, case_id)]


async def case_from_temporal(client: Client, case_id: str) -> CaseState:
    """The case as Temporal's history makes it: the result recorded in the history of an ended case,
    or, while it runs, the worker's replay of its history (the `state` query)."""
    handle = client.get_workflow_handle(validate_case_id(case_id))
    status = await execution_status(client, case_id)
    if status == WorkflowExecutionStatus.RUNNING:
        return await handle.query("state", result_type=CaseState)
    history = await handle.fetch_history()
    last = history.events[-1]
    if not last.HasField("workflow_execution_completed_event_attributes"):
        raise UnknownCase(
            f"case {case_id} did not complete ({status.name.lower() if status else 'unknown'}): no case state"
        )
    state = await recorded_end(client.data_converter, last)
    assert state is not None
    return state


async def export(
    client: Client,
    out: Path,
    *,
    case_ids: list[str] | None = None,
    closed_since: datetime | None = None,
    closed: bool = False,
) -> list[Path]:
    """Write each run's history as `<case id>__<run id>.json`."""
    out.mkdir(parents=True, exist_ok=True)
    if closed:
        query = f"WorkflowType = '{WORKFLOW_TYPE}' AND ExecutionStatus = 'Completed'"
        if closed_since:
            query += f" AND CloseTime >= '{closed_since.isoformat()}'"
        case_ids = sorted({e.id async for e in client.list_workflows(query)})
    written = []
    with progress("exporting", len(case_ids or [])) as advance:
        for case_id in case_ids or []:
            for history in await histories_of(client, case_id):
                run_id = history.events[0].workflow_execution_started_event_attributes.original_execution_run_id
                path = out / f"{case_id}__{run_id}.json"
                path.write_text(history.to_json(), encoding="utf-8")
                written.append(path)
            advance(1)
    return written


@dataclass
class ReplayReport:
    replayed: int = 0
    seconds: float = 0.0
    failures: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        rate = f", {self.replayed / self.seconds:.0f}/s" if self.seconds else ""
        lines = [
            f"replayed {self.replayed} histories in {self.seconds:.2f}s{rate}: "
            + ("all deterministic" if not self.failures else f"{len(self.failures)} NON-DETERMINISTIC")
        ]
        lines += [f"  {name}: {why}" for name, why in sorted(self.failures.items())]
        return "\n".join(lines)


def replayer(
    workflows: Sequence[type] | None = None, *, sandboxed: bool = False, interceptors: Sequence[Interceptor] = ()
) -> Replayer:
    """The replayer of `starter replay` and of the audit. Unsandboxed, as workers run, each
    activation runs on the event loop's own thread (the SDK's debug_mode) instead of being handed
    to a thread and back: measured about a third more histories a second (43 -> 59/s offline,
    30 -> 41/s on one audit worker, back to back on one machine: docs/benchmark.md).
    What that gives up is the SDK's 2-second deadlock detector, which guards live workers against
    workflow code that blocks: replaying code that blocked forever would stall (the audit's
    progress stops moving, its batch's heartbeat lapses) instead of being reported as a failure.
    The sandboxed replay (COMPLAINTS_WORKFLOW_SANDBOX, as the tests run) keeps the detector."""
    from workflows import EVERY_WORKFLOW  # here: the workflow modules load on first use, not with this one

    return Replayer(
        workflows=workflows or EVERY_WORKFLOW,
        data_converter=data_converter(for_replay=True),
        workflow_runner=workflow_runner(sandboxed),
        interceptors=interceptors,
        debug_mode=not sandboxed,
    )


async def replay(histories: list[WorkflowHistory], *, quiet: bool = False, stop_at_first: bool = False) -> ReplayReport:
    replayer_ = replayer(sandboxed=settings.load().sandbox)
    report = ReplayReport()
    started = time.perf_counter()

    with nullcontext(_ignore) if quiet else progress("replaying", len(histories)) as advance:

        async def count(result: WorkflowReplayResult) -> bool:
            report.replayed += 1
            advance(1)
            if result.replay_failure is None:
                return False
            report.failures[f"{result.history.workflow_id}"] = str(result.replay_failure)
            return stop_at_first

        await replay_lanes(replayer_, histories, count)
    report.seconds = time.perf_counter() - started
    return report


def _ignore(n: int = 1) -> None:
    pass


def history_files(path: Path) -> list[Path]:
    return sorted(path.glob("*.json")) if path.is_dir() else [path]


def _replay_chunk(paths: list[str]) -> ReplayReport:
    """In a worker process: replay these files, stopping at the first non-determinism."""
    histories = [
        WorkflowHistory.from_json(Path(p).stem.split("__")[0], Path(p).read_text(encoding="utf-8")) for p in paths
    ]
    return asyncio.run(replay(histories, quiet=True, stop_at_first=True))


async def replay_files(files: list[Path], jobs: int) -> ReplayReport:
    """Replay history files on `jobs` processes (spawned: the SDK's runtime threads do not
    survive a fork), in small chunks so the progress moves and the first non-determinism stops
    the rest at once."""
    if jobs <= 1 or len(files) <= 1:
        return await replay(
            [WorkflowHistory.from_json(f.stem.split("__")[0], f.read_text(encoding="utf-8")) for f in files],
            stop_at_first=True,
        )
    size = max(1, min(50, len(files) // (jobs * 4)))
    chunks = [[str(f) for f in files[i : i + size]] for i in range(0, len(files), size)]
    report = ReplayReport()
    started = time.perf_counter()
    loop = asyncio.get_running_loop()
    with (
        ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool,
        progress(f"replaying on {jobs} processes", len(files)) as advance,
    ):
        pending = {loop.run_in_executor(pool, _replay_chunk, chunk) for chunk in chunks}
        try:
            while pending and not report.failures:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for future in done:
                    part = future.result()
                    report.replayed += part.replayed
                    report.failures |= part.failures
                    advance(part.replayed)
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
    report.seconds = time.perf_counter() - started
    return report
