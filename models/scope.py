"""Who sees a case: the one rule of city-contract.md's "Scopes", written once.

An identity sees a case when the case's place lies inside its scope, or (handlers, leaders) when
the case is or was assigned to its unit, or (mediators) when it is assigned the case's dispute. A
case it does not see does not exist for it: every read path asks `sees` (one case) or builds its
query from `Seen` (many cases, `readmodel/scope.py`), and a test generated from this rule holds
every path to it (tests/integration/test_scope_matrix.py)."""

from __future__ import annotations

from dataclasses import dataclass

from models.actor import Actor, Role
from models.tree import PlaceCodes, Tree

# Roles whose unit (department) also lets them see the cases assigned to it.
UNIT_ROLES = (Role.handler, Role.leader)


@dataclass(frozen=True)
class CaseWhere:
    """What the rule reads of a case: its place, the units it is or was assigned to, its mediator."""

    place: PlaceCodes | None
    units: frozenset[str] = frozenset()
    mediator_id: str | None = None


@dataclass(frozen=True)
class Seen:
    """The rule for one viewer, as conditions a query can take: the place `scope` (None: the whole
    tree), or one of `units`, or the dispute of `mediator_id`. `level`: the scope's level when the
    tree was at hand, so a query compares the one column of that level (an index), not five."""

    scope: str | None
    units: frozenset[str] = frozenset()
    mediator_id: str | None = None
    level: str | None = None

    @property
    def everything(self) -> bool:
        return self.scope is None

    def admits(self, case: CaseWhere) -> bool:
        if self.scope is None:
            return True
        if case.place is not None and self.scope in case.place.codes():
            return True
        if self.units & case.units:
            return True
        return self.mediator_id is not None and case.mediator_id == self.mediator_id


def seen_by(viewer: Actor, city: Tree | None = None) -> Seen:
    """The viewer's share of the tree. The complainant is not here: their link opens one case."""
    units = frozenset({viewer.department}) if viewer.role in UNIT_ROLES and viewer.department else frozenset()
    mediator = viewer.id if viewer.role == Role.mediator else None
    return Seen(scope=viewer.scope, units=units, mediator_id=mediator, level=_level(city, viewer.scope))


def within(code: str, city: Tree | None = None) -> Seen:
    """The cases placed under one place of the tree (a scope narrowed further)."""
    return Seen(scope=code, level=_level(city, code))


def _level(city: Tree | None, code: str | None) -> str | None:
    place = city.places.get(code) if city is not None and code is not None else None
    return place.level.value if place is not None else None


def sees(viewer: Actor, case: CaseWhere) -> bool:
    return seen_by(viewer).admits(case)


def sees_all_of(city: Tree, viewer: Seen, other: Seen) -> bool:
    """Whether everything `other` sees, `viewer` sees too: a viewer is shown another identity's
    work (a webhook subscription and what it is owed) only then, since its counts are cases. A
    share by unit or by dispute reaches across the tree (a transfer, a mediation), so only the
    whole city covers it."""
    if viewer.everything:
        return True
    if other.everything or other.units or other.mediator_id is not None:
        return False
    return city.contains(viewer.scope, other.scope)
