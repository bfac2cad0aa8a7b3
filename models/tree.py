"""The city as a tree (city-contract.md): places (块), the units that handle cases (条 and 块) and
the stations where complaints are taken in, each district with its policy, its sign and its
routing. Pure data and look-ups: the file is read and checked by `models/tree_file.py`; a case's
place is fixed at the edge (`starter`) and carried in its history, so a later change of the file
never moves a filed case.

Codes are the published 统计用区划代码 where one exists; containment is by the tree's parents,
never by code prefixes (a sample code need not follow the pattern)."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from pydantic import Field

from models.base import Category, Policy, Strict
from models.duty import Duty, on_duty


class Level(StrEnum):
    city = "city"
    district = "district"
    street = "street"  # 街道, or a township (乡镇) in Qiaocheng
    community = "community"  # 社区, or a village (村)
    grid = "grid"  # 网格


LEVELS: tuple[Level, ...] = tuple(Level)


class UnitKind(StrEnum):
    department = "department"  # a line department (条): 区住建局
    office = "office"  # a place's own office (块): 街道办事处, 社区工作站
    mediation = "mediation"  # a people's mediation committee or studio (人民调解委员会, 虹姐调解工作室)


@dataclass(frozen=True)
class Place:
    code: str
    name: str
    level: Level
    parent: str | None = None
    aliases: tuple[str, ...] = ()
    sample: bool = False  # invented for the sample, not from a published source


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    place: str  # the place it belongs to: its level is that place's level
    kind: UnitKind = UnitKind.department
    aliases: tuple[str, ...] = ()
    sample: bool = False


@dataclass(frozen=True)
class Station:
    code: str
    name: str
    place: str  # the place it serves
    sample: bool = False


@dataclass(frozen=True)
class Rules:
    """A district's rules, or a street's overrides of them (None: the district's)."""

    policy: Policy | None = None
    policies: tuple[Policy, ...] = ()
    sign: str | None = None
    sign_en: str | None = None
    routing: dict[Category, str] = field(default_factory=dict)  # category -> unit code
    duty: tuple[Duty, ...] = ()  # a district's duty roster (24小时值守): models/duty.py


class PlaceCodes(Strict):
    """Where a case is, as codes from the city down (city-contract.md: `CaseState.place`)."""

    city: str | None = None
    district: str | None = None
    street: str | None = None
    community: str | None = None
    grid: str | None = None

    def codes(self) -> list[str]:
        return [c for c in (self.city, self.district, self.street, self.community, self.grid) if c]

    @property
    def deepest(self) -> str | None:
        found = self.codes()
        return found[-1] if found else None


class Placement(Strict):
    """What the edge found for a complaint's location: its place in the tree, and whether a name
    below the deepest match was not in the tree (待定位: filed there, never refused)."""

    place: PlaceCodes
    unplaced: bool = False
    # The names the tree does not list, as given (field -> name), and the nearest it does list.
    unmatched: dict[str, str] = Field(default_factory=dict)
    nearest: list[str] = Field(default_factory=list)


class LocationProblem(ValueError):
    """A location that cannot be filed: a district outside the tree, a code and names that
    disagree. `field` names the field, `nearest` the names the tree has nearby."""

    def __init__(self, field: str, message: str, nearest: list[str] | None = None) -> None:
        self.field = field
        self.nearest = nearest or []
        hint = f" (nearest: {', '.join(self.nearest)})" if self.nearest else ""
        super().__init__(f"{message}{hint}")


class UnitProblem(ValueError):
    """A unit name that names two units, or (COMPLAINTS_UNITS=listed) none."""

    def __init__(self, message: str, nearest: list[str] | None = None) -> None:
        self.nearest = nearest or []
        hint = f" (nearest: {', '.join(self.nearest)})" if self.nearest else ""
        super().__init__(f"{message}{hint}")


def nearest(name: str, names: list[str], n: int = 3) -> list[str]:
    """The names most like `name`; all of them (up to n) when none is close."""
    close = difflib.get_close_matches(name, names, n=n, cutoff=0.4)
    return close or sorted(names)[:n]


@dataclass
class Tree:
    places: dict[str, Place]
    units: dict[str, Unit] = field(default_factory=dict)
    stations: dict[str, Station] = field(default_factory=dict)
    districts: dict[str, Rules] = field(default_factory=dict)  # district code -> its rules
    streets: dict[str, Rules] = field(default_factory=dict)  # street code -> its overrides
    _children: dict[str | None, list[Place]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._children = {}
        for place in self.places.values():
            self._children.setdefault(place.parent, []).append(place)

    # ---- the places ------------------------------------------------------------------------

    def children(self, code: str | None) -> list[Place]:
        """The places right under `code` (None: the cities)."""
        return list(self._children.get(code, []))

    def below(self, code: str | None) -> Iterator[Place]:
        """Every place under `code`, depth first (None: the whole tree)."""
        for child in self.children(code):
            yield child
            yield from self.below(child.code)

    def path(self, code: str) -> list[Place]:
        """From the city down to the place with this code."""
        chain = []
        current: str | None = code
        while current is not None:
            place = self.places[current]
            chain.append(place)
            current = place.parent
        return list(reversed(chain))

    def codes_of(self, code: str) -> PlaceCodes:
        return PlaceCodes(**{p.level.value: p.code for p in self.path(code)})

    def district_of(self, code: str) -> Place | None:
        for place in self.path(code):
            if place.level == Level.district:
                return place
        return None

    def contains(self, scope: str | None, code: str | None) -> bool:
        """Whether the place `code` lies inside `scope` (None: the whole tree)."""
        if scope is None:
            return True
        return code is not None and code in self.places and any(p.code == scope for p in self.path(code))

    def child_named(self, parent: str | None, name: str) -> Place | None:
        name = name.strip()
        for child in self.children(parent):
            if name == child.name or name in child.aliases:
                return child
        return None

    def districts_named(self, name: str) -> list[Place]:
        name = name.strip()
        return [p for p in self.places.values() if p.level == Level.district and (name == p.name or name in p.aliases)]

    # ---- placing a complaint ---------------------------------------------------------------

    def place(
        self,
        *,
        code: str | None = None,
        district: str | None = None,
        street: str | None = None,
        community: str | None = None,
        grid: str | None = None,
        prefix: str = "complaint.location",
    ) -> Placement:
        """The deepest place the code or the names match. A district outside the tree, or a code
        and names that disagree, raise LocationProblem; a name below the deepest match leaves the
        case there, unplaced, with the nearest names (no complaint is lost)."""
        names = {"district": district, "street": street, "community": community, "grid": grid}
        if code:
            code = code.strip()
            if code not in self.places:
                raise LocationProblem(f"{prefix}.code", f"{code!r} is no place of the tree")
            path = self.path(code)
            for place in path:
                given = names.get(place.level.value)
                if given and given.strip() not in (place.name, *place.aliases):
                    raise LocationProblem(
                        f"{prefix}.{place.level.value}",
                        f"{given!r} disagrees with code {code} ({place.name})",
                        [place.name],
                    )
            deeper = [lv for lv in LEVELS[LEVELS.index(path[-1].level) + 1 :] if names.get(lv.value)]
            if not deeper:
                return Placement(place=self.codes_of(code))
            names = {k: (v if k in {lv.value for lv in deeper} else None) for k, v in names.items()}
            start = path[-1]
        else:
            if not district:
                raise LocationProblem(f"{prefix}.district", "name the district or give the place's code")
            found = self.districts_named(district)
            if not found:
                every = [p.name for p in self.places.values() if p.level == Level.district]
                raise LocationProblem(
                    f"{prefix}.district", f"{district!r} is no district of the tree", nearest(district, every)
                )
            if len(found) > 1:
                raise LocationProblem(
                    f"{prefix}.district",
                    f"{district!r} names {len(found)} districts; give complaint.location.code",
                    [f"{p.code} {self.path(p.code)[0].name}{p.name}" for p in found],
                )
            start = found[0]
        current: Place = start
        for level in ("street", "community", "grid"):
            given = names.get(level)
            if not given:
                continue
            child = self.child_named(current.code, given)
            if child is None:
                listed = [c.name for c in self.children(current.code)]
                unmatched = {
                    lv: names[lv]
                    for lv in ("street", "community", "grid")[("street", "community", "grid").index(level) :]
                    if names.get(lv)
                }
                return Placement(
                    place=self.codes_of(current.code),
                    unplaced=True,
                    unmatched={k: v for k, v in unmatched.items() if v},
                    nearest=nearest(given, listed) if listed else [],
                )
            current = child
        return Placement(place=self.codes_of(current.code))

    # ---- units -----------------------------------------------------------------------------

    def units_of(self, district: str) -> list[Unit]:
        """The units that belong to the district or a place under it."""
        return [u for u in self.units.values() if self.contains(district, u.place)]

    def unit(self, district: str | None, name: str) -> Unit | None:
        """The unit a code, name or alias names: any unit by code; by name or alias, one of the
        case's district (None: anywhere). Two units answering one name: UnitProblem."""
        name = name.strip()
        if name in self.units:
            return self.units[name]
        pool = self.units_of(district) if district else list(self.units.values())
        found = [u for u in pool if name == u.name or name in u.aliases]
        if len(found) > 1:
            raise UnitProblem(f"{name!r} names {len(found)} units: " + ", ".join(f"{u.code} {u.name}" for u in found))
        return found[0] if found else None

    def unit_for(self, district: str | None, name: str, *, across: bool) -> Unit | None:
        """The unit an update names for a case of `district` (None: a case filed before the tree):
        by code, name or alias of the district's units; `across` (a transfer) also a unit of
        another district, by code or a name the whole tree answers with one unit. Without
        `across`, another district's unit is refused (UnitProblem): it takes a case only by
        transfer, with its explanation, so the first unit stays accountable (首问首办). None: no
        unit of the tree (kept as an unlisted unit of the case's district)."""
        name = name.strip()
        if district is None:  # a case filed before the tree: a name several units answer stays as given
            try:
                return self.unit(None, name)
            except UnitProblem:
                return None
        found = self.unit(district, name)
        if found is None:
            try:  # the whole tree: one unit, or (a transfer) the refusal naming them all
                found = self.unit(None, name)
            except UnitProblem:
                if across:
                    raise
        if found is None or across or self.contains(district, found.place):
            return found
        owner = self.district_of(found.place)
        raise UnitProblem(
            f"{found.name} ({found.code}) is a unit of {owner.name if owner else 'another district'}, "
            f"not of {self.places[district].name}; a case goes to another district's unit only by transfer, "
            "with its explanation (首问首办: the first unit stays accountable)"
        )

    def nearest_units(self, district: str | None, name: str) -> list[str]:
        pool = self.units_of(district) if district else list(self.units.values())
        return nearest(name, [u.name for u in pool])

    # ---- a district's rules ----------------------------------------------------------------

    def rules(self, place: PlaceCodes) -> Rules:
        """The district's rules with its street's overrides laid over them."""
        base = self.districts.get(place.district or "", Rules())
        over = self.streets.get(place.street or "")
        if over is None:
            return base
        return Rules(
            policy=over.policy or base.policy,
            policies=base.policies,
            sign=over.sign or base.sign,
            sign_en=over.sign_en or base.sign_en,
            routing=base.routing | over.routing,
        )

    def policy_for(self, place: PlaceCodes, named: Policy | None, field: str = "policy") -> Policy:
        """The policy a case runs under: the one named, if its district allows it; else the
        street's or the district's. A district without rules runs the engine's default."""
        rules = self.rules(place)
        if named is None:
            return rules.policy or Policy.p1030
        if rules.policies and named not in rules.policies:
            district = self.places[place.district].name if place.district else "the district"
            allowed = ", ".join(p.value for p in rules.policies)
            raise LocationProblem(field, f"policy {named.value} is not one {district} allows ({allowed})")
        return named

    def route(self, place: PlaceCodes, category: Category) -> Unit | None:
        """The unit the district's routing table sends a category to (per street where it differs)."""
        code = self.rules(place).routing.get(category)
        return self.units.get(code) if code else None

    def on_duty(self, district: str | None, moment: datetime) -> Duty | None:
        """The district's duty leader at that moment (models/duty.py), None without a roster."""
        rules = self.districts.get(district or "")
        return on_duty(rules.duty, moment) if rules is not None else None

    def sign(self, district: str | None, lang: str = "zh") -> str | None:
        rules = self.districts.get(district or "")
        if rules is None:
            return None
        return rules.sign_en if lang == "en" else rules.sign
