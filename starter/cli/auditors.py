"""Auditors' commands: a case's story from Temporal's history, exported histories, and replay of
them against this code (exit 6 at the first non-determinism)."""

from __future__ import annotations

import argparse
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from models import CaseState
from sla import BUSINESS_TZ
from starter import InvalidInput, connect
from starter.cli.common import EXIT_NONDETERMINISTIC, moment


def _t(moment: datetime | None) -> str:
    return moment.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def render_timeline(state: CaseState, runs: int) -> str:
    lines = [
        f"case {state.case_id}  {state.status.value}  policy {state.policy.value}  track {state.track.value}  "
        f"category {state.category.value}  ({runs} run{'s' if runs != 1 else ''} in Temporal's history)",
        f"received {_t(state.received_at)}; first department {state.first_department or '-'}; "
        f"department {state.department or '-'}"
        + (f"; repeat of {state.repeat_of}" if state.repeat_of else "")
        + (f"; merged into {state.merged_into}" if state.merged_into else ""),
        "",
    ]
    for e in state.timeline:
        who = (
            f"{e.actor.role.value} {e.actor.id}"
            + (f" ({e.actor.department})" if e.actor and e.actor.department else "")
            if e.actor
            else "engine"
        )
        detail = {k: v for k, v in e.detail.items() if k not in ("milestones", "location")}
        line = f"{_t(e.at)}  {e.kind.upper() if e.kind in ('breach', 'escalated') else e.kind:<20} {who}"
        if e.kind == "breach":
            line += f": {detail.pop('milestone')} was due {_t(datetime.fromisoformat(detail.pop('due_at')))}"
        for m in e.detail.get("milestones", []):
            met = "met" if m["met"] else "LATE"
            line += f"  [{m['name']} due {_t(datetime.fromisoformat(m['due_at']))}: {met}]"
        if detail:
            line += "  " + "; ".join(f"{k}: {v}" for k, v in detail.items())
        lines.append(line)
    lines += ["", f"{'milestone':<17} {'due':<19} {'done':<19} result"]
    for m in state.milestones:
        result = m.outcome + (" (by the resolution)" if m.settled == "resolution" else "")
        lines.append(
            f"{m.name:<17} {_t(m.due_at):<19} {_t(m.done_at):<19} {result}"
            + (f" ({m.department})" if m.department else "")
        )
    lines.append(
        f"\nbreaches: {', '.join(state.breaches) or 'none'}; escalated: "
        f"{state.escalation_reason if state.escalated else 'no'}"
        + (f"; leader {state.leader.name} ({state.leader.id})" if state.leader else "")
    )
    return "\n".join(lines)


async def timeline(args: argparse.Namespace) -> int:
    from starter.audit import case_from_temporal, runs_of

    client = await connect()
    runs = await runs_of(client, args.case_id)
    print(render_timeline(await case_from_temporal(client, args.case_id), len(runs)))
    return 0


async def export(args: argparse.Namespace) -> int:
    from starter.audit import export

    if not args.case_ids and not args.closed:
        raise InvalidInput("export: name case ids, or --closed")
    written = await export(
        await connect(), args.out, case_ids=args.case_ids, closed=args.closed, closed_since=args.since
    )
    print(f"wrote {len(written)} histor{'y' if len(written) == 1 else 'ies'} to {args.out}")
    return 0


async def replay(args: argparse.Namespace) -> int:
    from starter.audit import histories_of, history_files, replay, replay_files

    target = Path(args.target)
    if args.jobs is not None and args.jobs < 1:
        raise InvalidInput("replay: --jobs must be at least 1")
    if target.exists():
        files = history_files(target)
        if not files:
            raise InvalidInput(f"replay: no histories in {target}")
        report = await replay_files(files, args.jobs or os.cpu_count() or 1)
    else:  # a case id: its runs, straight from Temporal
        report = await replay(await histories_of(await connect(), args.target), stop_at_first=True)
    print(report)
    return EXIT_NONDETERMINISTIC if report.failures else 0


def add(sub: Any) -> None:
    c = sub.add_parser("timeline", help="a case's whole story, from Temporal's history")
    c.add_argument("case_id")
    c.set_defaults(run=timeline)
    c = sub.add_parser("export", help="write case histories as JSON files")
    c.add_argument("case_ids", nargs="*")
    c.add_argument("--closed", action="store_true", help="every closed case")
    c.add_argument("--since", type=moment, help="with --closed: closed since")
    c.add_argument("--out", type=Path, default=Path("histories"))
    c.set_defaults(run=export)
    c = sub.add_parser("replay", help="replay histories against this code; exit 6 on any non-determinism")
    c.add_argument("target", help="a history file, a folder of them, or a case id")
    c.add_argument("--jobs", type=int, help="processes replaying a folder at once (default: every core)")
    c.set_defaults(run=replay)
