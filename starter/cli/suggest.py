"""Supervisors and operators: the suggested unit (智能派单, readmodel/unit_model.py).

    python -m starter suggest "TEXT" --district CODE [--category CAT] [--json]
    python -m starter suggest evaluate --district CODE [--json]
    python -m starter suggest train [--district CODE]

A text is asked of the district's model as a filing would be; nothing is filed. `evaluate`
learns from the district's closed cases afresh (nine in ten) and scores the tenth, beside the
routing table alone on the same cases; `train` learns and keeps the model now, as the nightly
schedule does."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

ACTIONS = ("evaluate", "train")


async def run(args: argparse.Namespace) -> int:
    words = list(args.words)
    action = words[0] if words and words[0] in ACTIONS else None
    if action == "train":
        return train(args)
    if args.district is None:
        print("suggest: --district CODE names the district whose model to ask", file=sys.stderr)
        return 2
    district = _district(args.district)
    if district is None:
        return 2
    if action == "evaluate":
        return evaluate(args, district)
    if not words:
        print("suggest: give the complaint's words, or evaluate, or train", file=sys.stderr)
        return 2
    return suggest_text(args, district, " ".join(words))


def _district(code: str) -> str | None:
    from models.tree import Level
    from starter import jurisdictions

    place = jurisdictions.tree().places.get(code)
    if place is None or place.level != Level.district:
        print(f"--district: {code!r} is no district code of the city's tree", file=sys.stderr)
        return None
    return code


def suggest_text(args: argparse.Namespace, district: str, text: str) -> int:
    from models.base import Category
    from models.tree import PlaceCodes
    from starter import jurisdictions
    from starter.suggest import suggest

    routed = None
    if args.category:
        try:
            category = Category(args.category)
        except ValueError:
            print(
                f"--category: {args.category!r} is not one of {', '.join(c.value for c in Category)}", file=sys.stderr
            )
            return 2
        unit = jurisdictions.tree().route(PlaceCodes(district=district), category)
        routed = unit.name if unit else None
    found = suggest(district, routed, text, "")
    if args.json:
        print(json.dumps(found.model_dump(mode="json"), ensure_ascii=False))
        return 0
    if found.by.value == "model":
        print(f"建议派单 suggested: {found.unit}（模型 model，把握 {found.certainty:.0%}）")
    else:
        print(f"按分派表 by the routing table: {found.unit or '（该类别未配置 no unit for the category）'}")
        print(f"  {found.why} ({found.why_en})")
    for n, likely in enumerate(found.likely, 1):
        print(f"  {n}. {likely.unit} {likely.probability:.0%}")
    return 0


def evaluate(args: argparse.Namespace, district: str) -> int:
    from readmodel import open_read_model
    from readmodel.unit_model import CannotLearn, examples, learn, routed_by
    from starter import jurisdictions

    city = jurisdictions.tree()
    try:
        _, figures = learn(examples(open_read_model().engine, district), routed_by(city, district))
    except CannotLearn as err:
        print(
            f"{city.places[district].name} ({district}): {err} ({err.en}); the routing table decides", file=sys.stderr
        )
        return 1
    if args.json:
        print(json.dumps({"district": district, **figures.as_json()}, ensure_ascii=False))
        return 0
    print(
        f"{city.places[district].name} ({district}): {figures.cases} 件已结案件 closed cases, "
        f"{figures.units} 个单位 units, 留出 {figures.held_out} held out"
    )
    print(
        f"  准确率 accuracy {figures.accuracy:.1%}  宏平均精确率 macro precision {figures.macro_precision:.1%}  "
        f"宏平均召回率 macro recall {figures.macro_recall:.1%}"
    )
    if figures.routing_accuracy is not None:
        print(f"  仅按分派表 routing table alone {figures.routing_accuracy:.1%}")
    for handled, suggested, n in figures.confused:
        print(f"  混淆 confused: {handled} 的案件被建议给 {suggested} (handled by → suggested) x{n}")
    return 0


def train(args: argparse.Namespace) -> int:
    from models.tree import Level
    from readmodel import open_read_model
    from readmodel.unit_model import train as learn_and_keep
    from starter import jurisdictions

    city = jurisdictions.tree()
    if args.district is not None and _district(args.district) is None:
        return 2
    districts = (
        [args.district] if args.district else [p.code for p in city.places.values() if p.level == Level.district]
    )
    engine = open_read_model().engine
    for district in districts:
        row = learn_and_keep(engine, district, city)
        name = city.places[district].name
        if row.reason:
            print(f"{name} ({district}): {row.reason} ({row.reason_en}); the routing table decides")
        else:
            print(f"{name} ({district}): trained on {row.cases} cases, accuracy {row.figures['accuracy']:.1%}")
    return 0


def add(sub: Any) -> None:
    s = sub.add_parser("suggest", help="the suggested unit (智能派单): ask, evaluate or train a district's model")
    s.add_argument("words", nargs="*", help='the complaint\'s words, or "evaluate", or "train"')
    s.add_argument("--district", help="the district's code (its own model, its routing table)")
    s.add_argument("--category", help="the complaint's category, for the routing table's unit")
    s.add_argument("--json", action="store_true")
    s.set_defaults(run=run)
