"""Command line for integrators, supervisors, auditors and operators: one module per audience.

Integrators:
    python -m starter file CASE_ID complaint.json [--policy 13710]
    python -m starter act CASE_ID dispatch actor.id=d1 actor.role=dispatcher department=住建局
    python -m starter show CASE_ID [--json]
Supervisors:
    python -m starter list [--status S] [--department D] [--street S] [--overdue] [--escalated] [--due-within H]
    python -m starter stats [--since DATE] [--until DATE] [--by department|street|category|channel|district|community|grid|unit|level] [--within CODE] [--json|--csv]
    python -m starter hotspots [--days 7] [--min 3] [--by community|grid] [--open-cases]
    python -m starter hotspots --similar [--days 14] [--min 5] [--within CODE] [--json]
    python -m starter link CASE_ID --as ID   (the complainant's link, for a supervisor or dispatcher)
    python -m starter risk check "TEXT" [--rules FILE] [--json]   (强信息: a text against the rules)
    python -m starter suggest "TEXT" --district CODE [--category CAT] [--json]   (智能派单: the suggested unit)
    python -m starter suggest evaluate --district CODE [--json] | suggest train [--district CODE]
    python -m starter simulate [FILE] [--seed N] [--replications R] [--policies P...] [--json] [--chart F.svg]
Auditors:
    python -m starter timeline CASE_ID
    python -m starter export CASE_ID... | --closed [--since DATE]  [--out DIR]
    python -m starter replay PATH|CASE_ID
Operators:
    python -m starter identity add ID --role ROLE [--department D] [--scope CODE] [--name N] [--password-stdin [--key]]
    python -m starter identity revoke ID
    python -m starter identity list
    python -m starter setup-cluster
    python -m starter jurisdictions check [FILE] | show [CODE] | unlisted
    python -m starter rebuild-read-model
    python -m starter codec-server [--port 8081] [--origin http://localhost:8233]
    python -m starter webhook add NAME --identity ID --url URL --events E[,E...]|* [--department D]
    python -m starter webhook list | remove NAME | rotate-secret NAME | resume NAME
    python -m starter webhook deliveries NAME [--limit N] | redeliver NAME --since T

`key=value` sets a text field (dotted keys for nested ones); `key:=json` sets any JSON value
(approve:=true, leader:='{"id": "L1", "name": "张书记"}').
"""

from __future__ import annotations

import argparse
import sys

from temporalio.service import RPCError

from starter import InvalidInput, Rejected, UnknownCase
from starter.cli import auditors, integrators, jurisdictions, links, operators, risk, suggest, supervisors, webhooks
from starter.cli.common import parse_fields

__all__ = ["main", "parse_fields", "parser"]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m starter", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)
    for audience in (integrators, supervisors, links, risk, suggest, auditors, operators, jurisdictions, webhooks):
        audience.add(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    from runtime import process

    args = parser().parse_args(argv)
    try:
        return process.run_async(args.run(args)) or 0
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
    except RuntimeError as err:
        if "connect" in str(err).lower():
            print(f"cannot reach Temporal: {err} (start it with `python worker.py`)", file=sys.stderr)
            return 4
        raise
