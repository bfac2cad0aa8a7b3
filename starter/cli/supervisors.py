"""Supervisors' commands: live lists through Temporal visibility, statistics and hotspots from the
read model, and the policy what-if."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from models import CaseStatus
from sla import BUSINESS_TZ
from starter import InvalidInput, Rejected, connect, file_complaint
from starter.cli.columns import table
from starter.cli.common import moment, plural, positive
from starter.cli.reports import simulation_table, stats_csv, stats_json, stats_table


def _when(value: datetime | None) -> str:
    return value.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M") if value else "-"


def _unit(name: str | None) -> str | None:
    """--department as cases record units (the unit's own name); an alias of several, refused."""
    from models.tree import UnitProblem
    from starter.jurisdictions import unit_filter

    try:
        return unit_filter(name, None)
    except UnitProblem as err:
        raise InvalidInput(f"--department: {err}; name it by its code or full name") from None


async def list_cases(args: argparse.Namespace) -> int:
    from starter.supervise import list_cases, list_query

    if args.follow_up_due:
        return _list_callbacks(args)
    query = list_query(
        status=args.status,
        department=_unit(args.department),
        street=args.street,
        overdue=args.overdue,
        escalated=args.escalated,
        due_within=timedelta(hours=args.due_within) if args.due_within is not None else None,
    )
    if args.stuck:
        return await _list_stuck(query, args.json)
    cases = await list_cases(await connect(), query, limit=args.limit)
    if args.json:
        print(json.dumps([c.model_dump(mode="json") for c in cases], ensure_ascii=False))
        return 0
    rows = [
        [
            c.case_id,
            c.status or "-",
            c.department or "-",
            c.street or "-",
            _when(c.next_deadline),
            c.breaches,
            c.overdue,
            "yes" if c.escalated else "",
        ]
        for c in cases
    ]
    headers = ["case", "status", "department", "street", "next deadline", "breaches", "overdue", "escalated"]
    print("\n".join(table(headers, rows, right=(5, 6))))
    print(f"{plural(len(cases), 'case')} ({query})")
    return 0


def _list_callbacks(args: argparse.Namespace) -> int:
    """The hotline centre's callback list (待回访), from the read model."""
    from readmodel import open_read_model
    from readmodel.board import Filters
    from readmodel.callbacks import callbacks_due
    from runtime import settings
    from sla import WorkingCalendar

    calendar = WorkingCalendar.from_file(settings.load().calendar_file)
    filters = Filters(department=_unit(args.department), street=args.street)
    due, total = callbacks_due(open_read_model(), filters, calendar=calendar, limit=args.limit)
    if args.json:
        print(json.dumps([c.as_row() for c in due], ensure_ascii=False))
        return 0
    rows = [
        [c.case_id, c.department or "-", c.street, _when(c.resolved_at), _when(c.follow_up_due), c.phone or "-"]
        for c in due
    ]
    print("\n".join(table(["case", "department", "street", "resolved", "follow-up due", "phone"], rows)))
    print(f"{plural(total, 'case')} resolved two working days ago or more, still waiting for a verdict (回访)")
    return 0


async def _list_stuck(query: str, as_json: bool) -> int:
    from starter.supervise import stuck_cases

    stuck = await stuck_cases(await connect(), query)
    if as_json:
        print(json.dumps([s.as_json() for s in stuck], ensure_ascii=False))
        return 0
    rows = [
        [s.case_id, s.attempts, _when(s.failing_since), s.cause or "-", " ".join(s.error.split())[:160]] for s in stuck
    ]
    print("\n".join(table(["case", "attempts", "failing since", "cause", "error"], rows, right=(1,))))
    print(f"{plural(len(stuck), 'case')} failing their workflow task ({query})")
    return 0


def _place(code: str | None) -> str | None:
    """--within's place code, checked against the city's tree (InvalidInput: exit 2)."""
    from starter import jurisdictions

    if code is not None and code not in jurisdictions.tree().places:
        raise InvalidInput(f"--within: {code!r} is no place code of the city's tree")
    return code


async def stats(args: argparse.Namespace) -> int:
    from readmodel import open_read_model
    from readmodel.stats import compute, default_period
    from runtime import settings
    from sla import WorkingCalendar

    since, until = default_period(args.since, args.until)
    if args.disputes or args.by in ("kind", "organisation"):
        return _dispute_stats(args, since, until)
    from starter.jurisdictions import tree as city_tree

    calendar = WorkingCalendar.from_file(settings.load().calendar_file)
    within = _place(args.within)
    rows = compute(
        open_read_model(), since=since, until=until, by=args.by, calendar=calendar, within=within, city=city_tree()
    )
    if args.json:
        print(stats_json(rows))
    elif args.csv:
        print(stats_csv(rows), end="")
    else:
        print(f"cases received {since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M}\n" + stats_table(rows, args.by))
    return 0


def _dispute_stats(args: argparse.Namespace, since: datetime, until: datetime) -> int:
    """矛盾纠纷化解: 调解成功率, 履行率, days to agreement, referrals by road (readmodel/disputes.py)."""
    from models.labels import Labels
    from readmodel import open_read_model
    from readmodel.disputes import dispute_figures

    if args.by not in (None, "kind", "organisation"):
        print("stats --disputes: --by kind or --by organisation", file=sys.stderr)
        return 2
    rows = dispute_figures(open_read_model(), since=since, until=until, by=args.by)
    if args.json:
        print(json.dumps([r.as_json() for r in rows], ensure_ascii=False))
        return 0
    words = Labels("zh")

    def days(x: float | None) -> str:
        return "-" if x is None else f"{x:.1f}"

    header = ["group", "mediations", "open", "agreed", "settled", "referred", "withdrawn", "success",
              "fulfilment", "days p50", "days p90", "referrals by road"]  # fmt: skip
    body = [
        [
            words.dispute_kind(r.group) if args.by == "kind" else r.group,
            str(r.mediations), str(r.open), str(r.agreed), str(r.settled), str(r.referred), str(r.withdrawn),
            r.success_shown, r.fulfilment_shown, days(r.percentile(0.5)), days(r.percentile(0.9)),
            ", ".join(f"{words.road(k)} {v}" for k, v in sorted(r.roads.items())) or "-",
        ]
        for r in rows
    ]  # fmt: skip
    print(f"disputes taken to mediation {since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M}")
    print("\n".join(table(header, body, right=range(1, 11))))
    return 0


async def hotspots(args: argparse.Namespace) -> int:
    from readmodel import open_read_model
    from readmodel.hotspots import find_hotspots

    if args.similar:
        return await similar(args)
    args.days, args.min = args.days or 7, args.min or 3

    until = args.until or datetime.now(timezone.utc) + timedelta(seconds=1)
    since = args.since or until - timedelta(days=90)
    spots = find_hotspots(
        open_read_model(), since=since, until=until, window=timedelta(days=args.days), threshold=args.min, by=args.by
    )
    if args.json:
        print(json.dumps([h.as_json() for h in spots], ensure_ascii=False))
    else:
        for h in spots:
            print(
                f"{h.people} people, {h.category} in {h.street} {h.community}{' ' + h.grid if h.grid else ''}, "
                f"{h.first_at:%Y-%m-%d} to {h.last_at:%Y-%m-%d}: {', '.join(h.case_ids)}"
            )
        print(f"{plural(len(spots), 'cluster')} of at least {args.min} people within {args.days} days")
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


async def similar(args: argparse.Namespace) -> int:
    """类案预警 (readmodel/similar.py): clusters of what people said alike, across communities;
    with --open-cases, each handed to --to UNIT as one 源头治理 task by the supervisor --as names."""
    from models.scope import Seen, seen_by, within
    from readmodel import open_read_model
    from readmodel.similar import similar_alerts
    from sla.policies import SIMILAR_PEOPLE, SIMILAR_WINDOW
    from starter import jurisdictions

    days = args.days or SIMILAR_WINDOW.days
    people = args.min or SIMILAR_PEOPLE
    until = args.until or datetime.now(timezone.utc) + timedelta(seconds=1)
    code = _place(args.within)
    city = jurisdictions.tree()
    seen: Seen | None = within(code, city) if code else None
    hander = _hander(args) if args.open_cases else None
    if hander is not None:  # only what the hander sees: their scope, or --within inside it
        if code is None:
            seen = seen_by(hander, city)
        elif hander.scope is not None and hander.scope not in city.codes_of(code).codes():
            raise InvalidInput(f"--within: {code} lies outside {hander.id}'s scope {hander.scope}")
    found = similar_alerts(
        open_read_model(), since=args.since or until - timedelta(days=days), until=until, seen=seen, people=people
    )
    out = sys.stderr if args.json else sys.stdout
    if args.json:
        print(json.dumps([c.as_json() for c in found], ensure_ascii=False))
    else:
        for c in found:
            places = "; ".join(f"{place} x{n}" for place, n in c.places.items())
            print(f"类案预警: {c.people} people in {c.communities} communities, saying {'、'.join(c.words)}")
            print(f"  {places}")
            print(f"  {', '.join(s.case_id for s in c.cases)}")
        print(f"{plural(len(found), 'cluster')} of at least {people} people across communities within {days} days")
    if hander is not None and found:
        from runtime import settings
        from starter.source_tasks import hand

        client = await connect()
        for c in found:
            handed = await hand(client, c, args.to, hander, task_queue=settings.load().task_queue)
            verb = "handed" if handed.created else "already handed"
            print(
                f"{verb}: 源头治理 task {handed.task_id} to {handed.department}, {len(handed.noted)} cases told",
                file=out,
            )
            for member, why in handed.not_noted.items():
                print(f"  {member} not told: {why}", file=out)
    return 0


def _hander(args: argparse.Namespace) -> Any:
    """The supervisor handing 类案 to a unit (--as), who must name the unit (--to)."""
    from models import Role
    from starter.cli.common import acting_as

    if not args.to or not args.as_identity:
        raise InvalidInput("--open-cases with --similar: name the unit (--to UNIT) and who hands it (--as IDENTITY)")
    identity = acting_as(args.as_identity)
    if identity.role != Role.supervisor:
        raise Rejected(f"--as {identity.id}: a {identity.role.value} may not; a supervisor hands 类案 to a unit")
    return identity.actor


async def simulate(args: argparse.Namespace) -> int:
    from runtime import settings
    from simulation import InputError, load
    from simulation.report import chart, summarise
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
        print(simulation_table(report, departments=not args.no_departments))
        if args.chart:
            print(f"\nchart: {args.chart}")
    return 0


def add(sub: Any) -> None:
    c = sub.add_parser("list", help="live cases through Temporal visibility (open ones unless --status)")
    c.add_argument("--status", choices=[s.value for s in CaseStatus])
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
    c.add_argument(
        "--follow-up-due",
        action="store_true",
        help="the hotline's callback list: resolved cases waiting for a verdict (from the read model)",
    )
    c.add_argument("--limit", type=int, default=200)
    c.add_argument("--json", action="store_true")
    c.set_defaults(run=list_cases)
    c = sub.add_parser("stats", help="rates and counts from the read model")
    c.add_argument("--since", type=moment)
    c.add_argument("--until", type=moment)
    c.add_argument(
        "--by",
        choices=[
            "department",
            "street",
            "category",
            "channel",
            "district",
            "community",
            "grid",
            "unit",
            "level",
            "kind",
            "organisation",
        ],
    )
    c.add_argument("--within", metavar="CODE", help="only the cases placed under this place of the tree")
    c.add_argument(
        "--disputes",
        action="store_true",
        help="disputes taken to mediation: 调解成功率, 履行率, days to agreement, referrals (--by kind or organisation)",
    )
    fmt = c.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--csv", action="store_true")
    c.set_defaults(run=stats)
    c = sub.add_parser("hotspots", help="clusters of similar complaints (类案) from the read model")
    c.add_argument("--since", type=moment)
    c.add_argument("--until", type=moment)
    c.add_argument("--days", type=int, help="the sliding window (default 7; 14 with --similar)")
    c.add_argument(
        "--min", type=int, help="distinct people in a window to count as a cluster (default 3; 5 with --similar)"
    )
    c.add_argument("--by", choices=["community", "grid"], default="community")
    c.add_argument("--open-cases", action="store_true", help="open a grid-patrol case for each cluster")
    c.add_argument(
        "--similar",
        action="store_true",
        help="类案预警 instead: what people said alike across communities, whatever the category",
    )
    c.add_argument("--within", help="only under this place of the tree (a code), with --similar")
    c.add_argument("--to", help="with --similar --open-cases: the unit each 类案 goes to as one 源头治理 task")
    c.add_argument("--as", dest="as_identity", help="with --similar --open-cases: the supervisor handing it")
    c.add_argument("--json", action="store_true")
    c.set_defaults(run=hotspots)
    c = sub.add_parser(
        "simulate", help="what-if: a year of complaints under several policies (SimPy), with 95 %% intervals"
    )
    c.add_argument("file", nargs="?", type=Path, help="the inputs (TOML); default the sample, Luohu 2022")
    c.add_argument("--seed", type=int, default=1, help="fixes every random draw: the same seed, the same report")
    c.add_argument("--replications", type=positive, default=20, help="independent years (default 20)")
    c.add_argument("--jobs", type=positive, default=None, help="processes (default: every core)")
    c.add_argument("--policies", nargs="+", help="compare these (policies or the file's drafts) instead")
    c.add_argument("--fit", action="store_true", help="arrivals, mix and turns from the read model's history")
    c.add_argument("--since", type=moment, help="with --fit: from (default a year before --until)")
    c.add_argument("--until", type=moment, help="with --fit: until (default now)")
    c.add_argument("--unlimited-staff", action="store_true", help="everyone at work around the clock: nothing waits")
    c.add_argument("--json", action="store_true", help="the report as one JSON line")
    c.add_argument("--chart", type=Path, help="write the on-time chart here (SVG)")
    c.add_argument("--no-departments", action="store_true", help="the totals only")
    c.set_defaults(run=simulate)
