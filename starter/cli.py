"""Command line for integrators, supervisors and auditors.

Integrators:
    python -m starter file CASE_ID complaint.json [--policy 13710]
    python -m starter act CASE_ID dispatch actor.id=d1 actor.role=dispatcher department=住建局
    python -m starter show CASE_ID [--json]
Supervisors:
    python -m starter list [--status S] [--department D] [--street S] [--overdue] [--escalated] [--due-within H]
    python -m starter stats [--since DATE] [--until DATE] [--by department|street|category|channel] [--json|--csv]
    python -m starter hotspots [--days 7] [--min 3] [--by community|grid] [--open-cases]
    python -m starter simulate [FILE] [--seed N] [--replications R] [--policies P...] [--json] [--chart F.svg]
Auditors:
    python -m starter timeline CASE_ID
    python -m starter export CASE_ID... | --closed [--since DATE]  [--out DIR]
    python -m starter replay PATH|CASE_ID
Operators:
    python -m starter identity add ID --role ROLE [--department D] [--name N] [--password-stdin]
    python -m starter identity revoke ID
    python -m starter identity list
    python -m starter setup-cluster
    python -m starter rebuild-read-model
    python -m starter codec-server [--port 8081] [--origin http://localhost:8233]

`key=value` sets a text field (dotted keys for nested ones); `key:=json` sets any JSON value
(approve:=true, leader:='{"id": "L1", "name": "张书记"}').
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from temporalio.service import RPCError

from models import Role
from starter import UPDATES, InvalidInput, Rejected, UnknownCase, act, connect, file_complaint, state
from starter.show import render

EXIT_NONDETERMINISTIC = 6


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


def _date(value: str) -> datetime:
    """An ISO date or time; a bare date is midnight in Asia/Shanghai."""
    from readmodel.stats import parse_moment

    try:
        return parse_moment(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: a whole number, at least 1")
    return int(value)


async def cmd_file(args: argparse.Namespace) -> int:
    from starter.cases import validate_case_id, validate_case_input

    body = _read_json(args.complaint)
    case_input = body if "complaint" in body else {"complaint": body}
    if args.policy:
        case_input["policy"] = args.policy
    validate_case_id(args.case_id)
    validate_case_input(case_input)  # refuse bad input before connecting
    filed = await file_complaint(await connect(), args.case_id, case_input)
    print(f"{'filed' if filed.created else 'already exists, nothing started'}: case {filed.case_id}")
    return 0


async def cmd_act(args: argparse.Namespace) -> int:
    from starter.cases import validate_command

    payload = parse_fields(args.fields)
    validate_command(args.update, payload)
    print(render(await act(await connect(), args.case_id, args.update, payload)))
    return 0


async def cmd_show(args: argparse.Namespace) -> int:
    current = await state(await connect(), args.case_id)
    print(current.model_dump_json(indent=2) if args.json else render(current))
    return 0


async def cmd_list(args: argparse.Namespace) -> int:
    from starter.supervise import list_cases, list_query

    query = list_query(
        status=args.status,
        department=args.department,
        street=args.street,
        overdue=args.overdue,
        escalated=args.escalated,
        due_within=timedelta(hours=args.due_within) if args.due_within is not None else None,
    )
    if args.stuck:
        return await _list_stuck(query, args.json)
    cases = await list_cases(await connect(), query, limit=args.limit)
    if args.json:
        print(json.dumps([c.as_json() for c in cases], ensure_ascii=False))
        return 0
    from sla import BUSINESS_TZ
    from starter.columns import table

    rows = [
        [
            c.case_id,
            c.status or "-",
            c.department or "-",
            c.street or "-",
            c.next_deadline.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M") if c.next_deadline else "-",
            c.breaches,
            c.overdue,
            "yes" if c.escalated else "",
        ]
        for c in cases
    ]
    print(
        "\n".join(
            table(
                ["case", "status", "department", "street", "next deadline", "breaches", "overdue", "escalated"],
                rows,
                right=(5, 6),
            )
        )
    )
    print(f"{len(cases)} case{'s' if len(cases) != 1 else ''} ({query})")
    return 0


async def _list_stuck(query: str, as_json: bool) -> int:
    from sla import BUSINESS_TZ
    from starter.supervise import stuck_cases

    stuck = await stuck_cases(await connect(), query)
    if as_json:
        print(json.dumps([s.as_json() for s in stuck], ensure_ascii=False))
        return 0
    from starter.columns import table

    rows = [
        [
            s.case_id,
            s.attempts,
            s.failing_since.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M") if s.failing_since else "-",
            s.cause or "-",
            " ".join(s.error.split())[:160],
        ]
        for s in stuck
    ]
    print("\n".join(table(["case", "attempts", "failing since", "cause", "error"], rows, right=(1,))))
    print(f"{len(stuck)} case{'s' if len(stuck) != 1 else ''} failing their workflow task ({query})")
    return 0


async def cmd_stats(args: argparse.Namespace) -> int:
    import settings
    from readmodel import open_read_model
    from readmodel.stats import compute, default_period, render_csv, render_json, render_table
    from sla import WorkingCalendar

    since, until = default_period(args.since, args.until)
    calendar = WorkingCalendar.from_file(settings.load().calendar_file)
    rows = compute(open_read_model(), since=since, until=until, by=args.by, calendar=calendar)
    print(
        render_json(rows)
        if args.json
        else render_csv(rows)
        if args.csv
        else f"cases received {since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M}\n" + render_table(rows, args.by),
        end="" if args.csv else "\n",
    )
    return 0


async def cmd_hotspots(args: argparse.Namespace) -> int:
    from readmodel import open_read_model
    from readmodel.hotspots import find_hotspots

    until = args.until or datetime.now(timezone.utc) + timedelta(seconds=1)
    since = args.since or until - timedelta(days=90)
    spots = find_hotspots(
        open_read_model(), since=since, until=until, window=timedelta(days=args.days), threshold=args.min, by=args.by
    )
    if args.json:
        print(json.dumps([h.as_json() for h in spots], ensure_ascii=False))
    for h in spots if not args.json else []:
        print(
            f"{h.people} people, {h.category} in {h.street} {h.community}{' ' + h.grid if h.grid else ''}, "
            f"{h.first_at:%Y-%m-%d} to {h.last_at:%Y-%m-%d}: {', '.join(h.case_ids)}"
        )
    if not args.json:
        print(
            f"{len(spots)} cluster{'s' if len(spots) != 1 else ''} of at least {args.min} people "
            f"within {args.days} days"
        )
    if args.open_cases and spots:
        from starter.progress import progress

        client = await connect()
        with progress("opening patrol cases", len(spots)) as advance:
            for h in spots:
                filed = await file_complaint(client, h.patrol_case_id, {"complaint": h.patrol_complaint()})
                advance(1)
                print(
                    f"{'opened' if filed.created else 'already open'}: grid-patrol case {h.patrol_case_id}",
                    file=sys.stderr if args.json else sys.stdout,
                )
    return 0


async def cmd_simulate(args: argparse.Namespace) -> int:
    import settings
    from simulation import InputError, load
    from simulation.report import chart, summarise, table
    from simulation.run import run
    from starter.progress import progress

    try:
        inputs = load(args.file)
        if args.policies:
            inputs = inputs.model_validate(inputs.model_dump() | {"compare": args.policies})
        if args.fit:
            from readmodel import open_read_model
            from simulation.fit import fit

            until = args.until or datetime.now(timezone.utc)
            inputs = fit(inputs, open_read_model(), since=args.since or until - timedelta(days=365), until=until)
        if args.unlimited_staff:
            inputs = inputs.unlimited()
    except InputError as err:
        print(f"invalid input: {err}", file=sys.stderr)
        return 2
    except ValueError as err:  # --policies naming an unknown one
        print(f"invalid input: {str(err).splitlines()[-1] if 'validation' in str(err) else err}", file=sys.stderr)
        return 2
    config = settings.load()
    with progress("replications", args.replications) as advance:
        results = run(
            inputs,
            replications=args.replications,
            seed=args.seed,
            calendar_file=config.calendar_file,
            jobs=args.jobs,
            progress=advance,
        )
    source = str(args.file) if args.file else "the sample (Luohu, 2022)"
    report = summarise(results, seed=args.seed, source=source + (", fitted to the read model" if args.fit else ""))
    if args.chart:
        Path(args.chart).write_text(chart(report), encoding="utf-8")
    if args.json:
        print(json.dumps(report, ensure_ascii=False, separators=(",", ":")))
    else:
        print(table(report, departments=not args.no_departments))
        if args.chart:
            print(f"\nchart: {args.chart}")
    return 0


async def cmd_timeline(args: argparse.Namespace) -> int:
    from starter.audit import case_from_temporal, render_timeline, runs_of

    client = await connect()
    runs = await runs_of(client, args.case_id)
    print(render_timeline(await case_from_temporal(client, args.case_id), len(runs)))
    return 0


async def cmd_export(args: argparse.Namespace) -> int:
    from starter.audit import export

    if not args.case_ids and not args.closed:
        raise InvalidInput("export: name case ids, or --closed")
    written = await export(
        await connect(), args.out, case_ids=args.case_ids, closed=args.closed, closed_since=args.since
    )
    print(f"wrote {len(written)} histor{'y' if len(written) == 1 else 'ies'} to {args.out}")
    return 0


async def cmd_replay(args: argparse.Namespace) -> int:
    import os

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


async def cmd_setup_cluster(args: argparse.Namespace) -> int:
    from starter.cluster import ensure_search_attributes

    added = await ensure_search_attributes(await connect())
    print(f"registered search attributes: {', '.join(added)}" if added else "search attributes already registered")
    return 0


async def cmd_codec_server(args: argparse.Namespace) -> int:
    import settings
    from gateway.auth import RateLimiter
    from gateway.codec import CodecState, codec_app
    from gateway.identities import IdentityStore
    from gateway.serve import serve_until_cancelled, server
    from starter.codec import EncryptionCodec, keyring_from_settings

    # The gateway's own codec endpoint, served alone at / (the gateway serves it at /codec).
    config = settings.load()
    state = CodecState(
        IdentityStore(config.identities_file),
        RateLimiter(config.rate_limit, config.rate_burst),
        EncryptionCodec(keyring_from_settings()),
    )
    running = server(codec_app(state, args.origin), args.host, args.port)
    print(
        f"codec server on http://{args.host}:{args.port} for {args.origin} (supervisor and auditor keys only)",
        flush=True,
    )
    await serve_until_cancelled(running)
    return 0


async def cmd_identity(args: argparse.Namespace) -> int:
    import settings
    from gateway.identities import IdentityError, IdentityStore
    from models import Role

    store = IdentityStore(settings.load().identities_file)
    try:
        if args.action == "add":
            password = None
            if args.password_stdin:
                password = sys.stdin.readline().rstrip("\r\n")
            key = store.add(args.id, Role(args.role), department=args.department, name=args.name, password=password)
            print(
                f"identity {args.id}: {args.role}"
                + (f" of {args.department}" if args.department else "")
                + f" in {store.path}"
            )
            if key is None:
                print("console password set (stored as a scrypt hash)")
            else:
                print("API key (shown this once; only its hash is kept):")
                print(key)
        elif args.action == "revoke":
            count = store.revoke(args.id)
            print(f"revoked {args.id}: {count} key{'s' if count != 1 else ''} and any console password end now")
        else:
            from starter.columns import table

            rows = []
            for identity in sorted(store.identities().values(), key=lambda i: i.id):
                state = (
                    f"revoked {identity.revoked_at}"
                    if identity.revoked_at
                    else (
                        f"{len(identity.keys)} key{'s' if len(identity.keys) != 1 else ''}"
                        + (", console password" if identity.password else "")
                    )
                )
                rows.append([identity.id, identity.role.value, identity.department or "-", identity.name or "-", state])
            print("\n".join(table(["identity", "role", "department", "name", "state"], rows)))
    except IdentityError as err:
        raise InvalidInput(str(err)) from None
    return 0


async def cmd_rebuild(args: argparse.Namespace) -> int:
    from readmodel import open_read_model
    from starter.rebuild import rebuild_read_model

    report = await rebuild_read_model(await connect(), open_read_model())
    print(report)
    return 0 if not report.skipped else 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m starter", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("file", help="file a complaint as a new case")
    c.add_argument("case_id")
    c.add_argument("complaint", help="JSON file with the complaint (or a CaseInput), - for stdin")
    c.add_argument("--policy", choices=["1030", "13710"])
    c.set_defaults(run=cmd_file)
    c = sub.add_parser("act", help="run an update on a case")
    c.add_argument("case_id")
    c.add_argument("update", choices=sorted(UPDATES))
    c.add_argument("fields", nargs="*", help="key=value or key:=json")
    c.set_defaults(run=cmd_act)
    c = sub.add_parser("show", help="print a case's state")
    c.add_argument("case_id")
    c.add_argument("--json", action="store_true")
    c.set_defaults(run=cmd_show)
    c = sub.add_parser("list", help="live cases through Temporal visibility (open ones unless --status)")
    c.add_argument("--status", choices=["received", "dispatched", "handling", "resolved", "closed", "merged"])
    c.add_argument("--department")
    c.add_argument("--street")
    c.add_argument("--overdue", action="store_true", help="a deadline has passed and is not met")
    c.add_argument("--escalated", action="store_true")
    c.add_argument("--due-within", type=float, metavar="HOURS", help="next deadline within this many hours")
    c.add_argument(
        "--stuck",
        action="store_true",
        help="only cases whose workflow task keeps failing, with the error (describes each open case)",
    )
    c.add_argument("--limit", type=int, default=200)
    c.add_argument("--json", action="store_true")
    c.set_defaults(run=cmd_list)
    c = sub.add_parser("stats", help="rates and counts from the read model")
    c.add_argument("--since", type=_date)
    c.add_argument("--until", type=_date)
    c.add_argument("--by", choices=["department", "street", "category", "channel"])
    fmt = c.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--csv", action="store_true")
    c.set_defaults(run=cmd_stats)
    c = sub.add_parser("hotspots", help="clusters of similar complaints (类案) from the read model")
    c.add_argument("--since", type=_date)
    c.add_argument("--until", type=_date)
    c.add_argument("--days", type=int, default=7, help="the sliding window")
    c.add_argument("--min", type=int, default=3, help="distinct people in a window to count as a cluster")
    c.add_argument("--by", choices=["community", "grid"], default="community")
    c.add_argument("--open-cases", action="store_true", help="open a grid-patrol case for each cluster")
    c.add_argument("--json", action="store_true")
    c.set_defaults(run=cmd_hotspots)
    c = sub.add_parser(
        "simulate", help="what-if: a year of complaints under several policies (SimPy), with 95 %% intervals"
    )
    c.add_argument("file", nargs="?", type=Path, help="the inputs (TOML); default the sample, Luohu 2022")
    c.add_argument("--seed", type=int, default=1, help="fixes every random draw: the same seed, the same report")
    c.add_argument("--replications", type=_positive, default=20, help="independent years (default 20)")
    c.add_argument("--jobs", type=_positive, default=None, help="processes (default: every core)")
    c.add_argument("--policies", nargs="+", help="compare these (policies or the file's drafts) instead")
    c.add_argument("--fit", action="store_true", help="arrivals, mix and turns from the read model's history")
    c.add_argument("--since", type=_date, help="with --fit: from (default a year before --until)")
    c.add_argument("--until", type=_date, help="with --fit: until (default now)")
    c.add_argument("--unlimited-staff", action="store_true", help="everyone at work around the clock: nothing waits")
    c.add_argument("--json", action="store_true", help="the report as one JSON line")
    c.add_argument("--chart", type=Path, help="write the on-time chart here (SVG)")
    c.add_argument("--no-departments", action="store_true", help="the totals only")
    c.set_defaults(run=cmd_simulate)
    c = sub.add_parser("timeline", help="a case's whole story, from Temporal's history")
    c.add_argument("case_id")
    c.set_defaults(run=cmd_timeline)
    c = sub.add_parser("export", help="write case histories as JSON files")
    c.add_argument("case_ids", nargs="*")
    c.add_argument("--closed", action="store_true", help="every closed case")
    c.add_argument("--since", type=_date, help="with --closed: closed since")
    c.add_argument("--out", type=Path, default=Path("histories"))
    c.set_defaults(run=cmd_export)
    c = sub.add_parser("replay", help="replay histories against this code; exit 6 on any non-determinism")
    c.add_argument("target", help="a history file, a folder of them, or a case id")
    c.add_argument("--jobs", type=int, help="processes replaying a folder at once (default: every core)")
    c.set_defaults(run=cmd_replay)
    c = sub.add_parser("identity", help="who may call the gateway: API keys and console passwords")
    actions = c.add_subparsers(dest="action", required=True)
    a = actions.add_parser("add", help="create an identity and print its API key (once), or set its password")
    a.add_argument("id")
    a.add_argument("--role", required=True, choices=[r.value for r in Role])
    a.add_argument("--department", help="the department it acts for (a community's name for role community)")
    a.add_argument("--name", help="a person's or system's name, for people to read")
    a.add_argument("--password-stdin", action="store_true", help="set a console password read from stdin instead")
    a = actions.add_parser("revoke", help="end every key and the password of an identity at once")
    a.add_argument("id")
    actions.add_parser("list", help="the identities (never a key or a password)")
    c.set_defaults(run=cmd_identity)
    c = sub.add_parser("setup-cluster", help="register the engine's search attributes on the namespace")
    c.set_defaults(run=cmd_setup_cluster)
    c = sub.add_parser("codec-server", help="decrypt payloads for the Temporal Web UI (supervisors and auditors)")
    c.add_argument("--port", type=int, default=8081)
    c.add_argument("--host", default="127.0.0.1")
    c.add_argument("--origin", default="http://localhost:8233", help="the Web UI's origin (CORS)")
    c.set_defaults(run=cmd_codec_server)
    c = sub.add_parser("rebuild-read-model", help="rebuild the read model's tables from Temporal (a worker must run)")
    c.set_defaults(run=cmd_rebuild)
    return p


def main(argv: list[str] | None = None) -> int:
    import process

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
