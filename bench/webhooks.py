"""The webhooks' part of `make bench`: closed loops started at a steady rate (10 cases a second),
first with no subscription, then with one subscription to every event (`*`) whose receiver, in
this process, verifies each signature and answers 204. Measured: closed loops per second in
both runs (their ratio), and each event's lag from the change (the event's time in the case) to
the receiver's 2xx, p50 / p99 / max."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from standardwebhooks.webhooks import Webhook
from temporalio.client import Client

from models import Actor, Role


class BenchReceiver:
    """Verifies every delivery and keeps, per event, the lag from its change to now."""

    def __init__(self) -> None:
        self.webhook: Webhook | None = None  # set once the subscription (and its secret) exists
        self.lags: dict[tuple[str, int], float] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                assert receiver.webhook is not None
                message = receiver.webhook.verify(body, dict(self.headers))
                event = message["data"]["event"]
                lag = time.time() - datetime.fromisoformat(event["at"]).timestamp()
                receiver.lags.setdefault((message["data"]["case_id"], event["seq"]), lag)
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


async def paced_loops(client: Client, run_case: Any, prefix: str, rate: float, seconds: float, numbers: Any) -> dict:
    """A new closed loop every 1/rate seconds, each walked to its close; loops per second over
    the time from the first start to the last close."""
    begin = time.perf_counter()
    durations: list[float] = []
    ids: list[str] = []

    async def one(n: int, at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        case_id = f"{prefix}-{n}"
        ids.append(case_id)
        t = time.perf_counter()
        await run_case(client, case_id, n)
        durations.append(time.perf_counter() - t)

    count = int(rate * seconds)
    await asyncio.gather(*(one(numbers.take(), begin + i / rate) for i in range(count)))
    elapsed = time.perf_counter() - begin
    return {
        "cases": count,
        "per_second": round(count / elapsed, 2),
        "case_p50_ms": round(statistics.median(durations) * 1000),
        "ids": ids,
    }


async def measure(
    client: Client, read_model: Engine, run_case: Any, rate: float, seconds: float, numbers: Any, say: Any
) -> dict[str, Any]:
    from readmodel.webhooks import DELIVERIES, Webhooks
    from starter.codec import keyring_from_settings

    say(f"Webhooks: closed loops at {rate:.0f}/s for {seconds:.0f} s, without a subscription ...")
    without = await paced_loops(client, run_case, "hook-none", rate, seconds, numbers)
    hooks = Webhooks(read_model, keyring_from_settings())
    receiver = BenchReceiver()
    receiver.webhook = Webhook(hooks.add("bench", Actor(id="bench", role=Role.supervisor), receiver.url, ["*"]))
    try:
        say("Webhooks: the same with one subscription to every event (`*`) ...")
        with_one = await paced_loops(client, run_case, "hook-all", rate, seconds, numbers)
        with read_model.connect() as conn:
            owed = conn.execute(
                select(func.count()).select_from(DELIVERIES).where(DELIVERIES.c.webhook == "bench")
            ).scalar_one()
        deadline = time.monotonic() + 120
        while len(receiver.lags) < owed and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        lags = sorted(receiver.lags.values())
    finally:
        receiver.close()
        hooks.remove("bench")
    return {
        "rate": rate,
        "without": {k: v for k, v in without.items() if k != "ids"},
        "with_subscription": {k: v for k, v in with_one.items() if k != "ids"},
        "ratio": round(with_one["per_second"] / without["per_second"], 2),
        "events_owed": owed,
        "events_delivered": len(lags),
        "lag_p50_ms": round(lags[len(lags) // 2] * 1000) if lags else None,
        "lag_p99_ms": round(lags[min(len(lags) - 1, int(0.99 * len(lags)))] * 1000) if lags else None,
        "lag_max_ms": round(lags[-1] * 1000) if lags else None,
    }
