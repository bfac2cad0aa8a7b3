"""The work, simulated with SimPy: complaints arrive, the centre dispatches them, departments
contact, verify, reply and file their opinion, wait on the outside world, resolve; the centre visits
the complainant; a dissatisfied one reopens the case.

What happens to a case here does not depend on the policy: people work in the order cases reach
them and a deadline does not make anyone faster. So one run of the work serves every policy, and
the policies differ only in what they promised (`simulation.evaluate`): the comparison is of the
promises, on exactly the same year (common random numbers at their strongest).
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field
from datetime import timedelta

import simpy

from simulation.clock import INF, WorkClock, midnight
from simulation.inputs import Distribution, Inputs
from sla.calendar import WorkingCalendar

ACKNOWLEDGE_SECONDS = 2.0  # the engine sends the acknowledgement itself, at once
MAX_ROUNDS = 3  # a case is reopened at most twice: the third visit closes it (the model stops there)
MARGIN_DAYS = 400  # the clocks run past the period, so work started late in it has a finish


@dataclass(slots=True)
class Session:
    """One department's turn at a case."""

    department: str
    assigned_at: float
    contact_at: float | None = None
    verify_at: float | None = None
    reply_at: float | None = None
    opinion_at: float | None = None
    transferred_at: float | None = None  # it was not theirs: passed on after verifying


@dataclass(slots=True)
class Case:
    n: int
    arrival: float
    category: str
    track: str
    department: str  # the one that resolves it
    first_department: str
    transfer: bool
    suspension: float  # seconds the resolve clock stands still (0: none)
    extension: int  # working days the department will ask for if it needs them (0: it never asks)
    leader_delay: float
    acknowledged_at: float = 0.0
    dispatched_at: float | None = None
    sessions: list[Session] = field(default_factory=list)
    suspended: tuple[float, float] | None = None  # stopped, resumed
    resolutions: list[float] = field(default_factory=list)
    follow_ups: list[tuple[float, bool]] = field(default_factory=list)  # when, dissatisfied


@dataclass
class Run:
    """One replication's year of work: every case, and what the people did."""

    cases: list[Case]
    start: float
    end: float
    busy: dict[str, float]  # seconds of effort, per pool ("dispatch" and each department)
    available: dict[str, float]  # staff × working seconds in the period, per pool
    backlog: list[int]  # open cases at each midnight of the period


class Choice:
    """Draws a name by weight (cumulative weights made once: drawn for every complaint)."""

    def __init__(self, weights: dict) -> None:
        self.names = [getattr(k, "value", k) for k in weights]
        self.cumulative = list(itertools.accumulate(weights.values()))

    def __call__(self, rng: random.Random) -> str:
        return rng.choices(self.names, cum_weights=self.cumulative)[0]


def arrivals(inputs: Inputs, calendar: WorkingCalendar, rng: random.Random) -> list[float]:
    """A non-homogeneous Poisson process: per hour, a Poisson count at a rate from the hour of
    the day, the weekday (a holiday on a weekday by rest_day_factor) and the month."""
    a, p = inputs.arrivals, inputs.period
    rates = []
    for d in range(p.days):
        day = p.start + timedelta(days=d)
        factor = a.by_weekday[day.weekday()] * a.by_month[day.month - 1]
        if day.weekday() < 5 and not calendar.is_working_day(day):
            factor *= a.rest_day_factor
        base = midnight(day)
        rates += [(base + h * 3600, factor * a.by_hour[h]) for h in range(24)]
    scale = a.per_year * p.days / 365 / sum(r for _, r in rates)
    times = []
    for start, rate in rates:
        for _ in range(_poisson(rate * scale, rng)):
            times.append(start + rng.random() * 3600)
    times.sort()
    return times


def _poisson(mean: float, rng: random.Random) -> int:
    if mean > 30:  # the normal approximation is close enough here, and fast
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def simulate(inputs: Inputs, calendar: WorkingCalendar, seed: int) -> Run:
    rng = random.Random(seed)
    p = inputs.period
    start, end = midnight(p.start), midnight(p.start + timedelta(days=p.days))
    env = simpy.Environment(initial_time=start)
    clocks = {name: WorkClock(d, calendar, p.start, p.days + MARGIN_DAYS) for name, d in inputs.departments.items()}
    centre = WorkClock(inputs.dispatch, calendar, p.start, p.days + MARGIN_DAYS)
    staff = {name: simpy.Resource(env, capacity=d.staff) for name, d in inputs.departments.items()}
    desks = simpy.Resource(env, capacity=inputs.dispatch.staff)
    busy = {"dispatch": 0.0} | {name: 0.0 for name in inputs.departments}
    cases: list[Case] = []
    open_now = [0]
    turns = inputs.turns

    def work(resource: simpy.Resource, clock: WorkClock, pool: str, efforts: list[float]):  # type: ignore[no-untyped-def]
        """Wait for someone of the pool, then do these efforts one after the other: their ends."""
        with resource.request() as granted:
            yield granted
            ends, at = [], env.now
            for effort in efforts:
                at = clock.after(at, effort)
                ends.append(at)
            if at == INF:
                return [INF] * len(efforts)
            busy[pool] += sum(efforts)
            yield env.timeout(at - env.now)
            return ends

    def complaint(c: Case):  # type: ignore[no-untyped-def]
        open_now[0] += 1
        c.acknowledged_at = c.arrival + ACKNOWLEDGE_SECONDS
        d = inputs.dispatch
        [c.dispatched_at] = yield from work(desks, centre, "dispatch", [d.dispatch.draw(rng)])
        department = c.first_department
        while True:
            s = Session(department, env.now)
            c.sessions.append(s)
            steps = inputs.steps_of(department)
            handing_on = c.transfer and len(c.sessions) == 1
            efforts = [steps.contact.draw(rng), steps.verify.draw(rng)]
            if not handing_on:
                efforts += [steps.reply.draw(rng), steps.opinion.draw(rng)]
            ends = yield from work(staff[department], clocks[department], department, efforts)
            s.contact_at, s.verify_at = ends[0], ends[1]
            if handing_on:
                s.transferred_at = ends[1]
                department = c.department
                continue
            s.reply_at, s.opinion_at = ends[2], ends[3]
            break
        for round_no in range(MAX_ROUNDS):
            lag = inputs.resolve_lag[c.track].draw(rng)  # type: ignore[index]
            if round_no == 0 and c.suspension:
                stopped = env.now + lag / 2
                c.suspended = (stopped, stopped + c.suspension)
                lag += c.suspension
            yield env.timeout(lag)
            steps = inputs.steps_of(department)
            [resolved] = yield from work(staff[department], clocks[department], department, [steps.resolve.draw(rng)])
            c.resolutions.append(resolved)
            [visited] = yield from work(desks, centre, "dispatch", [d.follow_up.draw(rng)])
            dissatisfied = rng.random() < turns.dissatisfied and round_no < MAX_ROUNDS - 1
            c.follow_ups.append((visited, dissatisfied))
            if not dissatisfied:
                break
        open_now[0] -= 1

    def source(times: list[float]):  # type: ignore[no-untyped-def]
        category_of = Choice({k.value: v.share for k, v in inputs.categories.items()})
        department_of = {k.value: Choice(v.departments) for k, v in inputs.categories.items()}
        track_of = Choice(dict(inputs.tracks))
        for n, at in enumerate(times):
            yield env.timeout(at - env.now)
            category = category_of(rng)
            mix = inputs.categories[category]  # type: ignore[index]
            first = department_of[category](rng)
            transfer = rng.random() < turns.transfer and len(inputs.departments) > 1
            final = first
            if transfer:
                others = {k: v for k, v in mix.departments.items() if k != first}
                final = Choice(others)(rng) if others else rng.choice([k for k in inputs.departments if k != first])
            c = Case(
                n=n,
                arrival=at,
                category=category,
                track=track_of(rng),
                department=final,
                first_department=first,
                transfer=transfer,
                suspension=turns.suspension_length.draw(rng) if rng.random() < turns.suspension else 0.0,
                extension=turns.extension_working_days if rng.random() < turns.extension else 0,
                leader_delay=turns.leader_delay.draw(rng),
            )
            cases.append(c)
            env.process(complaint(c))

    backlog: list[int] = []

    def count():  # type: ignore[no-untyped-def]
        for d in range(1, p.days + 1):
            yield env.timeout(midnight(p.start + timedelta(days=d)) - env.now)
            backlog.append(open_now[0])

    env.process(source(arrivals(inputs, calendar, rng)))
    env.process(count())
    env.run(until=end)
    available = {"dispatch": inputs.dispatch.staff * centre.worked(start, end)} | {
        name: d.staff * clocks[name].worked(start, end) for name, d in inputs.departments.items()
    }
    return Run(cases, start, end, busy, available, backlog)


def draw_all(distribution: Distribution, rng: random.Random, n: int) -> list[float]:
    """n draws (for tests and for fitting checks)."""
    return [distribution.draw(rng) for _ in range(n)]
