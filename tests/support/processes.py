"""The engine's programs as an operator runs them: `python worker.py`, `python -m gateway`,
`python -m starter`, each a real process on free ports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from temporalio.client import Client

from bench.processes import free_port  # one definition: the bench never imports the tests
from readmodel import ReadModel
from tests.support.cases import TEST_PHONE_KEY, actor

ROOT = Path(__file__).resolve().parent.parent.parent


class WorkerProcess:
    def __init__(self, environ: dict[str, str], log: Path, *args: str) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "worker.py", *args], cwd=ROOT, env=environ, stdout=subprocess.DEVNULL, stderr=log.open("w")
        )
        deadline = time.monotonic() + 60
        while "worker serving" not in log.read_text():
            assert self.proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "worker did not start"
            time.sleep(0.1)

    def stop(self, sig: int) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=30)

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]


def cli(environ: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "starter", *args],
        cwd=ROOT,
        env=environ,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def bench(module: str, *args: str) -> dict:
    """`python -m <module> <args>` (a part of `make bench`, small), run to the end: its result, the
    JSON of its last line."""
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def worker_once(environ: dict[str, str]) -> subprocess.CompletedProcess:
    """`python worker.py` expected to stop by itself (refusing to start): its exit and output."""
    return subprocess.run(
        [sys.executable, "worker.py"], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60
    )


class Gateway:
    def __init__(self, environ: dict[str, str], log: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "--port", str(self.port)],
            cwd=ROOT,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=log.open("w"),
            text=True,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().startswith(f"gateway on http://127.0.0.1:{self.port}")
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert self.proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the gateway never became healthy"
            time.sleep(0.1)

    def stop(self, sig: int) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=30)


def add_identity(environ: dict[str, str], identity: str, role: str, department: str | None = None) -> str:
    args = ["identity", "add", identity, "--role", role] + (["--department", department] if department else [])
    added = cli(environ, *args)
    assert added.returncode == 0, added.stderr
    return added.stdout.strip().splitlines()[-1]  # the key is the last line


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# A closed loop's updates, and the environment of a worker process on a server the test started.
D, H, S = actor("dispatcher"), actor("handler", "住建局"), actor("supervisor")
CLOSE = [
    ("dispatch", {"actor": D, "department": "住建局"}),
    ("record_contact", {"actor": H, "note": "n"}),
    ("resolve", {"actor": H, "resolution": "r"}),
    ("record_follow_up", {"actor": S, "satisfaction": "satisfied"}),
]


def worker_env(client: Client, tmp_path: Path, db_url: str | None = None) -> dict[str, str]:
    variables = dict(os.environ)
    variables.update(
        TEMPORAL_ADDRESS=client.service_client.config.target_host,
        PYTHONUNBUFFERED="1",
        COMPLAINTS_TASK_QUEUE=f"faults-{uuid.uuid4().hex[:6]}",
        COMPLAINTS_DATA_DIR=str(tmp_path),
        COMPLAINTS_DB_URL=db_url or f"sqlite:///{tmp_path / 'complaints.db'}",
        COMPLAINTS_PHONE_KEY=TEST_PHONE_KEY.decode(),
    )
    return variables


def read_model(variables: dict[str, str]) -> ReadModel:
    return ReadModel(variables["COMPLAINTS_DB_URL"], TEST_PHONE_KEY)


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include these."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total
