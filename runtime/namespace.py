"""Search attributes on a Temporal namespace: which are missing, and registering them. Generic:
the engine's own list lives with its workflows (workflows/search_attributes.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode

Keys = Sequence[SearchAttributeKey[Any]]


def _wanted(keys: Keys) -> dict[str, IndexedValueType.ValueType]:
    # The SDK's enum mirrors the API's IndexedValueType number for number.
    return {key.name: IndexedValueType.ValueType(int(key.indexed_value_type)) for key in keys}


async def missing_search_attributes(client: Client, keys: Keys) -> list[str]:
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    have = set(listed.custom_attributes)
    return [name for name in _wanted(keys) if name not in have]


async def ensure_search_attributes(client: Client, keys: Keys) -> list[str]:
    """Register the search attributes that the namespace lacks; the names added."""
    wanted = _wanted(keys)
    try:
        missing = await missing_search_attributes(client, keys)
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
