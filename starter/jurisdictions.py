"""The city's tree at the edge: read once per change of the file, and used to place a complaint,
choose its policy and name its units before anything reaches Temporal (city-contract.md).

The workflow never reads the tree: what the edge found travels in the case's input and history,
so a later change of the file never moves a case already filed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models import Actor, CaseInput, Category
from models.base import Policy
from models.scope import UNIT_ROLES
from models.tree import LocationProblem, PlaceCodes, Tree, UnitProblem
from models.tree_file import load
from runtime import settings
from runtime.reloading import Reloading

_trees = Reloading(load)  # TreeFileError naming every problem: never a half-read tree


def tree(path: Path | None = None) -> Tree:
    """The tree of `path` (default COMPLAINTS_JURISDICTIONS_FILE), read again when it changed."""
    return _trees(path or settings.load().jurisdictions_file)


def place_input(case_input: CaseInput, city: Tree) -> CaseInput:
    """The input with its placement, the names a code implies and its district's policy.
    LocationProblem names the field for what cannot be filed."""
    complaint = case_input.complaint
    loc = complaint.location
    placement = city.place(
        code=loc.code, district=loc.district, street=loc.street, community=loc.community, grid=loc.grid
    )
    names = {p.level.value: p.name for p in city.path(placement.place.deepest or "")} if placement.place.deepest else {}
    filled = {
        k: v for k, v in names.items() if k in ("district", "street", "community", "grid") and getattr(loc, k) is None
    }
    if complaint.station is not None:
        station = city.stations.get(complaint.station)
        if station is None or not city.contains(placement.place.district, station.place):
            raise LocationProblem("complaint.station", f"{complaint.station!r} is no station of the case's district")
    named = case_input.policy if "policy" in case_input.model_fields_set else None
    policy = city.policy_for(placement.place, Policy(named) if named else None)
    location = loc.model_copy(update=filled) if filled else loc
    return case_input.model_copy(
        update={
            "complaint": complaint.model_copy(update={"location": location}) if filled else complaint,
            "policy": policy,
            "placement": placement,
        }
    )


# The updates that name units, and the payload field of each (city-contract.md).
UNIT_FIELDS: dict[str, str] = {
    "dispatch": "department",
    "transfer": "to_department",
    "summon_departments": "departments",
}


class UnitsRefused(ValueError):
    """The units an update names, refused: (field, message) for each."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in errors))
        self.errors = errors


def read_units(
    update: str,
    payload: dict[str, Any],
    city: Tree,
    place: PlaceCodes | None,
    category: Category,
    *,
    listed_only: bool,
) -> tuple[dict[str, Any], list[str]]:
    """The units an update names, read as the case's district reads them (city-contract.md): a
    code, name or alias becomes the unit's own name, so one unit is one string wherever the case
    is read (who sees it, the league, webhooks); `dispatch` without a department takes the
    district's routing for the category; another district's unit is refused but by transfer
    (Tree.unit_for). A name the tree lacks is kept as an unlisted unit with a warning, or refused
    under COMPLAINTS_UNITS=listed. Returns the payload to send and the warnings; UnitsRefused."""
    field = UNIT_FIELDS.get(update)
    if field is None:
        return payload, []
    payload = dict(payload)
    district = place.district if place else None
    if update == "dispatch" and not payload.get(field):
        unit = city.route(place, category) if place else None
        if unit is None:
            where = city.places[district].name if district else "the case's district"
            raise UnitsRefused([(field, f"name the unit: {where}'s routing table sends no unit for {category.value}")])
        payload[field] = unit.name
        return payload, []
    value = payload.get(field)
    names = [value] if isinstance(value, str) else list(value) if isinstance(value, list) else []
    errors, warnings, named = [], [], []
    for i, name in enumerate(names):
        where = field if isinstance(value, str) else f"{field}[{i}]"
        if not isinstance(name, str):
            named.append(name)  # the command's own validation names it
            continue
        try:
            unit = city.unit_for(district, name, across=update == "transfer")
        except UnitProblem as err:
            errors.append((where, str(err)))
            continue
        if unit is not None:
            named.append(unit.name)
        elif listed_only:
            near = ", ".join(city.nearest_units(district, name))
            errors.append((where, f"{name!r} is no unit of the tree (nearest: {near})"))
        else:
            named.append(name)
            warnings.append(
                f"{where}: {name!r} is no unit of the tree; kept as an unlisted unit "
                "(python -m starter jurisdictions unlisted)"
            )
    if errors:
        raise UnitsRefused(errors)
    payload[field] = named[0] if isinstance(value, str) else named
    return payload, warnings


def plain_unit(actor: Any, city: Tree) -> bool:
    """Whether an actor's unit needs no reading: not a unit's role, or already a unit's own name
    (every identity made since units are named so). An actor not yet valid: its check says so."""
    try:
        who = Actor.model_validate(actor)
    except ValueError:
        return True
    if who.role not in UNIT_ROLES or not who.department:
        return True
    return any(who.department == u.name for u in city.units.values())


def actor_unit(actor: Actor, city: Tree, district: str | None) -> Actor:
    """The actor with its unit by the unit's own name, an alias read in the case's district; a
    name the tree lacks, or one several units answer, as given."""
    try:
        unit = city.unit_for(district, actor.department or "", across=True)
    except UnitProblem:
        return actor
    return actor.model_copy(update={"department": unit.name}) if unit else actor


def unit_name(name: str, scope: str | None) -> str:
    """The unit's own name for a unit an identity or a subscription names (a code, name or alias
    of its scope's district; no scope: one the whole tree answers with one unit), as the edge
    records a dispatch (starter.cases.name_units), so one unit is one string to the "sees" rule
    and to webhooks. A name the tree lacks stays as given (an unlisted unit). Two units answering
    it: UnitProblem."""
    city = tree()
    district = city.district_of(scope) if scope else None
    unit = city.unit_for(district.code, name, across=True) if district else city.unit(None, name)
    return unit.name if unit else name.strip()


def unit_filter(name: str | None, scope: str | None) -> str | None:
    """A department filter (lists, boards, the callback list) as cases record units: the unit's
    own name (unit_name). A name several units answer: UnitProblem, so no list is silently empty."""
    return unit_name(name, scope) if name else None


def unlisted_units(update: str, payload: dict[str, Any], city: Tree) -> list[tuple[str, str]]:
    """The (field, name) pairs of an update's units that no unit of the tree answers to, by code,
    name or alias. COMPLAINTS_UNITS=listed refuses them; otherwise they are kept as unlisted units
    and the answer's `warnings` says so."""
    field = UNIT_FIELDS.get(update)
    if field is None:
        return []
    value = payload.get(field)
    names = [value] if isinstance(value, str) else [v for v in value or [] if isinstance(v, str)]
    found = []
    for i, name in enumerate(names):
        where = field if isinstance(value, str) else f"{field}[{i}]"
        try:
            if city.unit(None, name) is None:
                found.append((where, name))
        except UnitProblem:
            pass  # a name of several districts' units: listed (the case's district tells which)
    return found
