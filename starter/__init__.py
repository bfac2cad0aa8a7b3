"""For integrators: the data converter, a connection, and the case API (also as a CLI)."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.runtime import Runtime

from runtime import settings
from starter.cases import (
    UPDATES,
    Filed,
    Forbidden,
    InvalidInput,
    Rejected,
    Stale,
    UnknownCase,
    accepted,
    act,
    complaint_of,
    file_and_act,
    file_complaint,
    state,
    validate_case_input,
    validate_command,
)
from starter.converter import data_converter


async def connect(address: str | None = None, namespace: str | None = None, runtime: Runtime | None = None) -> Client:
    """A client on TEMPORAL_ADDRESS (default: the embedded dev server's localhost:7233)."""
    config = settings.load()
    return await Client.connect(
        address or config.temporal_address or f"localhost:{config.dev_server_port}",
        namespace=namespace or config.namespace,
        data_converter=data_converter(),
        runtime=runtime,
    )


__all__ = [
    "UPDATES",
    "Filed",
    "Forbidden",
    "InvalidInput",
    "Rejected",
    "Stale",
    "accepted",
    "act",
    "complaint_of",
    "connect",
    "data_converter",
    "file_and_act",
    "file_complaint",
    "state",
    "UnknownCase",
    "validate_case_input",
    "validate_command",
]
