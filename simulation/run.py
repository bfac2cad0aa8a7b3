"""Replications: each a year of work (`simulation.model`) judged under every policy
(`simulation.evaluate`), run on every core; then means with 95 % confidence intervals."""

from __future__ import annotations

import math
import multiprocessing
import statistics
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulation import disputes
from simulation.clock import INF, Deadlines
from simulation.evaluate import Rules, judge
from simulation.inputs import Inputs, rules
from simulation.model import simulate
from sla.calendar import WorkingCalendar

TOTAL = "total"
# Student's t, 97.5 % quantile, by degrees of freedom (a 95 % interval over few replications).
_T = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}
_T |= {11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093}
_T |= {20: 2.086, 24: 2.064, 29: 2.045, 39: 2.023, 59: 2.001, 119: 1.980}


def t_quantile(df: int) -> float:
    if df in _T:
        return _T[df]
    known = sorted(k for k in _T if k <= df)
    return _T[known[-1]] if df < 200 else 1.960


@dataclass
class Estimate:
    mean: float
    half_width: float  # of the 95 % interval; 0 with a single replication

    @classmethod
    def of(cls, values: list[float]) -> Estimate:
        values = [v for v in values if not math.isnan(v)]
        if not values:
            return cls(math.nan, math.nan)
        if len(values) == 1:
            return cls(values[0], 0.0)
        spread = statistics.stdev(values) * t_quantile(len(values) - 1) / math.sqrt(len(values))
        return cls(statistics.fmean(values), spread)

    def as_json(self, digits: int = 4) -> dict[str, float | None]:
        def clean(v: float) -> float | None:
            return None if math.isnan(v) else round(v, digits)

        return {"mean": clean(self.mean), "ci95": clean(self.half_width)}


def replication(inputs: Inputs, calendar_file: str | None, seed: int) -> dict[str, Any]:
    """One year of work under every policy: counts only (what the report needs)."""
    calendar = WorkingCalendar.from_file(calendar_file)
    run = simulate(inputs, calendar, seed)
    book = Deadlines(calendar)
    out: dict[str, Any] = {"policies": {}}
    mediated = disputes.mediations(inputs, run.cases, seed)
    for policy in inputs.compare:
        table = Rules(rules(policy, inputs))
        # group -> milestone -> [met, late]; group -> [breaches, escalations, open overdue]
        on_time: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        hours: dict[str, list[float]] = defaultdict(list)
        for case in run.cases:
            verdict = judge(case, table, book, run.end)
            if verdict.resolutions and verdict.resolutions[0] <= run.end:
                took = (verdict.resolutions[0] - case.arrival) / 3600
                hours[case.department].append(took)
                hours[TOTAL].append(took)
            counted = []  # (milestone, late, still owed) of the promises counted: judged once, for both groups
            for p in verdict.promises:
                outcome = p.outcome(run.end)
                if outcome is not None:
                    counted.append((p.name, outcome == "late", p.done == INF))
            for group in (case.department, TOTAL):
                for name, late, still_owed in counted:
                    on_time[group][name][late] += 1
                    if late:
                        counts[group][0] += 1
                        counts[group][2] += still_owed
                counts[group][1] += verdict.escalated_at is not None
        out["policies"][policy] = {
            "on_time": {g: {m: list(v) for m, v in ms.items()} for g, ms in on_time.items()},
            "counts": dict(counts),
            "resolution_hours": {g: quantiles(v) for g, v in hours.items()},
        }
        if inputs.disputes is not None:
            out["policies"][policy]["disputes"] = disputes.judge(mediated, rules(policy, inputs), book, run.end)
    out["cases"] = len(run.cases)
    out["utilisation"] = {k: run.busy[k] / run.available[k] if run.available[k] else math.nan for k in run.busy}
    out["backlog"] = run.backlog
    return out


def quantiles(values: list[float]) -> tuple[float, float]:
    """p50 and p90 (sorts `values` in place)."""
    values.sort()
    return values[len(values) // 2], values[min(len(values) - 1, int(len(values) * 0.9))]


def _replicate(args: tuple[Inputs, str | None, int]) -> dict[str, Any]:
    return replication(*args)


def run(
    inputs: Inputs,
    *,
    replications: int,
    seed: int,
    calendar_file: Path | None = None,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """Every replication's counts, in order (replication i has seed `seed * 1000 + i`)."""
    tasks = [(inputs, str(calendar_file) if calendar_file else None, seed * 1000 + i) for i in range(replications)]
    jobs = max(1, min(jobs or multiprocessing.cpu_count(), replications))
    if jobs == 1:
        results = []
        for task in tasks:
            results.append(_replicate(task))
            if progress:
                progress(1)
        return results
    # Spawned, not forked: a process that has used Temporal's runtime threads must not fork.
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = []
        for result in pool.map(_replicate, tasks):
            results.append(result)
            if progress:
                progress(1)
        return results
