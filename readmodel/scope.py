"""The "sees" rule (models/scope.py) as a condition on the cases table: the same rule, for
lists, counts, boards and exports. A test generated from the rule holds the two together
(tests/unit/test_scope.py: every viewer against every case, the rule and the SQL agree)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_

from models.scope import Seen
from readmodel.tables import CaseRow, table_of

C = table_of(CaseRow).c
# The cases table's column of each level's code.
PLACE_COLUMNS = {
    "city": C.city_code,
    "district": C.district_code,
    "street": C.street_code,
    "community": C.community_code,
    "grid": C.grid_code,
}


def seen_where(seen: Seen | None) -> list[ColumnElement[bool]]:
    """The conditions that keep only the cases the viewer sees ([]: it sees everything)."""
    if seen is None or seen.everything:
        return []
    s = seen.scope
    # Codes are unique across the tree, so a scope of a known level matches its own column only:
    # one comparison an index answers. Without the tree at hand, any level's.
    places = [PLACE_COLUMNS[seen.level]] if seen.level in PLACE_COLUMNS else list(PLACE_COLUMNS.values())
    options: list[ColumnElement[bool]] = [column == s for column in places]
    for unit in sorted(seen.units):
        options += [C.department == unit, C.first_department == unit, C.units.contains(f"|{unit}|", autoescape=True)]
    if seen.mediator_id is not None:
        options.append(C.mediator_id == seen.mediator_id)
    return [or_(*options)]
