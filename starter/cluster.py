"""Set up a Temporal namespace for the engine: its search attributes, and the check a worker
makes before it serves one."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from runtime import namespace
from workflows.search_attributes import KEYS


class NamespaceNotReady(RuntimeError):
    """The namespace cannot hold the engine's cases: serving it would fail every case's task."""


async def check_namespace(client: Client) -> None:
    """Refuse a namespace the engine cannot serve, naming the fix. The time-skipping test
    server cannot list search attributes but accepts them: there they are registered."""
    try:
        missing = await namespace.missing_search_attributes(client, KEYS)
    except RPCError as err:
        if err.status == RPCStatusCode.UNIMPLEMENTED:
            await setup_namespace(client)
            return
        if err.status == RPCStatusCode.NOT_FOUND:
            raise NamespaceNotReady(
                f"namespace {client.namespace!r} does not exist: create it "
                f"(`temporal operator namespace create {client.namespace}`), then run "
                "`python -m starter setup-cluster`"
            ) from err
        raise NamespaceNotReady(
            f"cannot read the search attributes of namespace {client.namespace!r} ({err.status.name}: "
            f"{err.message}); an operator runs `python -m starter setup-cluster` once"
        ) from err
    if missing:
        raise NamespaceNotReady(
            f"namespace {client.namespace!r} lacks the engine's search attributes {', '.join(missing)}: "
            "run `python -m starter setup-cluster` once (with TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE "
            "set), then start the worker again"
        )


async def setup_namespace(client: Client) -> list[str]:
    """Register the engine's search attributes that the namespace lacks; the names added."""
    return await namespace.ensure_search_attributes(client, KEYS)
