"""A webhook receiver in a thread, for the tests that look inside deliveries: it keeps every
request (headers and body) and answers 500 to the first `fail_first` tries of each event, or to
every try while `down` is set (or what `failing_status` says, a redirect with `location`)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: str
    status: int
    at: float = field(default_factory=time.monotonic)

    @property
    def message(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


@dataclass
class Receiver:
    fail_first: int = 0
    down: bool = False
    failing_status: int = 500  # what a failing try is answered: 302 with `location` for a redirect
    location: str | None = None
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                tries = sum(1 for r in receiver.received if r.headers["webhook-id"] == headers["webhook-id"])
                status = receiver.failing_status if receiver.down or tries < receiver.fail_first else 204
                receiver.received.append(Received(headers, body, status))
                self.send_response(status)
                if receiver.location and status != 204:
                    self.send_header("location", receiver.location)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def delivered(self, case_id: str | None = None) -> list[Received]:
        return [
            r for r in self.received if r.status < 300 and (case_id is None or r.message["data"]["case_id"] == case_id)
        ]

    async def wait(self, done: Any, timeout: float = 30.0) -> None:
        """Wait without blocking the loop (the tests' worker may run in it)."""
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, f"not delivered in {timeout}s: {[r.status for r in self.received]}"
            await asyncio.sleep(0.05)


NODE_RECEIVER = Path(__file__).resolve().parent.parent.parent / "examples" / "webhook-receiver-node"


def node_receiver_installed() -> Path:
    """The example's npm packages (its lock file pins them), installed once per checkout."""
    if not (NODE_RECEIVER / "node_modules" / "standardwebhooks").exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_RECEIVER, check=True, capture_output=True, timeout=300
        )
    return NODE_RECEIVER


class NodeReceiver:
    """examples/webhook-receiver-node as a real process: every line it prints, parsed."""

    def __init__(self, secret: str, port: int, fail_first: int = 0) -> None:
        self.secret, self.port, self.fail_first = secret, port, fail_first
        self.lines: list[dict[str, Any]] = []
        self.start()

    def start(self) -> None:
        folder = node_receiver_installed()
        env = dict(os.environ, WEBHOOK_SECRET=self.secret, PORT=str(self.port), FAIL_FIRST=str(self.fail_first))
        self.proc = subprocess.Popen(
            ["node", "receiver.mjs"], cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert self.proc.stdout is not None
        first = json.loads(self.proc.stdout.readline())
        assert first == {"listening": self.port}, first
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(json.loads(line))

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)

    def acknowledged(self) -> list[dict[str, Any]]:
        return [line for line in self.lines if line.get("status") == 204]
