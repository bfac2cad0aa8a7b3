"""A read model full of plausible cases, written straight into its tables (no workflow runs), to
measure and test what reads it: the console's pages at a district's scale.

Rows are what the engine would write: milestones with deadlines, some met, some late, some
overdue now; follow-ups with a satisfaction; a few escalated or suspended cases.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from models.case import met_or_late
from readmodel import ReadModel
from readmodel.tables import CASES, EVENTS, MILESTONES

DEPARTMENTS = [  # the simulation file's department names (luohu-2022.toml), which --fit matches
    "区城市管理和综合执法局",
    "区住房和建设局",
    "区教育局",
    "区人力资源局",
    "区卫生健康局",
    "区交通运输局",
    "区生态环境分局",
    "区退役军人事务局",
    "区城市更新和土地整备局",
    "区市场监督管理局",
    "区水务局",
    "区民政局",
]
STREETS = ["东门街道", "桂园街道", "黄贝街道", "东晓街道", "翠竹街道", "笋岗街道", "清水河街道", "莲塘街道"]
CATEGORIES = ["urban_management", "property", "labour", "education", "medical", "environment", "traffic", "housing"]
SATISFACTION = ["satisfied"] * 7 + ["basically_satisfied"] * 2 + ["dissatisfied", "unreachable"]


@dataclass(frozen=True)
class Where:
    """A place of the city's tree a synthetic case is filed at, its names and codes, and the units
    of its district a case there is dispatched to (bench/city.py)."""

    district: str
    street: str
    community: str
    codes: dict[str, str | None]
    units: tuple[str, ...]


def cases(
    n: int,
    *,
    now: datetime | None = None,
    days: int = 120,
    seed: int = 7,
    prefix: str = "syn",
    places: Sequence[Where] = (),
) -> Any:
    """(case rows, milestone rows, event rows) of n cases received over the last `days` days;
    with `places`, each filed at one of them (its codes and units), else in 罗湖区 by name only."""
    rng = random.Random(seed)
    now = now or datetime.now(timezone.utc)
    case_rows, milestone_rows, event_rows = [], [], []
    for i in range(n):
        case_id = f"{prefix}-{i:06d}"
        received = now - timedelta(seconds=rng.uniform(0, days * 86400))
        where = rng.choice(places) if places else None
        department = rng.choice(where.units if where else DEPARTMENTS)
        age = now - received
        # Older cases are further along: most closed, a few still open (the backlog).
        done = rng.random() < min(0.97, age / timedelta(days=10))
        status = (
            "closed"
            if done and rng.random() < 0.9
            else ("resolved" if done else rng.choice(["handling"] * 4 + ["dispatched", "received"]))
        )
        dispatched = status != "received"
        resolved_at = (
            received + timedelta(hours=rng.lognormvariate(3.5, 0.8)) if status in ("resolved", "closed") else None
        )
        if resolved_at is not None and resolved_at > now:
            resolved_at = now - timedelta(minutes=1)
        closed_at = resolved_at + timedelta(days=1) if status == "closed" and resolved_at else None
        if closed_at is not None and closed_at > now:
            closed_at, status = None, "resolved"
        escalated = rng.random() < 0.03
        case_rows.append(
            dict(
                case_id=case_id,
                run_id="synthetic",
                version=5,
                channel=rng.choice(["hotline", "online", "mini_program", "walk_in"]),
                category=rng.choice(CATEGORIES),
                track="routine",
                policy="1030",
                district=where.district if where else "罗湖区",
                street=where.street if where else rng.choice(STREETS),
                community=where.community if where else f"社区{rng.randrange(40):02d}",
                grid=None,
                title=f"诉求{i}",
                department=department if dispatched else None,
                first_department=department if dispatched else None,
                status=status,
                escalated=escalated,
                leader_name="张局长" if escalated else None,
                reopen_count=0,
                breach_count=0,
                suspended=status == "handling" and rng.random() < 0.02,
                received_at=received,
                resolved_at=resolved_at,
                closed_at=closed_at,
                updated_at=now,
                **(_placed(where, department if dispatched else None) if where else {}),
            )
        )
        steps = [
            ("acknowledge", timedelta(minutes=10), received + timedelta(minutes=rng.uniform(1, 14))),
            (
                "dispatch",
                timedelta(minutes=30),
                received + timedelta(minutes=rng.uniform(5, 45)) if dispatched else None,
            ),
            ("reply", timedelta(days=1), received + timedelta(hours=rng.uniform(1, 30)) if dispatched else None),
            ("resolve", timedelta(days=rng.choice([3, 5, 7])), resolved_at),
        ]
        counted = []  # as the case row counts them
        for seq, (name, within, done_at) in enumerate(steps):
            due = received + within
            if done_at is not None and done_at > now:
                done_at = None
            breached = (done_at or now) > due
            settled = None
            superseded = False
            if status == "closed" and done_at is None:
                superseded, settled = True, "missed" if breached else "closed"
            milestone_rows.append(
                dict(
                    case_id=case_id,
                    seq=seq,
                    name=name,
                    department=None,
                    anchor="acceptance",
                    duration=str(within),
                    due_at=due,
                    done_at=done_at,
                    breached=breached,
                    breached_at=due if breached else None,
                    superseded=superseded,
                    anchor_at=received,
                    settled=settled,
                )
            )
            counted.append(met_or_late(done_at, breached, superseded, settled))
        case_rows[-1]["met_milestones"] = counted.count("met")
        case_rows[-1]["late_milestones"] = counted.count("late")
        events: list[tuple[str, datetime, dict[str, str]]] = [("received", received, {})]
        if dispatched:
            events.append(("dispatched", received + timedelta(minutes=20), {"department": department}))
        if resolved_at:
            events.append(("resolved", resolved_at, {}))
        if closed_at:
            events.append(("followed_up", closed_at, {"satisfaction": rng.choice(SATISFACTION)}))
            events.append(("closed", closed_at, {}))
        for seq, (kind, at, detail) in enumerate(events):
            event_rows.append(dict(case_id=case_id, seq=seq, at=at, kind=kind, detail=detail))
    return case_rows, milestone_rows, event_rows


def _placed(where: Where, unit: str | None) -> dict[str, Any]:
    """The edition-7 columns (readmodel/store.py _place_fields) of a case filed at `where`."""
    c = where.codes
    return dict(
        city_code=c["city"],
        district_code=c["district"],
        street_code=c["street"],
        community_code=c["community"],
        grid_code=None,
        unplaced=c["community"] is None,
        units=f"|{unit}|" if unit else None,
        place_key=c["community"] or f"{c['street']}/{where.community}",
    )


def fill(read_model: ReadModel, n: int, **kw: Any) -> None:
    """Write n synthetic cases into the read model in a few large transactions."""
    case_rows, milestone_rows, event_rows = cases(n, **kw)
    with read_model.engine.begin() as conn:
        for table, rows in ((CASES, case_rows), (MILESTONES, milestone_rows), (EVENTS, event_rows)):
            for start in range(0, len(rows), 5000):
                conn.execute(table.insert(), rows[start : start + 5000])
