"""Fixtures of the process tests: a real dev server per module, its worker processes the test's own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client

from runtime import devserver
from starter import data_converter
from workflows.search_attributes import KEYS


@pytest.fixture(scope="module")
async def server(tmp_path_factory) -> AsyncIterator[Client]:
    env = await devserver.start_dev_server(
        data_converter(), search_attributes=KEYS, db_file=tmp_path_factory.mktemp("server") / "t.db"
    )
    yield env.client
    await env.shutdown()
