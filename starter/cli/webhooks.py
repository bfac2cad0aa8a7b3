"""Operators' webhook commands: subscribe a department's system, see and repair its deliveries.

python -m starter webhook add NAME --identity ID --url URL --events dispatched,resolved [--department D]
python -m starter webhook list | remove NAME | rotate-secret NAME | resume NAME
python -m starter webhook deliveries NAME [--limit 50]
python -m starter webhook redeliver NAME --since 2026-12-01T08:00
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from typing import Any

from models.webhooks import check_name, check_url, parse_events
from starter.cases import InvalidInput
from starter.cli.columns import table
from starter.cli.common import moment, plural, positive


def _store() -> Any:
    from readmodel import open_read_model
    from readmodel.webhooks import Webhooks
    from starter.codec import keyring_from_settings

    return Webhooks(open_read_model().engine, keyring_from_settings())


def pause_identity(identity: str) -> list[str]:
    """A revoked identity's subscriptions pause with it (resume one once it sees with another's)."""
    return list(_store().pause_identity(identity, f"identity {identity} was revoked"))


async def _wake(name: str, cases: list[str]) -> None:
    if not cases:
        return  # nothing owed: no server to reach
    from activities.webhooks import Timing, wake
    from runtime import settings
    from starter import connect

    config = settings.load()
    timing = Timing.from_settings(config)
    client = await connect()
    for case_id in cases:  # oldest owed first: each case's own order is the workflow's
        await wake(client, config.task_queue, timing, [name], case_id)


def _when(moment_: datetime | None) -> str:
    return moment_.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S") + "Z" if moment_ else "-"


async def webhook(args: argparse.Namespace) -> int:
    from models.tree import UnitProblem
    from readmodel.webhooks import WebhookError
    from runtime import settings
    from starter.identities import IdentityStore
    from starter.jurisdictions import unit_name

    config = settings.load()
    store = _store()
    try:
        if args.action == "add":
            try:
                name = check_name(args.name)
                url = check_url(args.url, config.webhook_allow_http_hosts)
                events = parse_events(args.events)
            except ValueError as err:
                raise InvalidInput(str(err)) from None
            found = IdentityStore(config.identities_url).identities().get(args.identity)
            if found is None or not found.active:
                raise InvalidInput(
                    f"identity: {args.identity} is not an active identity (python -m starter identity list); "
                    "a subscription sees what that identity may see"
                )
            department = None
            if args.department:
                try:
                    department = unit_name(args.department, found.scope)
                except UnitProblem as err:
                    raise InvalidInput(f"department: {err}; name it by its code") from None
            secret = store.add(name, found.actor, url, events, department=department)
            print(
                f"webhook {name}: {', '.join(events)} to {url} as {found.id} ({found.role.value})"
                + (f", cases of {department}" if department else "")
            )
            print("signing secret (shown this once; verify with any Standard Webhooks library):")
            print(secret)
        elif args.action == "list":
            rows = []
            for sub in store.all():
                owed, oldest = store.owed_count(sub.name)
                state = f"paused {_when(sub.paused_at)}: {sub.paused_reason}" if sub.paused_at else "active"
                rows.append(
                    [
                        sub.name,
                        sub.identity.id,
                        sub.department or "-",
                        ",".join(sub.events),
                        sub.url,
                        str(owed),
                        _when(oldest),
                        state,
                    ]
                )
            print(
                "\n".join(
                    table(["webhook", "identity", "department", "events", "url", "owed", "oldest", "state"], rows)
                )
            )
        elif args.action == "remove":
            store.remove(args.name)
            print(f"removed webhook {args.name} and what it was owed")
        elif args.action == "rotate-secret":
            secret = store.rotate(args.name)
            print(f"webhook {args.name}: new signing secret (the old one signs nothing from now on):")
            print(secret)
        elif args.action == "resume":
            cases = store.resume(args.name)
            await _wake(args.name, cases)
            print(f"resumed webhook {args.name}: delivering what it missed, in order ({plural(len(cases), 'case')})")
        elif args.action == "redeliver":
            cases = store.redeliver(args.name, args.since)
            if store.get(args.name).paused_at is None:
                await _wake(args.name, cases)
            print(
                f"webhook {args.name}: owed again every event since {_when(args.since)} ({plural(len(cases), 'case')})"
            )
        else:  # deliveries
            rows = [
                [
                    _when(a.at),
                    a.case_id,
                    str(a.seq),
                    a.kind,
                    str(a.attempt),
                    "delivered" if a.delivered else "failed",
                    str(a.status_code or "-"),
                    _when(a.next_try_at) if not a.delivered else "-",
                    (a.error or (a.answer or "")).replace("\n", " ")[:60],
                ]
                for a in store.attempts(args.name, args.limit)
            ]
            store.get(args.name)  # an unknown name says so
            print(
                "\n".join(
                    table(
                        ["at", "case", "seq", "event", "try", "status", "answer", "next try", "detail"],
                        rows,
                        right=(2, 4),
                    )
                )
            )
    except WebhookError as err:
        raise InvalidInput(str(err)) from None
    return 0


def add(sub: Any) -> None:
    c = sub.add_parser("webhook", help="tell a department's own system of its cases' events (signed, durable)")
    actions = c.add_subparsers(dest="action", required=True)
    a = actions.add_parser("add", help="subscribe a URL; prints its signing secret once (last line)")
    a.add_argument("name")
    a.add_argument("--identity", required=True, help="the gateway identity whose eyes it sees with")
    a.add_argument("--url", required=True, help="https://... (http only to COMPLAINTS_WEBHOOK_ALLOW_HTTP_HOSTS)")
    a.add_argument("--events", required=True, help="event kinds, comma-separated (dispatched,resolved,...), or *")
    a.add_argument("--department", help="only cases this department has or had")
    actions.add_parser("list", help="subscriptions, what each is owed and whether it is paused")
    for action, text in (
        ("remove", "end a subscription and drop what it was owed"),
        ("rotate-secret", "a new signing secret (printed once)"),
        ("resume", "unpause, and deliver what it missed, in order"),
    ):
        a = actions.add_parser(action, help=text)
        a.add_argument("name")
    a = actions.add_parser("deliveries", help="recent tries: status, answer code, next try")
    a.add_argument("name")
    a.add_argument("--limit", type=positive, default=50)
    a = actions.add_parser("redeliver", help="deliver again every event since a moment (same webhook-id)")
    a.add_argument("name")
    a.add_argument("--since", type=moment, required=True, help="an ISO date or time (a date: midnight, Beijing)")
    c.set_defaults(run=webhook)


__all__ = ["add", "webhook"]
