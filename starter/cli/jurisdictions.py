"""The city's tree, for operators: check a tree file, show a place and what lies under it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from models.tree import Tree
from models.tree_file import TreeFileError, load


def _tree_file(args: argparse.Namespace) -> Path:
    from runtime import settings

    return Path(args.file) if getattr(args, "file", None) else settings.load().jurisdictions_file


async def check(args: argparse.Namespace) -> int:
    path = _tree_file(args)
    try:
        city = load(path)
    except TreeFileError as err:
        print(f"{path}: {len(err.problems)} problem(s)", file=sys.stderr)
        for problem in err.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    counts: dict[str, int] = {}
    for place in city.places.values():
        counts[place.level.value] = counts.get(place.level.value, 0) + 1
    sample = sum(1 for p in city.places.values() if p.sample)
    print(
        f"{path}: ok: "
        + ", ".join(f"{n} {level}" for level, n in counts.items())
        + f"; {len(city.units)} units, {len(city.stations)} stations; {sample} places marked sample"
    )
    return 0


def _lines(city: Tree, code: str | None, depth: int) -> list[str]:
    lines = []
    for place in city.children(code):
        rules = city.districts.get(place.code) or city.streets.get(place.code)
        extra = ""
        if rules is not None and rules.policy is not None:
            extra = f"  policy {rules.policy.value}" + (f", sign 【{rules.sign}】" if rules.sign else "")
        mark = " (sample)" if place.sample else ""
        lines.append(f"{'  ' * depth}{place.code}  {place.name}  [{place.level.value}]{mark}{extra}")
        for unit in city.units.values():
            if unit.place == place.code:
                lines.append(f"{'  ' * (depth + 1)}· {unit.code}  {unit.name}  ({unit.kind.value})")
        for station in city.stations.values():
            if station.place == place.code:
                lines.append(f"{'  ' * (depth + 1)}◦ {station.code}  {station.name}  (station)")
        lines += _lines(city, place.code, depth + 1)
    return lines


async def show(args: argparse.Namespace) -> int:
    from starter.jurisdictions import tree

    city = tree(_tree_file(args))
    if args.code is not None and args.code not in city.places:
        print(f"no place {args.code} in the tree", file=sys.stderr)
        return 2
    if args.code is None:
        print("\n".join(_lines(city, None, 0)))
        return 0
    place = city.places[args.code]
    print(" > ".join(f"{p.name} ({p.code})" for p in city.path(args.code)) + f"  [{place.level.value}]")
    print("\n".join(_lines(city, args.code, 1)))
    return 0


async def unlisted(args: argparse.Namespace) -> int:
    """The units cases were sent to that the tree does not list: to add to the file, or alias."""
    from sqlalchemy import func, select

    from readmodel import open_read_model
    from readmodel.scope import C
    from starter.jurisdictions import tree, unlisted_units

    city = tree(_tree_file(args))
    counts: dict[tuple[str, str], int] = {}
    with open_read_model().engine.connect() as conn:
        rows = conn.execute(
            select(C.district, C.department, func.count())
            .where(C.department.is_not(None))
            .group_by(C.district, C.department)
        ).all()
    for district, name, n in rows:
        if unlisted_units("dispatch", {"department": name}, city):
            counts[(district or "-", name)] = counts.get((district or "-", name), 0) + int(n)
    if not counts:
        print("every unit cases were sent to is in the tree")
        return 0
    for (district, name), n in sorted(counts.items()):
        print(f"{district}\t{name}\t{n} case(s)")
    return 0


def add(sub: Any) -> None:
    c = sub.add_parser("jurisdictions", help="the city's tree: places, units, stations, each district's rules")
    actions = c.add_subparsers(dest="action", required=True)
    a = actions.add_parser("check", help="check a tree file; exit 2 naming every problem by its path")
    a.add_argument("file", nargs="?", help="default COMPLAINTS_JURISDICTIONS_FILE (the shipped tree)")
    a.set_defaults(run=check)
    a = actions.add_parser("unlisted", help="units cases were sent to that the tree does not list (add or alias them)")
    a.set_defaults(run=unlisted)
    a = actions.add_parser("show", help="a place and what lies under it (no code: the whole tree)")
    a.add_argument("code", nargs="?")
    a.set_defaults(run=show)
