"""The complainant's link for those entitled to it: the hotline re-sends it to a caller who lost the
SMS, an operator opens what the complainant sees. Shown to a supervisor or dispatcher identity
only, for a case it sees; each showing is logged with the identity and the case, never the link."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from models import Role
from models.scope import sees
from runtime import logs
from starter import Rejected, UnknownCase, complaint_of, connect, state

log = logs.get("links")
# The command line logs warnings only; a showing is a record of who saw a link, so it is kept.
logging.getLogger("links").setLevel(logging.INFO)
MAY_SHOW = (Role.supervisor, Role.dispatcher)


async def show_link(args: argparse.Namespace) -> int:
    from readmodel import links_of, open_read_model
    from runtime import settings
    from starter.cli.common import acting_as

    config = settings.load()
    identity = acting_as(args.as_identity)
    if identity.role not in MAY_SHOW:
        raise Rejected(
            f"--as {identity.id}: a {identity.role.value} may not; only a supervisor or dispatcher is shown a "
            "complainant's link"
        )
    client = await connect()
    case = await state(client, args.case_id)
    if not sees(identity.actor, case.where()):
        raise UnknownCase(f"no case {args.case_id}")  # outside its scope: as unknown as a wrong id
    if (await complaint_of(client, case.case_id)).complainant is None:
        raise Rejected(f"case {args.case_id} has no complainant (a grid patrol's find): there is no link")
    links = links_of(config)
    link = links.make(case.case_id)
    open_read_model().register_link(link)
    log.info("complainant link shown", identity=identity.id, role=identity.role.value, case_id=case.case_id)
    print(links.url(link))
    return 0


def add(sub: Any) -> None:
    c = sub.add_parser(
        "link", help="print a case's complainant link (for a supervisor or dispatcher; each showing is logged)"
    )
    c.add_argument("case_id")
    c.add_argument("--as", dest="as_identity", required=True, help="the identity asking: a supervisor or dispatcher")
    c.set_defaults(run=show_link)
