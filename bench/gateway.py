"""The gateway's part of `make bench`: the same closed loops through HTTP (`python -m gateway`, a
dispatcher's and a handler's API key) and through the Python API, in turn, on one dev server and
one engine worker. Every request is timed on its own, so the cost HTTP adds to one request shows
as the difference of the two latency distributions."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from bench.processes import Process
from models import Actor, Role
from starter.identities import IdentityStore


class GatewayProcess(Process):
    def __init__(self, environ: dict[str, str], port: int, log: Path) -> None:
        self.base = f"http://127.0.0.1:{port}"
        super().__init__(["-m", "gateway", "--port", str(port)], environ, log)

    def ready(self) -> bool:
        """The gateway once its health check answers 200 (Temporal and the read model reached)."""
        try:
            return httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False


def make_keys(identities_url: str, dispatcher: Actor, handler: Actor) -> dict[str, str]:
    """API keys for the bench's two actors, so HTTP acts as exactly the same people."""
    store = IdentityStore(identities_url)
    keys = {}
    for actor, role in ((dispatcher, Role.dispatcher), (handler, Role.handler)):
        key = store.add(actor.id, role, department=actor.department)
        assert key is not None
        keys[role.value] = key
    return keys


Timed = Callable[[str, Awaitable[Any]], Awaitable[Any]]


def timer(latencies: list[float]) -> Timed:
    async def timed(_: str, call: Awaitable[Any]) -> Any:
        began = time.perf_counter()
        try:
            return await call
        finally:
            latencies.append(time.perf_counter() - began)

    return timed


def http_case(
    h: httpx.AsyncClient, keys: dict[str, str], steps: list[tuple[str, Any]], complaint: Any, latencies: list[float]
) -> Callable[[Client, str, int], Awaitable[None]]:
    """One closed loop over HTTP, each request timed."""
    timed = timer(latencies)
    dispatcher = {"Authorization": f"Bearer {keys['dispatcher']}"}
    handler = {"Authorization": f"Bearer {keys['handler']}"}

    async def run(client: Client, case_id: str, n: int) -> None:
        filing = complaint(n).model_dump(mode="json", include={"complaint", "policy"}, exclude_none=True)
        answer = await timed("file", h.put(f"/v1/cases/{case_id}", json=filing, headers=dispatcher))
        answer.raise_for_status()
        for update, payload in steps:
            body = payload.model_dump(mode="json", exclude={"actor", "expected_version"}, exclude_none=True)
            answer = await timed(
                update,
                h.post(
                    f"/v1/cases/{case_id}/{update}",
                    json=body,
                    headers=dispatcher if update in ("dispatch", "record_follow_up") else handler,
                ),
            )
            answer.raise_for_status()
        await client.get_workflow_handle(case_id).result()

    return run


def api_case(
    steps: list[tuple[str, Any]], complaint: Any, queue: str, latencies: list[float]
) -> Callable[[Client, str, int], Awaitable[None]]:
    """The same closed loop through the Python API, each call timed."""
    from starter import act, file_complaint

    timed = timer(latencies)

    async def run(client: Client, case_id: str, n: int) -> None:
        await timed("file", file_complaint(client, case_id, complaint(n), task_queue=queue))
        for update, payload in steps:
            await timed(update, act(client, case_id, update, payload))
        await client.get_workflow_handle(case_id).result()

    return run
