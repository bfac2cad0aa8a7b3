"""The gateway in the test's own process: an app on a real Temporal, and identities with keys."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from temporalio.client import Client

from gateway import create_app
from models import Role
from readmodel import ReadModel
from runtime import settings
from starter.identities import IdentityStore
from workflows.search_attributes import KEYS

# id -> (role, department): one identity of each kind the tests act as.
PEOPLE: dict[str, tuple[Role, str | None]] = {
    "hotline-07": (Role.dispatcher, "区群众诉求服务中心"),
    "edu-li": (Role.handler, "光明区教育局"),  # a unit by its own name, as the edge records one
    "traffic-wu": (Role.handler, "光明区交通运输局"),
    "sup-wang": (Role.supervisor, "区信访局"),
    "audit-zhao": (Role.auditor, "区审计局"),
    "leader-zhang": (Role.leader, None),
    "secretary-xq": (Role.community, "新羌社区"),
}


@dataclass
class Keys:
    by_id: dict[str, str]

    def __getitem__(self, identity: str) -> dict[str, str]:
        """The Authorization header of an identity."""
        return {"Authorization": f"Bearer {self.by_id[identity]}"}


def identities_url(folder: Path) -> str:
    """The identities' database of a test's gateway (a SQLite file of its own)."""
    return f"sqlite:///{folder / 'identities.db'}"


def make_identities(folder: Path) -> Keys:
    store = IdentityStore(identities_url(folder))
    keys = {}
    for identity, (role, department) in PEOPLE.items():
        key = store.add(identity, role, department=department)
        assert key is not None
        keys[identity] = key
    return Keys(keys)


def gateway_settings(tmp: Path, *, task_queue: str = "complaints", **changes: Any) -> settings.Settings:
    return dataclasses.replace(
        settings.load(), identities_url=identities_url(tmp), task_queue=task_queue, rate_limit=0.0, **changes
    )


@asynccontextmanager
async def dev_engine(folder: Path, sender: Any = None) -> AsyncIterator[tuple[Client, ReadModel, str]]:
    """A real dev server (with visibility, which the time-skipping server lacks) and a worker on it."""
    import uuid

    from runtime import devserver
    from sla import WorkingCalendar
    from starter import data_converter
    from tests.support.cases import TEST_PHONE_KEY, RecordingSender
    from worker import create_worker

    env = await devserver.start_dev_server(data_converter(), search_attributes=KEYS, db_file=folder / "temporal.db")
    queue = f"complaints-{uuid.uuid4().hex[:8]}"
    read_model = ReadModel(f"sqlite:///{folder / 'complaints.db'}", TEST_PHONE_KEY)
    try:
        async with create_worker(
            env.client,
            task_queue=queue,
            sender=sender or RecordingSender(),
            calendar=WorkingCalendar(),
            read_model=read_model,
        ):
            yield env.client, read_model, queue
    finally:
        await env.shutdown()


@asynccontextmanager
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the app, in this process, with the app's lifespan run around it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test", timeout=60) as client:
            yield client


def app_on(client: Client, read_model: ReadModel, config: settings.Settings) -> FastAPI:
    return create_app(client=client, read_model=read_model, config=config)


def filing(complaint: dict[str, Any], policy: str = "1030") -> dict[str, Any]:
    return {"complaint": complaint, "policy": policy}
