"""The console's what-if page: the simulator (`python -m starter simulate`) run from the browser.

One simulation at a time per gateway process, in a process of its own (so the gateway's event
loop and the engine's worker are not starved by it); the page refreshes itself until it is done.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from starlette.datastructures import FormData

from gateway.auth import gateway
from gateway.console.viewer import Viewer, sent_form, viewer
from gateway.console.web import render, router
from runtime import logs
from simulation import InputError, load
from simulation.inputs import Inputs
from simulation.report import MILESTONE_ORDER, chart, summarise
from sla.policies import POLICIES

log = logs.get("console")
MAX_REPLICATIONS = 20


@dataclass
class Job:
    status: str = "idle"  # idle, running, done, failed
    params: dict[str, Any] = field(default_factory=dict)
    started: float = 0.0
    seconds: float = 0.0
    report: dict[str, Any] | None = None
    error: str | None = None
    task: asyncio.Task[None] | None = None
    pool: ProcessPoolExecutor | None = None

    def stop(self) -> None:
        """At the gateway's shutdown: end a simulation still running, rather than wait for it."""
        if self.pool is not None:
            for worker in list(getattr(self.pool, "_processes", {}).values()):
                worker.terminate()
            self.pool.shutdown(wait=False, cancel_futures=True)


def _simulate(inputs: Inputs, replications: int, seed: int, calendar_file: str) -> dict[str, Any]:
    from pathlib import Path

    from simulation.run import run

    results = run(inputs, replications=replications, seed=seed, calendar_file=Path(calendar_file), jobs=1)
    return summarise(results, seed=seed, source=str(inputs.period.start))


def job_of(request: Request) -> Job:
    state = request.app.state
    if not hasattr(state, "console_simulation"):
        state.console_simulation = Job()
    return state.console_simulation  # type: ignore[no-any-return]


def _inputs(request: Request) -> Inputs:
    return load(gateway(request).config.simulation_file)


@router.get("/simulate")
async def simulate_page(request: Request, v: Viewer = Depends(viewer)) -> Response:
    job = job_of(request)
    try:
        inputs = _inputs(request)
    except InputError as err:
        return render(request, "error.html", v.words, 503, title="simulate", text=str(err), viewer=v, raw=True)
    choices = list(POLICIES) + list(inputs.drafts)
    rows = []
    if job.report:
        policies = list(job.report["policies"])
        total = {p: job.report["policies"][p]["total"] for p in policies}
        for m in MILESTONE_ORDER + ["all"]:
            cells = [total[p]["on_time_all"] if m == "all" else total[p]["on_time"].get(m) for p in policies]
            if any(cells):
                rows.append((m, cells))
    return render(
        request,
        "simulate.html",
        v.words,
        viewer=v,
        job=job,
        running=job.status == "running",
        elapsed=round(time.monotonic() - job.started) if job.status == "running" else None,
        choices=choices,
        default=inputs.compare,
        rows=rows,
        chart=Markup(chart(job.report)) if job.report else None,
        inputs=inputs,
    )


@router.post("/simulate")
async def simulate_start(
    request: Request, v: Viewer = Depends(viewer), form: FormData = Depends(sent_form)
) -> Response:
    job = job_of(request)
    if job.status == "running":
        return RedirectResponse("/console/simulate", status_code=303)
    inputs = _inputs(request)
    known = list(POLICIES) + list(inputs.drafts)
    policies = [p for p in form.getlist("policy") if isinstance(p, str)]
    problems = []
    if not policies or any(p not in known for p in policies):
        problems.append(f"policy: choose one or more of {', '.join(known)}")
    replications, seed = str(form.get("replications") or "5"), str(form.get("seed") or "1")
    if not replications.isdigit() or not 1 <= int(replications) <= MAX_REPLICATIONS:
        problems.append(f"replications: a whole number from 1 to {MAX_REPLICATIONS}")
    if not seed.isdigit() or len(seed) > 9:
        problems.append("seed: a whole number")
    if problems:
        return render(
            request, "error.html", v.words, 422, title="simulate", text="; ".join(problems), viewer=v, raw=True
        )
    chosen = inputs.model_copy(update={"compare": policies})
    job.status, job.report, job.error = "running", None, None
    job.params = {"policies": policies, "replications": int(replications), "seed": int(seed), "by": v.identity.id}
    job.started = time.monotonic()
    job.task = asyncio.create_task(_run(job, chosen, str(gateway(request).config.calendar_file)))
    log.info("console simulation", **job.params)
    return RedirectResponse("/console/simulate", status_code=303)


async def _run(job: Job, inputs: Inputs, calendar_file: str) -> None:
    loop = asyncio.get_running_loop()
    # Spawned, not forked: the gateway's process holds Temporal's runtime threads.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        job.pool = pool
        try:
            job.report = await loop.run_in_executor(
                pool, _simulate, inputs, job.params["replications"], job.params["seed"], calendar_file
            )
            job.status = "done"
        except Exception as err:  # shown on the page; the gateway goes on
            job.status, job.error = "failed", f"{type(err).__name__}: {err}"
            log.warning("console simulation failed", error=job.error)
        finally:
            job.pool = None
    job.seconds = round(time.monotonic() - job.started, 1)
