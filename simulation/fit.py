"""Inputs fitted from the read model's history: when complaints arrive (by hour, weekday and
month), how many a year, the category mix and which departments take each, and how often cases
are transferred, suspended, extended and found dissatisfied. Staff, hours and efforts are not in
the read model: they stay as the file gives them."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from readmodel import ReadModel
from readmodel.tables import CASES, EVENTS, utc
from simulation.inputs import InputError, Inputs
from sla.durations import BUSINESS_TZ

MIN_CASES = 200  # fewer say too little about a year


def fit(inputs: Inputs, read_model: ReadModel, *, since: datetime, until: datetime) -> Inputs:
    C = CASES.c
    with read_model.engine.connect() as conn:
        rows = conn.execute(
            select(C.case_id, C.received_at, C.category, C.first_department, C.department, C.track).where(
                C.received_at >= since, C.received_at < until, C.merged_into.is_(None)
            )
        ).all()
        kinds: Counter[str] = Counter(
            dict(
                conn.execute(
                    select(EVENTS.c.kind, func.count(func.distinct(EVENTS.c.case_id)))
                    .join(CASES, C.case_id == EVENTS.c.case_id)
                    .where(C.received_at >= since, C.received_at < until)
                    .where(EVENTS.c.kind.in_(("transferred", "suspended", "extension_requested", "reopened")))
                    .group_by(EVENTS.c.kind)
                ).all()
            )
        )
        visits = conn.execute(
            select(EVENTS.c.detail["satisfaction"].as_string())
            .join(CASES, C.case_id == EVENTS.c.case_id)
            .where(C.received_at >= since, C.received_at < until, EVENTS.c.kind == "followed_up")
        ).all()
    if len(rows) < MIN_CASES:
        raise InputError(
            f"--fit: the read model holds {len(rows)} cases received from {since:%Y-%m-%d} to {until:%Y-%m-%d}; "
            f"at least {MIN_CASES} are needed to fit arrivals and turns"
        )
    hours, weekdays, months = [0.0] * 24, [0.0] * 7, [0.0] * 12
    tracks: Counter[str] = Counter()
    categories: dict[str, Counter[str]] = defaultdict(Counter)
    for _, received, category, first, department, track in rows:
        local = utc(received).astimezone(BUSINESS_TZ)
        hours[local.hour] += 1
        weekdays[local.weekday()] += 1
        months[local.month - 1] += 1
        tracks[track] += 1
        owner = first or department
        if owner in inputs.departments:
            categories[category][owner] += 1
    days = max(1.0, (until - since) / timedelta(days=1))
    # A month seen fewer days than others is scaled to a full one; an unseen month keeps the file's.
    seen = Counter((since + timedelta(days=d)).astimezone(BUSINESS_TZ).month for d in range(int(days)))
    by_month = [
        months[m] / seen[m + 1] if seen[m + 1] else inputs.arrivals.by_month[m] * len(rows) / days for m in range(12)
    ]
    mix: dict[str, dict[str, Any]] = {}
    for category, current in inputs.categories.items():
        counted = categories.get(category.value)
        share = sum(counted.values()) if counted else 0
        mix[category.value] = {
            "share": share / len(rows),
            "departments": dict(counted) if counted else dict(current.departments),
        }
    visited = [v for (v,) in visits if v and v != "unreachable"]
    turns = inputs.turns.model_copy(
        update={
            "transfer": kinds["transferred"] / len(rows),
            "suspension": kinds["suspended"] / len(rows),
            "extension": kinds["extension_requested"] / len(rows),
            "dissatisfied": (sum(v == "dissatisfied" for v in visited) / len(visited))
            if visited
            else inputs.turns.dissatisfied,
        }
    )
    data = inputs.model_dump()
    data["arrivals"] = data["arrivals"] | {
        "per_year": len(rows) * 365 / days,
        "by_hour": hours,
        "by_weekday": weekdays,
        "by_month": by_month,
    }
    data["tracks"] = {t: n / len(rows) for t, n in tracks.items() if t in ("routine", "fast", "major")}
    data["categories"] = {k: v for k, v in mix.items() if v["share"] > 0}
    data["turns"] = turns.model_dump()
    try:
        return Inputs.model_validate(data)
    except ValueError as err:
        raise InputError(f"--fit: the fitted inputs do not hold together: {err}") from None
