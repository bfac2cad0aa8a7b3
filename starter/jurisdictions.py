"""The city's tree at the edge: read once per change of the file, and used to place a complaint,
choose its policy and name its units before anything reaches Temporal (city-contract.md).

The workflow never reads the tree: what the edge found travels in the case's input and history,
so a later change of the file never moves a case already filed."""

from __future__ import annotations

from pathlib import Path
from threading import Lock
from typing import Any

from models import CaseInput
from models.base import Policy
from models.tree import LocationProblem, Tree, UnitProblem
from models.tree_file import load
from runtime import settings

_lock = Lock()
_cache: dict[Path, tuple[int, Tree]] = {}


def tree(path: Path | None = None) -> Tree:
    """The tree of `path` (default COMPLAINTS_JURISDICTIONS_FILE), read again when it changed."""
    path = path or settings.load().jurisdictions_file
    stamp = path.stat().st_mtime_ns if path.exists() else -1
    with _lock:
        cached = _cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        loaded = load(path)  # TreeFileError naming every problem: never a half-read tree
        _cache[path] = (stamp, loaded)
        return loaded


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
