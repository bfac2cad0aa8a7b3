"""Auditors' commands: a case's story from Temporal's history, exported histories, and replay of
them against this code (exit 6 at the first non-determinism)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from models import CaseState
from models.audit import AuditReport, AuditRequest
from sla import BUSINESS_TZ
from starter import InvalidInput, connect
from starter.cli.common import EXIT_NONDETERMINISTIC, moment, positive

EXIT_FINDINGS = 8  # the audit found something: its report names each case and event
EXIT_FORGED = 7  # a report whose signature does not verify


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


async def audit(args: argparse.Namespace) -> int:
    """Start an audit of a period on the cluster's audit workers; --wait for its signed report."""
    from starter import audits

    if args.verb == "verify":
        return audit_verify(args)
    client = await connect()
    if args.cancel:
        await audits.cancel(client, args.cancel)
        print(f"audit {args.cancel} cancelled: it stops at its next step")
        return 0
    if args.verb == "progress":
        if not args.target:
            raise InvalidInput("audit progress: name the audit's id")
        print(audits.describe(await audits.progress(client, args.target)))
        return 0
    if args.verb is not None:
        raise InvalidInput(f"audit: {args.verb}?")
    if args.since is None or args.until is None:
        raise InvalidInput("audit: --since and --until name the period")
    if args.until <= args.since:
        raise InvalidInput("audit: --until must be after --since")
    request = AuditRequest(since=args.since, until=args.until, status=args.status, batch_size=args.batch)
    audit_id = await audits.start(client, request)
    print(f"audit {audit_id} started: `python -m starter audit progress {audit_id}`; --cancel {audit_id} stops it")
    if not args.wait:
        return 0
    try:
        report = await audits.wait(client, audit_id)
    except asyncio.CancelledError:  # Ctrl-C: the audit is the cluster's, not this terminal's
        print(f"\nstopped waiting; audit {audit_id} goes on (`audit progress {audit_id}`)")
        raise
    out = args.out or Path(f"audit-{audit_id}.json")
    out.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    print(report.summary())
    print(f"report: {out} (check it with `python -m starter audit verify {out}`)")
    return EXIT_FINDINGS if report.totals.findings or report.anchor_findings else 0


def audit_verify(args: argparse.Namespace) -> int:
    """Check a report's signature with public keys alone: exit 0 valid, 7 not."""
    from readmodel.anchors import verify

    if not args.target:
        raise InvalidInput("audit verify: name the report file")
    path = Path(args.target)
    try:
        report = AuditReport.model_validate_json(path.read_bytes())
    except (OSError, ValueError) as err:
        raise InvalidInput(f"audit verify: {path}: not an audit report ({str(err).splitlines()[0]})") from None
    public = _public_keys(args.key) if args.key else _engine_public_keys()
    if verify(public, report.key_id, report.signed_bytes(), report.signature):
        print(
            f"{path}: signature valid (key {report.key_id}); {report.totals.cases} cases, "
            f"{len(report.totals.findings)} findings"
        )
        return 0
    print(f"{path}: signature NOT valid: the report was changed after signing, or another key signed it")
    return EXIT_FORGED


def _public_keys(given: list[str]) -> dict[str, str]:
    """--key id:base64, each an Ed25519 public key (32 bytes), as `anchors public-key` prints them."""
    import base64
    import binascii

    keys = {}
    for item in given:
        key_id, _, encoded = item.partition(":")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raw = b""
        if not key_id or len(raw) != 32:
            raise InvalidInput(f"audit verify: --key {item!r}: expected id:base64 of a 32-byte Ed25519 public key")
        keys[key_id] = encoded
    return keys


def _engine_public_keys() -> dict[str, str]:
    from readmodel import audit_keys_of

    return audit_keys_of().public_keys()


async def anchors(args: argparse.Namespace) -> int:
    from readmodel import Anchors, audit_keys_of, open_read_model

    if args.verb == "public-key":  # the keys alone: no read model needed
        for key_id, key in audit_keys_of().public_keys().items():
            print(f"{key_id}:{key}")
        return 0
    store = Anchors(open_read_model().engine, audit_keys_of())
    if args.verb == "make":
        made = store.make()
        print(f"anchor {made.id}: {made.cases} cases, root {made.root}" if made else "nothing new to anchor")
        return 0
    lines = [json.dumps(a, ensure_ascii=False) for a in store.export()]
    text = "\n".join(lines) + ("\n" if lines else "")
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {len(lines)} anchors to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


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
    c = sub.add_parser(
        "audit",
        help="audit a period on the audit workers: replay and hash chains, a signed report; "
        "`audit verify REPORT` checks a report",
    )
    c.add_argument("verb", nargs="?", choices=["verify", "progress"], help="verify REPORT, or progress ID")
    c.add_argument("target", nargs="?", help="the report file (verify) or the audit's id (progress)")
    c.add_argument("--since", type=moment, help="the period's start (a date is midnight, Beijing time)")
    c.add_argument("--until", type=moment, help="the period's end (exclusive)")
    c.add_argument(
        "--status", choices=["closed", "all"], default="closed", help="closed in the period, or received in it"
    )
    c.add_argument("--wait", action="store_true", help="wait for the report (Ctrl-C stops waiting, not the audit)")
    c.add_argument("--batch", type=positive, default=25, help="cases per replay activity (default 25)")
    c.add_argument("--out", type=Path, help="with --wait: where to write the report (default audit-ID.json)")
    c.add_argument("--cancel", metavar="ID", help="cancel a running audit")
    c.add_argument("--key", action="append", metavar="ID:BASE64", help="verify: a public key (default: the engine's)")
    c.set_defaults(run=audit)
    c = sub.add_parser("anchors", help="the signed daily anchors of the cases' hash chains")
    c.add_argument(
        "verb", choices=["export", "make", "public-key"], help="export them, make one now, or print the public keys"
    )
    c.add_argument("--out", type=Path, help="export: write to this file (JSON lines) instead of stdout")
    c.set_defaults(run=anchors)
