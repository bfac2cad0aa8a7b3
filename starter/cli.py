"""Command line for integrators and the demo.

    python -m starter file CASE_ID complaint.json [--policy 13710]
    python -m starter act CASE_ID dispatch actor.id=d1 actor.role=dispatcher department=住建局
    python -m starter show CASE_ID [--json]
    python -m starter rebuild-read-model

`key=value` sets a text field (dotted keys for nested ones); `key:=json` sets any JSON value
(approve:=true, leader:='{"id": "L1", "name": "张书记"}').
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from temporalio.service import RPCError

from starter import UPDATES, InvalidInput, Rejected, UnknownCase, act, connect, file_complaint, state
from starter.show import render


def parse_fields(pairs: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for pair in pairs:
        if ":=" in pair:
            key, raw = pair.split(":=", 1)
            try:
                value: Any = json.loads(raw)
            except json.JSONDecodeError as err:
                raise InvalidInput(f"{key}: {raw!r} is not JSON ({err.msg})") from None
        elif "=" in pair:
            key, value = pair.split("=", 1)
        else:
            raise InvalidInput(f"{pair!r}: expected key=value or key:=json")
        target = data
        *parents, leaf = key.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    return data


def _read_json(path: str) -> Any:
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidInput(f"{path}: not JSON: {err}") from None


async def _run(args: argparse.Namespace) -> int:
    if args.command == "file":
        body = _read_json(args.complaint)
        case_input = body if "complaint" in body else {"complaint": body}
        if args.policy:
            case_input["policy"] = args.policy
        from starter.cases import validate_case_id, validate_case_input

        validate_case_id(args.case_id)
        validate_case_input(case_input)  # refuse bad input before connecting
        client = await connect()
        filed = await file_complaint(client, args.case_id, case_input)
        print(f"{'filed' if filed.created else 'already exists, nothing started'}: case {filed.case_id}")
        return 0
    if args.command == "act":
        payload = parse_fields(args.fields)
        from starter.cases import validate_command

        validate_command(args.update, payload)
        client = await connect()
        new_state = await act(client, args.case_id, args.update, payload)
        print(render(new_state))
        return 0
    if args.command == "rebuild-read-model":
        from starter.rebuild import rebuild_read_model
        from readmodel import open_read_model

        client = await connect()
        report = await rebuild_read_model(client, open_read_model())
        print(report)
        return 0 if not report.skipped else 1
    client = await connect()
    current = await state(client, args.case_id)
    print(current.model_dump_json(indent=2) if args.json else render(current))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m starter", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_file = sub.add_parser("file", help="file a complaint as a new case")
    p_file.add_argument("case_id")
    p_file.add_argument("complaint", help="JSON file with the complaint (or a CaseInput), - for stdin")
    p_file.add_argument("--policy", choices=["1030", "13710"])
    p_act = sub.add_parser("act", help="run an update on a case")
    p_act.add_argument("case_id")
    p_act.add_argument("update", choices=sorted(UPDATES))
    p_act.add_argument("fields", nargs="*", help="key=value or key:=json")
    p_show = sub.add_parser("show", help="print a case's state")
    p_show.add_argument("case_id")
    p_show.add_argument("--json", action="store_true")
    sub.add_parser("rebuild-read-model", help="rebuild the read model's tables from Temporal (a worker must run)")
    args = parser.parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except InvalidInput as err:
        print(f"invalid input: {err}", file=sys.stderr)
        return 2
    except Rejected as err:
        print(f"rejected: {err}", file=sys.stderr)
        return 3
    except UnknownCase as err:
        print(str(err), file=sys.stderr)
        return 5
    except RPCError as err:
        print(f"temporal: {err}", file=sys.stderr)
        return 4
    except KeyboardInterrupt:
        return 130
    except RuntimeError as err:
        if "connect" in str(err).lower():
            print(f"cannot reach Temporal: {err} (start it with `python worker.py`)", file=sys.stderr)
            return 4
        raise
