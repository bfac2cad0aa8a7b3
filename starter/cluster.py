"""Set up a Temporal namespace for the engine: its search attributes."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from workflows.search_attributes import KEYS


def _wanted() -> dict[str, IndexedValueType.ValueType]:
    # The SDK's enum mirrors the API's IndexedValueType number for number.
    return {key.name: IndexedValueType.ValueType(int(key.indexed_value_type)) for key in KEYS}


async def missing_search_attributes(client: Client) -> list[str]:
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    have = set(listed.custom_attributes)
    return [name for name in _wanted() if name not in have]


class NamespaceNotReady(RuntimeError):
    """The namespace cannot hold the engine's cases: serving it would fail every case's task."""


async def check_namespace(client: Client) -> None:
    """Refuse a namespace the engine cannot serve, naming the fix. The time-skipping test
    server cannot list search attributes but accepts them: there they are registered."""
    try:
        missing = await missing_search_attributes(client)
    except RPCError as err:
        if err.status == RPCStatusCode.UNIMPLEMENTED:
            await ensure_search_attributes(client)
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


async def ensure_search_attributes(client: Client) -> list[str]:
    """Register the engine's search attributes that the namespace lacks; the names added."""
    wanted = _wanted()
    try:
        missing = await missing_search_attributes(client)
    except RPCError as err:
        if err.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        # The time-skipping test server registers but cannot list: one at a time, and one it
        # already has is no error.
        added = []
        for name, kind in wanted.items():
            try:
                await client.operator_service.add_search_attributes(
                    AddSearchAttributesRequest(namespace=client.namespace, search_attributes={name: kind})
                )
            except RPCError as add_err:
                if "already exists" not in add_err.message:
                    raise
            else:
                added.append(name)
        return added

    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=client.namespace, search_attributes={name: wanted[name] for name in missing}
            )
        )
    return missing
