"""Reading the tree file (COMPLAINTS_JURISDICTIONS_FILE, TOML) and checking it: every problem is
named by its path in the file (`place[12].parent`, `district.440303.policy`), all of them at once,
and a file with any problem is never used (`python -m starter jurisdictions check`).

The file, flat so that a parent is named rather than nested:

    [[place]]   code, name, level, parent (the code of the place above), aliases, sample
    [[unit]]    code, name, place, kind (department | office | mediation), aliases, sample
    [[station]] code, name, place, sample
    [district.<code>]  policy, policies, sign, sign_en, [district.<code>.routing] category = unit
    [[district.<code>.duty]]  name, phone, identity, weekdays, from, until (the duty roster)
    [street.<code>]    policy, [street.<code>.routing] category = unit (overrides of its district)
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import time
from pathlib import Path
from typing import Any

from models.base import Category, Policy
from models.duty import ALL_DAYS, Duty
from models.tree import LEVELS, Level, Place, Rules, Station, Tree, Unit, UnitKind


class TreeFileError(ValueError):
    """The file cannot be used; `problems` names each one by its path in the file."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


def load(path: Path) -> Tree:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TreeFileError(str(path), ["no such file"]) from None
    except tomllib.TOMLDecodeError as err:
        raise TreeFileError(str(path), [f"not TOML: {err}"]) from None
    tree, problems = parse(data)
    if problems:
        raise TreeFileError(str(path), problems)
    return tree


def _text(entry: dict[str, Any], key: str, where: str, problems: list[str], required: bool = True) -> str | None:
    value = entry.get(key)
    if value is None:
        if required:
            problems.append(f"{where}.{key}: missing")
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}.{key}: must be non-empty text")
        return None
    return value.strip()


def _aliases(entry: dict[str, Any], where: str, problems: list[str]) -> tuple[str, ...]:
    value = entry.get("aliases", [])
    if not isinstance(value, list) or not all(isinstance(a, str) and a.strip() for a in value):
        problems.append(f"{where}.aliases: must be a list of names")
        return ()
    return tuple(a.strip() for a in value)


def _entries(data: dict[str, Any], key: str, problems: list[str]) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        problems.append(f"{key}: must be an array of tables ([[{key}]])")
        return []
    return value


def parse(data: dict[str, Any]) -> tuple[Tree, list[str]]:
    problems: list[str] = []
    places: dict[str, Place] = {}
    where_of: dict[str, str] = {}
    unknown = sorted(set(data) - {"place", "unit", "station", "district", "street"})
    problems += [f"{key}: not a section of the tree file" for key in unknown]
    for i, entry in enumerate(_entries(data, "place", problems)):
        where = f"place[{i}]"
        code, name = _text(entry, "code", where, problems), _text(entry, "name", where, problems)
        level_text = _text(entry, "level", where, problems)
        if level_text is not None and level_text not in Level.__members__:
            problems.append(f"{where}.level: {level_text!r} is not one of {', '.join(LEVELS)}")
            level_text = None
        if code is None or name is None or level_text is None:
            continue
        if code in places:
            problems.append(f"{where}.code: {code} is also {where_of[code]}'s code")
            continue
        parent = _text(entry, "parent", where, problems, required=False)
        places[code] = Place(
            code, name, Level(level_text), parent, _aliases(entry, where, problems), bool(entry.get("sample", False))
        )
        where_of[code] = where
    _check_places(places, where_of, problems)
    tree = Tree(places)
    units = _units(data, tree, places, problems)
    stations = _stations(data, places, units, problems)
    tree = Tree(places, units, stations)
    tree.districts, tree.streets = _rules(data, tree, problems)
    return tree, problems


def _check_places(places: dict[str, Place], where_of: dict[str, str], problems: list[str]) -> None:
    for code, place in places.items():
        where = where_of[code]
        if place.level == Level.city:
            if place.parent is not None:
                problems.append(f"{where}.parent: a city lies under nothing")
            continue
        if place.parent is None:
            problems.append(f"{where}.parent: a {place.level.value} must name the place it lies under")
            continue
        parent = places.get(place.parent)
        if parent is None:
            problems.append(f"{where}.parent: {place.parent} is no place of the file")
            continue
        above = LEVELS[LEVELS.index(place.level) - 1]
        if parent.level != above:
            problems.append(
                f"{where}.parent: a {place.level.value} lies under a {above.value}, "
                f"not under {parent.name} ({parent.level.value})"
            )
    for code in places:  # a loop of parents: walk up from each place
        seen, current = [code], places[code].parent
        while current in places:
            if current in seen:
                problems.append(f"{where_of[code]}.parent: a cycle ({' -> '.join([*seen, current])})")
                break
            seen.append(current)
            current = places[current].parent
    siblings: dict[tuple[str | None, str], str] = {}
    for code, place in places.items():
        key = (place.parent, place.name)
        if key in siblings:
            problems.append(f"{where_of[code]}.name: {place.name} is also {siblings[key]}'s name under the same place")
        siblings[key] = where_of[code]


def _units(data: dict[str, Any], tree: Tree, places: dict[str, Place], problems: list[str]) -> dict[str, Unit]:
    units: dict[str, Unit] = {}
    for i, entry in enumerate(_entries(data, "unit", problems)):
        where = f"unit[{i}]"
        code, name = _text(entry, "code", where, problems), _text(entry, "name", where, problems)
        place = _text(entry, "place", where, problems)
        kind = entry.get("kind", "department")
        if kind not in UnitKind.__members__:
            problems.append(f"{where}.kind: {kind!r} is not one of {', '.join(UnitKind)}")
            continue
        if code is None or name is None or place is None:
            continue
        if place not in places:
            problems.append(f"{where}.place: {place} is no place of the file")
            continue
        if code in units or code in places:
            problems.append(f"{where}.code: {code} is already the code of a {'unit' if code in units else 'place'}")
            continue
        units[code] = Unit(
            code, name, place, UnitKind(kind), _aliases(entry, where, problems), bool(entry.get("sample", False))
        )
    return units


def _stations(
    data: dict[str, Any], places: dict[str, Place], units: dict[str, Unit], problems: list[str]
) -> dict[str, Station]:
    stations: dict[str, Station] = {}
    for i, entry in enumerate(_entries(data, "station", problems)):
        where = f"station[{i}]"
        code, name = _text(entry, "code", where, problems), _text(entry, "name", where, problems)
        place = _text(entry, "place", where, problems)
        if code is None or name is None or place is None:
            continue
        if place not in places:
            problems.append(f"{where}.place: {place} is no place of the file")
        elif code in stations or code in places or code in units:
            problems.append(f"{where}.code: {code} is already in use")
        else:
            stations[code] = Station(code, name, place, bool(entry.get("sample", False)))
    return stations


def _policy(value: Any, where: str, problems: list[str]) -> Policy | None:
    try:
        return Policy(value)
    except ValueError:
        problems.append(f"{where}: {value!r} is not one of {', '.join(p.value for p in Policy)}")
        return None


def _routing(
    entry: dict[str, Any], where: str, tree: Tree, district: str | None, problems: list[str]
) -> dict[Category, str]:
    routing: dict[Category, str] = {}
    table = entry.get("routing", {})
    if not isinstance(table, dict):
        problems.append(f"{where}.routing: must be a table of category = unit code")
        return routing
    for category, unit in table.items():
        if category not in Category.__members__:
            problems.append(f"{where}.routing.{category}: not a category ({', '.join(Category)})")
        elif unit not in tree.units:
            problems.append(f"{where}.routing.{category}: {unit!r} is no unit code of the file")
        elif district is not None and not tree.contains(district, tree.units[unit].place):
            problems.append(f"{where}.routing.{category}: {unit} is a unit of another district")
        else:
            routing[Category(category)] = unit
    return routing


def _roster(entry: dict[str, Any], where: str, problems: list[str]) -> tuple[Duty, ...]:
    value = entry.get("duty", [])
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        problems.append(f"{where}.duty: must be an array of tables ([[{where}.duty]])")
        return ()
    roster = []
    for i, shift in enumerate(value):
        at = f"{where}.duty[{i}]"
        unknown = sorted(set(shift) - {"name", "phone", "identity", "weekdays", "from", "until"})
        problems += [f"{at}.{key}: not a field of a duty shift" for key in unknown]
        name, phone = _text(shift, "name", at, problems), _text(shift, "phone", at, problems)
        identity = _text(shift, "identity", at, problems, required=False)
        days = shift.get("weekdays", list(ALL_DAYS))
        if not isinstance(days, list) or not days or not all(isinstance(d, int) and 1 <= d <= 7 for d in days):
            problems.append(f"{at}.weekdays: a list of 1 (Monday) to 7 (Sunday)")
            days = list(ALL_DAYS)
        start, end = _clock(shift, "from", at, problems), _clock(shift, "until", at, problems)
        if name is not None and phone is not None:
            roster.append(Duty(name, phone, identity, tuple(sorted(set(days))), start or time(0, 0), end))
    return tuple(roster)


def _clock(shift: dict[str, Any], key: str, at: str, problems: list[str]) -> time | None:
    """ "08:30"; "24:00" (or absent `until`): the day's end."""
    value = shift.get(key)
    if value is None or value == "24:00":
        return None
    try:
        if isinstance(value, str) and len(value) == 5:
            return time.fromisoformat(value)
    except ValueError:
        pass
    problems.append(f"{at}.{key}: {value!r} is not a time of day like 08:30")
    return None


def _sections(
    data: dict[str, Any], level: Level, tree: Tree, problems: list[str]
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(code, where, entry) of each [district.CODE] or [street.CODE] section naming such a place."""
    for code, entry in (data.get(level.value) or {}).items():
        where = f"{level.value}.{code}"
        place = tree.places.get(code)
        if place is None or place.level != level:
            problems.append(f"{where}: {code} is no {level.value} of the file")
            continue
        yield code, where, entry


def _rules(data: dict[str, Any], tree: Tree, problems: list[str]) -> tuple[dict[str, Rules], dict[str, Rules]]:
    districts: dict[str, Rules] = {}
    for code, where, entry in _sections(data, Level.district, tree, problems):
        policies = tuple(p for p in (_policy(v, f"{where}.policies", problems) for v in entry.get("policies", [])) if p)
        policy = _policy(entry["policy"], f"{where}.policy", problems) if "policy" in entry else None
        if policy is None and "policy" not in entry:
            problems.append(f"{where}.policy: missing (the policy its cases run under)")
        if policy is not None and policies and policy not in policies:
            problems.append(f"{where}.policy: {policy.value} is not among its policies")
        sign = _text(entry, "sign", where, problems)
        districts[code] = Rules(
            policy=policy,
            policies=policies or ((policy,) if policy else ()),
            sign=sign,
            sign_en=_text(entry, "sign_en", where, problems, required=False),
            routing=_routing(entry, where, tree, code, problems),
            duty=_roster(entry, where, problems),
        )
    for code, place in tree.places.items():
        if place.level == Level.district and code not in districts:
            problems.append(f"district.{code}: missing: {place.name} needs its policy and sign")
    streets: dict[str, Rules] = {}
    for code, where, entry in _sections(data, Level.street, tree, problems):
        district = tree.district_of(code)
        allowed = districts.get(district.code) if district else None
        policy = _policy(entry["policy"], f"{where}.policy", problems) if "policy" in entry else None
        if policy is not None and allowed is not None and policy not in allowed.policies:
            problems.append(
                f"{where}.policy: {policy.value} is not a policy {district.name if district else ''} allows "
                f"({', '.join(p.value for p in allowed.policies)})"
            )
        streets[code] = Rules(
            policy=policy,
            sign=_text(entry, "sign", where, problems, required=False),
            routing=_routing(entry, where, tree, district.code if district else None, problems),
        )
    return districts, streets
