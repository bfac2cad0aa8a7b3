"""The engine's own counters, through the SDK's metric meter: exported with the SDK's metrics
(Prometheus on `python worker.py`), never emitted while a history replays."""

from __future__ import annotations

from temporalio import workflow

from models import CaseState


def _count(name: str, description: str, **labels: str) -> None:
    workflow.metric_meter().create_counter(name, description).add(1, labels)


def case_accepted(s: CaseState) -> None:
    _count(
        "complaints_cases_accepted",
        "complaints accepted as cases of their own",
        policy=s.policy.value,
        track=s.track.value,
        category=s.category.value,
    )


def case_merged(s: CaseState) -> None:
    _count("complaints_cases_merged", "complaints merged into an open case", category=s.category.value)


def breach(s: CaseState, milestone: str, department: str | None) -> None:
    _per_milestone("complaints_breaches", "deadlines passed and not met, by milestone", s, milestone, department)


def warning(s: CaseState, milestone: str, department: str | None) -> None:
    _per_milestone(
        "complaints_warnings", "临期预警: warnings sent before a deadline, by milestone", s, milestone, department
    )


def _per_milestone(name: str, description: str, s: CaseState, milestone: str, department: str | None) -> None:
    _count(name, description, milestone=milestone, policy=s.policy.value, department=department or "-")


def notice_abandoned(kind: str) -> None:
    _count("complaints_notices_abandoned", "notices given up after a day of failed attempts", kind=kind)
