"""Integrators' commands: file a complaint, act on a case, read it."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from runtime import settings
from starter import act, connect, file_complaint, state
from starter.cases import UPDATES, validate_case_id, validate_case_input, validate_command
from starter.cli.common import parse_fields, read_json
from starter.cli.show import render


async def file(args: argparse.Namespace) -> int:
    body = read_json(args.complaint)
    case_input = body if "complaint" in body else {"complaint": body}
    if args.policy:
        case_input["policy"] = args.policy
    validate_case_id(args.case_id)
    validate_case_input(case_input)  # refuse bad input before connecting
    filed = await file_complaint(await connect(), args.case_id, case_input)
    print(f"{'filed' if filed.created else 'already exists, nothing started'}: case {filed.case_id}")
    return 0


async def act_on(args: argparse.Namespace) -> int:
    payload = parse_fields(args.fields)
    if args.update != "dispatch" or "department" in payload:
        validate_command(args.update, payload)  # refuse bad input before connecting
    warnings: list[str] = []
    listed_only = settings.load().units == "listed"
    acted = await act(await connect(), args.case_id, args.update, payload, listed_only=listed_only, warnings=warnings)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(render(acted))
    return 0


async def show(args: argparse.Namespace) -> int:
    current = await state(await connect(), args.case_id)
    print(current.model_dump_json(indent=2) if args.json else render(current))
    return 0


def add(sub: Any) -> None:
    c = sub.add_parser("file", help="file a complaint as a new case")
    c.add_argument("case_id")
    c.add_argument("complaint", help="JSON file with the complaint (or a CaseInput), - for stdin")
    c.add_argument("--policy", choices=["1030", "13710"])
    c.set_defaults(run=file)
    c = sub.add_parser("act", help="run an update on a case")
    c.add_argument("case_id")
    c.add_argument("update", choices=sorted(UPDATES))
    c.add_argument("fields", nargs="*", help="key=value or key:=json")
    c.set_defaults(run=act_on)
    c = sub.add_parser("show", help="print a case's state")
    c.add_argument("case_id")
    c.add_argument("--json", action="store_true")
    c.set_defaults(run=show)
