"""The "sees" rule (models/scope.py) as a condition on the cases table: the same rule, for
lists, counts, boards and exports. A test generated from the rule holds the two together
(tests/unit/test_scope.py: every viewer against every case, the rule and the SQL agree)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_

from models.scope import Seen
from readmodel.tables import CaseRow, table_of

C = table_of(CaseRow).c


def seen_where(seen: Seen | None) -> list[ColumnElement[bool]]:
    """The conditions that keep only the cases the viewer sees ([]: it sees everything)."""
    if seen is None or seen.everything:
        return []
    s = seen.scope
    options: list[ColumnElement[bool]] = [
        C.city_code == s,
        C.district_code == s,
        C.street_code == s,
        C.community_code == s,
        C.grid_code == s,
    ]
    for unit in sorted(seen.units):
        options += [C.department == unit, C.first_department == unit, C.units.contains(f"|{unit}|", autoescape=True)]
    if seen.mediator_id is not None:
        options.append(C.mediator_id == seen.mediator_id)
    return [or_(*options)]
