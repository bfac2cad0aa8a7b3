"""The console's server time: each page, rendered in this process (the ASGI app, no network), on a
read model of synthetic cases (20,000 by default), logged in as a supervisor; and the case page of
a real case on the bench's dev server."""

from __future__ import annotations

import dataclasses
import statistics
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from bench import synthetic
from gateway import create_app
from models import Role
from readmodel import ReadModel
from runtime import settings
from starter.identities import IdentityStore

PAGES = [
    "/console/",
    "/console/overdue",
    "/console/overdue?page=5&department=区住房和建设局",
    "/console/departments",
    "/console/departments?since={year_ago}",
    "/console/trends",
    "/console/hotspots",
    "/console/overdue?format=csv",
]
PASSWORD = "bench console password"


async def measure(folder: Path, cases: int, client: Client, case_id: str | None, rounds: int = 15) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    read_model = ReadModel(f"sqlite:///{folder / 'console-read-model.db'}", b"bench" * 8)
    started = time.perf_counter()
    synthetic.fill(read_model, cases, days=200)
    filled = time.perf_counter() - started
    store = IdentityStore(read_model.url)
    store.add("sup-bench", Role.supervisor, password=PASSWORD)
    config = dataclasses.replace(settings.load(), identities_url=read_model.url, data_dir=folder, rate_limit=0.0)
    app = create_app(client=client, read_model=read_model, config=config)
    year_ago = date.today() - timedelta(days=365)
    pages = [p.format(year_ago=year_ago.isoformat()) for p in PAGES] + (
        [f"/console/cases/{case_id}"] if case_id else []
    )
    result: dict[str, Any] = {"cases": cases, "fill_seconds": round(filled, 1), "pages": {}}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://console.bench", timeout=60) as h:
            form = await h.get("/console/login")
            csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
            logged = await h.post("/console/login", data={"identity": "sup-bench", "password": PASSWORD, "csrf": csrf})
            assert logged.status_code == 303, logged.text
            for path in pages:
                times = []
                for _ in range(rounds):
                    t = time.perf_counter()
                    answer = await h.get(path)
                    times.append((time.perf_counter() - t) * 1000)
                    assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
                times.sort()
                result["pages"][path] = {
                    "p50_ms": round(statistics.median(times), 1),
                    "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
                    "max_ms": round(times[-1], 1),
                    "bytes": len(answer.content),
                }
    read_model.engine.dispose()
    return result
