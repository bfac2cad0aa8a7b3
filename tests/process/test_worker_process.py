"""`python worker.py` and `python -m starter` as a user runs them: real processes, real signals."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.support.cases import complaint
from tests.support.processes import ROOT, WorkerProcess, cli, free_port, metric, worker_once


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TEMPORAL_ADDRESS"}
    env.update(
        COMPLAINTS_DATA_DIR=str(tmp_path / "data"),
        COMPLAINTS_DEV_PORT=str(free_port()),
        COMPLAINTS_DEV_UI_PORT=str(free_port()),
        COMPLAINTS_METRICS_ADDRESS=f"127.0.0.1:{free_port()}",
        PYTHONUNBUFFERED="1",
    )
    return env


def test_worker_cli_restart_and_clean_shutdown(environ, tmp_path):
    worker = WorkerProcess(environ, tmp_path / "worker1.log")
    try:
        filed = cli(
            environ,
            "file",
            "cli-case-1",
            "-",
            stdin=json.dumps(complaint(complainant={"name": "陈", "phone": "13800138000"})),
        )
        assert filed.returncode == 0 and "filed: case cli-case-1" in filed.stdout, filed.stderr
        again = cli(environ, "file", "cli-case-1", "-", stdin=json.dumps(complaint()))
        assert again.returncode == 0 and "already exists" in again.stdout
        dispatched = cli(
            environ, "act", "cli-case-1", "dispatch", "actor.id=d1", "actor.role=dispatcher", "department=住建局"
        )
        assert dispatched.returncode == 0 and "[dispatched]" in dispatched.stdout, dispatched.stderr
        refused = cli(
            environ,
            "act",
            "cli-case-1",
            "resolve",
            "actor.id=h9",
            "actor.role=handler",
            "actor.department=交通局",
            "resolution=done",
        )
        # The unit is recorded by its own name, whichever alias the dispatcher used (city-contract.md).
        assert refused.returncode == 3 and "only a handler of 光明区住房和建设局" in refused.stderr
        bad = cli(environ, "act", "cli-case-1", "dispatch", "actor.id=d1", "actor.role=mayor", "department=")
        assert bad.returncode == 2 and "actor.role" in bad.stderr and "department" in bad.stderr
        invalid = cli(environ, "file", "cli-case-2", "-", stdin=json.dumps(complaint(category="noise")))
        assert invalid.returncode == 2 and "complaint.category" in invalid.stderr
    finally:
        assert worker.stop(signal.SIGINT) == 0
    text = worker.log.read_text()
    assert "Traceback" not in text and "PyGILState" not in text
    lines = worker.lines()
    notices = [line for line in lines if line.get("event") == "notice"]
    assert any(n["kind"] == "acknowledgement" and n["case_id"] == "cli-case-1" and n["run_id"] for n in notices)
    transitions = [line for line in lines if line.get("case_event") == "dispatched"]
    assert transitions and transitions[0]["case_id"] == "cli-case-1" and transitions[0]["run_id"]
    assert transitions[0]["actor"] == "d1" and transitions[0]["deadline"]  # the next deadline after dispatch
    assert lines[-1]["event"] == "stopped"

    # The dev server's SQLite file keeps the case across a restart of everything.
    worker = WorkerProcess(environ, tmp_path / "worker2.log")
    try:
        shown = cli(environ, "show", "cli-case-1", "--json")
        assert shown.returncode == 0, shown.stderr
        state = json.loads(shown.stdout)
        assert state["status"] == "dispatched" and state["department"] == "光明区住房和建设局"
        contacted = cli(
            environ,
            "act",
            "cli-case-1",
            "record_contact",
            "actor.id=h1",
            "actor.role=handler",
            "actor.department=住建局",  # an alias, read in the case's district
            "note=电话联系",
        )
        assert contacted.returncode == 0 and "[handling]" in contacted.stdout, contacted.stderr
        rebuilt_db = tmp_path / "rebuilt.db"
        rebuilt = cli({**environ, "COMPLAINTS_DB_URL": f"sqlite:///{rebuilt_db}"}, "rebuild-read-model")
        assert rebuilt.returncode == 0 and "restored 1 cases (1 open, 0 ended)" in rebuilt.stdout, rebuilt.stderr
        from readmodel import ReadModel

        key = (Path(environ["COMPLAINTS_DATA_DIR"]) / "phone-hash.key").read_text().encode()
        assert ReadModel(f"sqlite:///{rebuilt_db}", key).case("cli-case-1").status == "handling"
        # the worker's own read model, kept in step as the case moved
        own = ReadModel(f"sqlite:///{Path(environ['COMPLAINTS_DATA_DIR']) / 'complaints.db'}", key)
        assert own.case("cli-case-1").complainant_masked == "138****8000"
    finally:
        assert worker.stop(signal.SIGTERM) == 0
    assert "Traceback" not in worker.log.read_text()
    down = cli(environ, "show", "cli-case-1")
    assert down.returncode == 4 and "Traceback" not in down.stderr


def _stray(folder: Path) -> list[str]:
    found = subprocess.run(["pgrep", "-af", str(folder)], capture_output=True, text=True).stdout.splitlines()
    return [line for line in found if "pgrep" not in line]


def test_demo_runs_to_the_end_cleanly(environ, tmp_path):
    done = subprocess.run(
        [sys.executable, "demo.py"], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    assert "record_follow_up     -> status=closed" in done.stdout and "BREACHED" in done.stdout
    assert "ended merged, carried by demo-factory-3" in done.stdout and "Done:" in done.stdout
    assert "'fulfilment_checked', 'settled', 'closed'" in done.stdout  # the mediation, end to end
    # Over HTTP: filed and acted on with keys, and a self-declared supervisor refused.
    assert '/v1/cases/demo-http-6 -H "Authorization: Bearer $DISPATCHER_KEY"' in done.stdout
    assert "-> 201 status received" in done.stdout and "-> 403 the actor of an update is the caller" in done.stdout
    # The console on the same gateway, logged in as the demo's supervisor: the late case is on the board.
    board = done.stdout.split("the overdue board:")[1].splitlines()
    assert any(line.split()[:2] == ["demo-shop-2", "dispatch"] for line in board[1:6]), done.stdout
    assert "warning: dispatch due" in done.stdout and "suspended: True" in done.stdout
    assert "'report_in:光明区水务局': 'reported'" in done.stdout
    # Issue 40: a red case alerts the duty leader; lift complaints of four or five communities are one
    # 类案预警; a case is filed with its suggested unit (the routing table's: no model yet).
    assert re.search(r"alert to duty:duty-gm-(day|night): 【强信息预警】红色", done.stdout), done.stdout
    assert re.search(r"类案预警: \d+ people in [45] communities, saying 电梯", done.stdout), done.stdout
    assert "demo-lift-01: suggested unit 光明区住房和建设局 (routing table)" in done.stdout
    # Issue 38: the unit's before and after photos, attached, and shown on the console's case page.
    assert "the case's evidence: before, after" in done.stdout and "shows 2 evidence thumbnails" in done.stdout
    # Each line true on its own (issue 37): a minute late is not "0.0 hours late"; a count equals
    # what is listed; demo-water-5's section names its breach.
    assert "0.0 hours" not in done.stdout and "minutes late (not dispatched)" in done.stdout, board
    water = done.stdout.split("demo-water-5: 临期预警")[1].split("\n\n")[0]
    assert "breaches: acknowledge" in water, water
    sent = re.search(r"Notices sent: (\d+), the first (\d+) below[^\n]*\n((?:  .*\n?)*)", done.stdout)
    assert sent and int(sent[1]) >= int(sent[2]) and len(sent[3].splitlines()) == int(sent[2]), done.stdout[-2000:]
    # The auditor's audit of every case the demo filed: all replayed, chains verified, report signed.
    audited = re.search(
        r"code \S+; (\d+) cases, \d+ histories replayed; (\d+) deterministic; (\d+) chain-verified", done.stdout
    )
    audit_part = done.stdout.partition("An auditor's audit")[2][:3000]  # its findings, not the whole demo
    assert audited and int(audited[1]) >= 7 and audited[1] == audited[2] == audited[3], audit_part or done.stdout
    assert "0 with findings" in done.stdout and "signature verifies with the public key alone" in done.stdout
    assert f"Metrics (Prometheus): http://{environ['COMPLAINTS_METRICS_ADDRESS']}/metrics" in done.stdout
    assert "complaints_breaches{" in done.stdout and 'milestone="dispatch"' in done.stdout
    assert "Traceback" not in done.stderr and "PyGILState" not in done.stderr
    assert not _stray(tmp_path)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_demo_interrupted_leaves_nothing_behind(environ, tmp_path, sig):
    demo = subprocess.Popen(
        [sys.executable, "demo.py"], cwd=ROOT, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    for line in demo.stdout:
        if line.startswith("Workers running"):
            break
    demo.send_signal(sig)
    out, err = demo.communicate(timeout=60)
    assert demo.returncode == 130, err
    assert "Traceback" not in err and "PyGILState" not in err
    time.sleep(0.5)
    assert not _stray(tmp_path), "the dev server outlived the demo"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_cli_long_command_stops_cleanly(environ, sig):
    server = subprocess.Popen(
        [sys.executable, "-m", "starter", "codec-server", "--port", str(free_port())],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stdout.readline().startswith("codec server on")
    server.send_signal(sig)
    _, err = server.communicate(timeout=30)
    assert server.returncode == 130 and "Traceback" not in err and "PyGILState" not in err


def test_the_worker_serves_metrics_and_the_engine_counters_move_as_cases_breach(environ, tmp_path):
    import httpx

    url = f"http://{environ['COMPLAINTS_METRICS_ADDRESS']}/metrics"
    worker = WorkerProcess(environ, tmp_path / "worker.log")
    try:
        assert any(line.get("event") == "metrics" and line.get("url") == url for line in worker.lines())
        before = httpx.get(url, timeout=10).text
        assert metric(before, "complaints_breaches", milestone="dispatch") == 0
        two_hours_ago = (datetime.now(timezone.utc) - timedelta(hours=2)).isoformat()
        for n in (1, 2):
            filed = cli(
                environ,
                "file",
                f"metrics-{n}",
                "-",
                stdin=json.dumps(
                    complaint(received_at=two_hours_ago, complainant={"name": "陈", "phone": f"1380013800{n}"})
                ),
            )
            assert filed.returncode == 0, filed.stderr
            deadline = time.monotonic() + 30
            while True:  # its dispatch deadline passed an hour ago: breached in its first task
                text = httpx.get(url, timeout=10).text
                if metric(text, "complaints_breaches", milestone="dispatch", policy="1030") == n:
                    break
                assert time.monotonic() < deadline, [
                    line for line in text.splitlines() if line.startswith("complaints_")
                ]
                time.sleep(0.2)
        assert metric(text, "complaints_cases_accepted", policy="1030") == 2
        assert metric(text, "complaints_read_model_lag_count") >= 2
        assert "temporal_workflow_completed" in text or "temporal_request" in text  # the SDK's own
    finally:
        assert worker.stop(signal.SIGTERM) == 0


def test_a_taken_metrics_port_is_refused_naming_the_setting(environ, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = worker_once({**environ, "COMPLAINTS_METRICS_ADDRESS": f"127.0.0.1:{port}"})
    assert run.returncode == 2 and "COMPLAINTS_METRICS_ADDRESS" in run.stderr and "Traceback" not in run.stderr
