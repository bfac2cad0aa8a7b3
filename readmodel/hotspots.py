"""Early warning from weak signals (弱信号, 类案): many people with the same kind of problem in the
same place within days point to a cause to handle at the source."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from models.scope import Seen
from readmodel.scope import seen_where
from readmodel.store import ReadModel
from readmodel.tables import CaseRow, utc


@dataclass
class Hotspot:
    category: str
    district: str
    street: str
    community: str
    grid: str | None
    people: int  # distinct complainants (each grid-patrol find counts as one)
    first_at: datetime
    last_at: datetime
    case_ids: list[str]

    @property
    def patrol_case_id(self) -> str:
        """One grid-patrol case per cluster: filing it twice never opens two."""
        place = hashlib.sha1(f"{self.street}|{self.community}|{self.grid or ''}".encode()).hexdigest()[:8]
        return f"hotspot-{self.category}-{place}-{self.first_at:%Y%m%d}"

    def as_json(self) -> dict:
        return {
            "category": self.category,
            "district": self.district,
            "street": self.street,
            "community": self.community,
            "grid": self.grid,
            "people": self.people,
            "first_at": self.first_at.isoformat(),
            "last_at": self.last_at.isoformat(),
            "case_ids": self.case_ids,
            "patrol_case_id": self.patrol_case_id,
        }

    def patrol_complaint(self) -> dict:
        return {
            "channel": "grid_patrol",
            "category": self.category,
            "title": f"类案预警: {self.people} similar complaints in {self.community}",
            "description": (
                f"{self.people} people complained about {self.category} in {self.community}"
                f"{' ' + self.grid if self.grid else ''} between {self.first_at:%Y-%m-%d} and "
                f"{self.last_at:%Y-%m-%d}: {', '.join(self.case_ids)}. Handle the cause at the source."
            ),
            "location": {
                "district": self.district,
                "street": self.street,
                "community": self.community,
                "grid": self.grid,
            },
        }


def find_hotspots(
    read_model: ReadModel,
    *,
    since: datetime,
    until: datetime,
    window: timedelta = timedelta(days=7),
    threshold: int = 3,
    by: str = "community",
    seen: Seen | None = None,
) -> list[Hotspot]:
    """For each category and place, the window of `window` length with the most distinct people,
    when that is at least `threshold`. Largest clusters first. Only the cases `seen` admits: a
    cluster is counted of what the viewer may see, never of another part's people."""
    if by not in ("community", "grid"):
        raise ValueError("--by must be community or grid")
    with Session(read_model.engine) as session:
        rows = list(
            session.exec(
                select(CaseRow).where(
                    col(CaseRow.received_at) >= since, col(CaseRow.received_at) < until, *seen_where(seen)
                )
            ).all()
        )
    places: dict[tuple, list[CaseRow]] = defaultdict(list)
    for row in rows:
        key = (row.category, row.district, row.street, row.community, row.grid if by == "grid" else None)
        places[key].append(row)
    found = []
    for (category, district, street, community, grid), cases in places.items():
        cases.sort(key=lambda r: utc(r.received_at))
        best: list[CaseRow] = []
        start = 0
        for end in range(len(cases)):
            while utc(cases[end].received_at) - utc(cases[start].received_at) > window:
                start += 1
            if _people(cases[start : end + 1]) > _people(best):
                best = cases[start : end + 1]
        if _people(best) >= threshold:
            found.append(
                Hotspot(
                    category,
                    district,
                    street,
                    community,
                    grid,
                    _people(best),
                    utc(best[0].received_at),
                    utc(best[-1].received_at),
                    [r.case_id for r in best],
                )
            )
    return sorted(found, key=lambda h: (-h.people, h.first_at))


def _people(cases: list[CaseRow]) -> int:
    return len({r.complainant_hash or r.case_id for r in cases})
