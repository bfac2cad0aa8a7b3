"""What a simulation is given: a period, arrivals, the category mix, staff and their hours, how
long each step takes, how often cases take each turn, and the policies to compare. Read from a
TOML file (runtime/config/simulation/luohu-2022.toml is the sample); a bad file is refused naming the
field, before anything runs."""

from __future__ import annotations

import math
import random
import re
import tomllib
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from models.base import plain
from models.complaint import Category
from models.dispute import DisputeKind
from runtime.settings import CONFIG_DIR
from sla.durations import Duration, Unit
from sla.policies import POLICIES, MilestoneRule

SAMPLE = CONFIG_DIR / "simulation" / "luohu-2022.toml"
SECONDS = {"minutes": 60.0, "hours": 3600.0, "days": 86400.0}
Positive = Annotated[float, Field(gt=0)]
Share = Annotated[float, Field(ge=0)]
Probability = Annotated[float, Field(ge=0, le=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Distribution(Strict):
    """How long something takes: lognormal (median, sigma) or gamma (mean, shape), never more
    than `max` (a phone call does not last a day), in `unit`."""

    dist: Literal["lognormal", "gamma"] = "lognormal"
    unit: Literal["minutes", "hours", "days"] = "minutes"
    median: Positive | None = None
    sigma: Annotated[float, Field(ge=0)] = 0.5
    mean: Positive | None = None
    shape: Positive = 2.0
    max: Positive | None = None

    @model_validator(mode="after")
    def _parameters(self) -> Distribution:
        if self.dist == "lognormal" and self.median is None:
            raise ValueError("a lognormal distribution needs median (and sigma)")
        if self.dist == "gamma" and self.mean is None:
            raise ValueError("a gamma distribution needs mean (and shape)")
        return self

    def draw(self, rng: random.Random) -> float:
        """Seconds."""
        if self.dist == "lognormal":
            assert self.median is not None
            value = rng.lognormvariate(math.log(self.median), self.sigma)
        else:
            assert self.mean is not None
            value = rng.gammavariate(self.shape, self.mean / self.shape)
        if self.max is not None:
            value = min(value, self.max)
        return value * SECONDS[self.unit]


_HOURS = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")


class Hours(Strict):
    """When people work: "09:00-12:00,14:00-18:00", on working days (per the calendar) or every day."""

    hours: str = "09:00-12:00,14:00-18:00"
    every_day: bool = False

    @field_validator("hours")
    @classmethod
    def _spans(cls, value: str) -> str:
        last = -1
        for part in value.split(","):
            m = _HOURS.match(part.strip())
            if not m:
                raise ValueError(f"{part!r}: write spans as HH:MM-HH:MM, separated by commas")
            start, end = int(m[1]) * 60 + int(m[2]), int(m[3]) * 60 + int(m[4])
            if not (0 <= start < end <= 24 * 60) or start < last:
                raise ValueError(f"{part!r}: spans must run forward within a day, in order")
            last = end
        return value

    def spans(self) -> list[tuple[int, int]]:
        """(start, end) in seconds after midnight."""
        out = []
        for part in self.hours.split(","):
            m = _HOURS.match(part.strip())
            assert m
            out.append(((int(m[1]) * 60 + int(m[2])) * 60, (int(m[3]) * 60 + int(m[4])) * 60))
        return out


class Steps(Strict):
    """The handler's effort for each step (time at a desk, not time waited)."""

    contact: Distribution
    verify: Distribution
    reply: Distribution
    opinion: Distribution
    resolve: Distribution


class Department(Hours):
    staff: Annotated[int, Field(ge=1, le=100_000)]
    steps: Steps | None = None  # None: the file's default steps


class Dispatch(Hours):
    """The centre that dispatches complaints and visits complainants afterwards (回访)."""

    staff: Annotated[int, Field(ge=1, le=100_000)]
    dispatch: Distribution
    follow_up: Distribution


class CategoryMix(Strict):
    share: Share
    departments: dict[str, Share] = Field(min_length=1)  # which department first gets it, by weight


class Arrivals(Strict):
    per_year: Positive  # expected complaints in 365 days
    by_hour: list[Share] = Field(min_length=24, max_length=24)
    by_weekday: list[Share] = Field(min_length=7, max_length=7)  # Monday first
    by_month: list[Share] = Field(min_length=12, max_length=12)
    rest_day_factor: Share = 1.0  # on a weekday the calendar says is a holiday


class Turns(Strict):
    """How often a case takes each turn, and how far."""

    transfer: Probability  # the first department is the wrong one (转办)
    extension: Probability  # the department needs more time and asks (延期)
    extension_working_days: Annotated[int, Field(ge=1, le=365)] = 10
    suspension: Probability  # the resolve clock stops while something outside is awaited (中止计时)
    suspension_length: Distribution
    dissatisfied: Probability  # each follow-up, independently
    leader_delay: Distribution  # from escalation to a leader assigned (领导包案)


class Disputes(Strict):
    """Complaints that are disputes between people, taken to mediation (docs/disputes.md)."""

    share: Probability  # of the complaints, taken to mediation at their dispatch
    kinds: dict[DisputeKind, Share] = Field(min_length=1)  # by weight
    mediation: Distribution  # how long the parties need to agree, when they can
    agreement: Probability  # how many can agree at all, given the time
    honoured: Probability  # how many agreements are honoured


class Period(Strict):
    start: date
    days: Annotated[int, Field(ge=1, le=3 * 366)]


class DraftPolicy(Strict):
    """A policy to try: an existing one with some durations changed, e.g. resolve = "30 working_days"."""

    base: str
    durations: dict[str, str] = Field(default_factory=dict)

    @field_validator("base")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in POLICIES:
            raise ValueError(f"unknown policy {value!r}; known: {', '.join(POLICIES)}")
        return value


class Inputs(Strict):
    period: Period
    arrivals: Arrivals
    tracks: dict[Literal["routine", "fast", "major"], Share]
    categories: dict[Category, CategoryMix] = Field(min_length=1)
    dispatch: Dispatch
    steps: Steps  # every department's, unless it has its own
    resolve_lag: dict[Literal["routine", "fast", "major"], Distribution]  # time waited outside, per track
    departments: dict[str, Department] = Field(min_length=1)
    turns: Turns
    disputes: Disputes | None = None  # None: no dispute is simulated
    compare: list[str] = Field(default_factory=lambda: ["1030", "13710"], min_length=1)
    drafts: dict[str, DraftPolicy] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Inputs:
        for category, mix in self.categories.items():
            for name in mix.departments:
                if name not in self.departments:
                    raise ValueError(f"categories.{category.value}.departments: {name!r} is not in [departments]")
        for track in self.tracks:
            if track not in self.resolve_lag:
                raise ValueError(f"resolve_lag.{track}: every track with a share needs its resolve lag")
        for name in self.compare:
            if name not in POLICIES and name not in self.drafts:
                raise ValueError(f"compare: {name!r} is neither a policy ({', '.join(POLICIES)}) nor a draft")
        for name in self.drafts:
            rules(name, self)  # a bad duration is named here
        if not sum(self.tracks.values()) or not sum(m.share for m in self.categories.values()):
            raise ValueError("tracks and categories need some share")
        return self

    def unlimited(self) -> Inputs:
        """Everyone at work around the clock, as many of them as there are cases: nothing waits."""
        staff = 10**6
        return self.model_copy(
            update={
                "dispatch": self.dispatch.model_copy(
                    update={"staff": staff, "hours": "00:00-24:00", "every_day": True}
                ),
                "departments": {
                    name: d.model_copy(update={"staff": staff, "hours": "00:00-24:00", "every_day": True})
                    for name, d in self.departments.items()
                },
            }
        )

    def steps_of(self, department: str) -> Steps:
        return self.departments[department].steps or self.steps


_DURATION = re.compile(r"^(\d+)\s+(minutes|hours|days|working_days|months)$")


def parse_duration(text: str) -> Duration:
    m = _DURATION.match(text.strip())
    if not m:
        raise ValueError(
            f"{text!r}: write a duration as '30 working_days' (minutes, hours, days, working_days, months)"
        )
    return Duration(int(m[1]), Unit(m[2]))


def rules(policy: str, inputs: Inputs | None = None) -> tuple[MilestoneRule, ...]:
    """A policy's rules: the engine's own table, or a draft made from one by changing durations."""
    if policy in POLICIES:
        return POLICIES[policy]
    draft = (inputs.drafts if inputs else {}).get(policy)
    if draft is None:
        raise ValueError(f"unknown policy {policy!r}")
    changed = {name: parse_duration(text) for name, text in draft.durations.items()}
    known = {r.name for r in POLICIES[draft.base]}
    for name in changed:
        if name not in known:
            raise ValueError(f"drafts.{policy}.durations: {name!r} is not a milestone of {draft.base}")
    # Only the base duration changes: the track and category targets (fast means fast) stay.
    return tuple(replace(r, duration=changed[r.name]) if r.name in changed else r for r in POLICIES[draft.base])


class InputError(ValueError):
    """The file cannot be simulated; the message names each bad field."""


def load(path: Path | str | None = None) -> Inputs:
    path = Path(path) if path else SAMPLE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise InputError(f"{path}: {err.strerror or err}") from None
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"{path}: not TOML ({err})") from None
    try:
        return Inputs.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(file)'}: {plain(e['msg'])}" for e in err.errors()
        )
        raise InputError(f"{path}: {problems}") from None
