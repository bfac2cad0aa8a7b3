"""Operators' commands: identities, the namespace, the read model, the codec server."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from models import Role
from starter import InvalidInput, connect
from starter.cli.columns import table
from starter.cli.common import plural


async def identity(args: argparse.Namespace) -> int:
    from runtime import settings
    from starter.identities import IdentityError, IdentityStore

    config = settings.load()
    store = IdentityStore(config.identities_url)
    try:
        if args.action == "add":
            password = None
            if args.password_stdin:
                password = sys.stdin.readline().rstrip("\r\n")
            key = store.add(
                args.id,
                Role(args.role),
                department=args.department,
                name=args.name,
                password=password,
                scope=args.scope,
                key=True if args.key else None,
            )
            unit = store.identities()[args.id].department  # a unit by its own name (starter.jurisdictions.unit_name)
            print(
                f"identity {args.id}: {args.role}"
                + (f" of {unit}" if unit else "")
                + (f", scope {args.scope}" if args.scope else ", scope: the whole city")
                + f" in {store.where}"
            )
            if password is not None:
                print("console password set (stored as a scrypt hash)")
            if key is not None:
                print("API key (shown this once; only its hash is kept):")
                print(key)
        elif args.action == "revoke":
            count = store.revoke(args.id)
            print(f"revoked {args.id}: {plural(count, 'key')} and any console password end now")
            from starter.cli.webhooks import pause_identity

            try:
                for name in pause_identity(args.id):
                    print(f"paused webhook {name}: it saw with {args.id}'s eyes")
            except Exception as err:  # the keys are revoked already; say what is left to do
                print(
                    f"could not pause {args.id}'s webhooks ({type(err).__name__}: {err}); "
                    "pause them when the read model is back: python -m starter webhook list",
                    file=sys.stderr,
                )
        elif args.action == "import":
            path = args.file or config.identities_file
            if not path.exists():
                raise IdentityError(f"import: no file {path}")
            done = store.import_file(path)
            print(
                f"imported {plural(len(done.added), 'identity', 'identities')} from {path} into {store.where}"
                + (f"; {len(done.unchanged)} already there" if done.unchanged else "")
            )
            if done.conflicts:
                print(
                    f"held already, differently, and left as they are: {', '.join(done.conflicts)} "
                    "(revoke one and import again, or add it by hand)",
                    file=sys.stderr,
                )
                return 1
        else:
            rows = []
            for found in sorted(store.identities().values(), key=lambda i: i.id):
                state = (
                    f"revoked {found.revoked_at}"
                    if found.revoked_at
                    else plural(len(found.keys), "key") + (", console password" if found.password else "")
                )
                rows.append(
                    [
                        found.id,
                        found.role.value,
                        found.department or "-",
                        found.scope or "city",
                        found.name or "-",
                        state,
                    ]
                )
            print("\n".join(table(["identity", "role", "department", "scope", "name", "state"], rows)))
    except IdentityError as err:
        raise InvalidInput(str(err)) from None
    return 0


async def setup_cluster(args: argparse.Namespace) -> int:
    from starter.cluster import setup_namespace

    added = await setup_namespace(await connect())
    print(f"registered search attributes: {', '.join(added)}" if added else "search attributes already registered")
    return 0


async def rebuild(args: argparse.Namespace) -> int:
    from readmodel import open_read_model
    from starter.rebuild import rebuild_read_model

    report = await rebuild_read_model(await connect(), open_read_model())
    print(report)
    return 0 if not report.skipped else 1


async def codec_server(args: argparse.Namespace) -> int:
    from runtime import settings
    from runtime.http import RateLimiter
    from runtime.serve import serve_until_cancelled, server
    from starter.codec import EncryptionCodec, keyring_from_settings
    from starter.codec_server import CodecState, codec_app
    from starter.identities import IdentityStore

    # The gateway's own codec endpoint, served alone at / (the gateway serves it at /codec).
    config = settings.load()
    state = CodecState(
        IdentityStore(config.identities_url),
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


def add(sub: Any) -> None:
    c = sub.add_parser("identity", help="who may call the gateway: API keys and console passwords")
    actions = c.add_subparsers(dest="action", required=True)
    a = actions.add_parser("add", help="create an identity and print its API key (once), or set its password")
    a.add_argument("id")
    a.add_argument("--role", required=True, choices=[r.value for r in Role if r != Role.complainant])
    a.add_argument("--department", help="the department it acts for (a community's name for role community)")
    a.add_argument("--name", help="a person's or system's name, for people to read")
    a.add_argument(
        "--scope",
        help="a place code of the city's tree: the part it sees (python -m starter jurisdictions show); "
        "none: the whole city",
    )
    a.add_argument("--password-stdin", action="store_true", help="set a console password read from stdin instead")
    a.add_argument(
        "--key",
        action="store_true",
        help="with --password-stdin: issue an API key too (the codec endpoint for the Web UI takes keys)",
    )
    a = actions.add_parser("revoke", help="end every key and the password of an identity at once")
    a.add_argument("id")
    actions.add_parser("list", help="the identities (never a key or a password)")
    a = actions.add_parser("import", help="take in an identities TOML file an earlier version wrote")
    a.add_argument("file", nargs="?", type=Path, help="default: COMPLAINTS_IDENTITIES_FILE (data/identities.toml)")
    c.set_defaults(run=identity)
    c = sub.add_parser("setup-cluster", help="register the engine's search attributes on the namespace")
    c.set_defaults(run=setup_cluster)
    c = sub.add_parser("codec-server", help="decrypt payloads for the Temporal Web UI (supervisors and auditors)")
    c.add_argument("--port", type=int, default=8081)
    c.add_argument("--host", default="127.0.0.1")
    c.add_argument("--origin", default="http://localhost:8233", help="the Web UI's origin (CORS)")
    c.set_defaults(run=codec_server)
    c = sub.add_parser("rebuild-read-model", help="rebuild the read model's tables from Temporal (a worker must run)")
    c.set_defaults(run=rebuild)
