"""Supervisors: `python -m starter risk check "…"`, a text against the strong-signal rules, without
filing anything (models/risk.py; the rules in COMPLAINTS_RISK_FILE)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from models.risk import RiskRuleError

WORDS = {"red": "红色", "orange": "橙色", "yellow": "黄色"}


async def check(args: argparse.Namespace) -> int:
    from starter.risk import rules

    try:
        found = rules(Path(args.rules) if args.rules else None).assess(" ".join(args.text))
    except RiskRuleError as err:
        print(f"risk rules: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(found.as_json(), ensure_ascii=False))
        return 0
    if found.level is None:
        print("无强信息 no strong signal")
        return 0
    print(f"{WORDS[found.level.value]} {found.level.value}")
    for r in found.reasons:
        print(f"  {WORDS[r.level.value]} {r.reason} ({r.reason_en}): “{r.matched}” [{r.rule}]")
    return 0


def add(sub: Any) -> None:
    r = sub.add_parser("risk", help="strong signals in what people say (强信息): try a text against the rules")
    actions = r.add_subparsers(dest="action", required=True)
    c = actions.add_parser("check", help="the level and reasons the rules give a text; nothing is filed")
    c.add_argument("text", nargs="+", help="the complaint's words (several arguments are one text)")
    c.add_argument("--rules", help="a rule file (default COMPLAINTS_RISK_FILE)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(run=check)
