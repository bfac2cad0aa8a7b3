"""`python -m bench --quick`: the benchmark script runs end to end and its numbers add up.
No timing is asserted here: performance numbers live in the README, from `make bench`."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.processes import ROOT


def test_quick_bench_runs_every_measurement(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--seconds",
            "1",
            "--open-cases",
            "60",
            "--out",
            str(tmp_path / "bench"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert any(line.startswith("closed loops") for line in lines), done.stdout
    result = json.loads(lines[-1])
    t = result["throughput"]
    for c in (2, 5):
        assert t[f"engine_c{c}"]["cases"] > 0 and t[f"bare_c{c}"]["cases"] > 0
        assert t[f"ratio_c{c}"] > 0
    g = result["gateway"]
    for c in (2, 5):
        assert g[f"http_c{c}"]["cases"] > 0 and g[f"api_c{c}"]["cases"] > 0
        # Every loop is eight requests (file and seven updates), each timed.
        assert g[f"http_c{c}"]["requests"] >= 8 * g[f"http_c{c}"]["cases"]
        assert g[f"ratio_c{c}"] > 0 and f"added_p99_ms_c{c}" in g
    a = result["acknowledgement"]
    assert a["acknowledged"] == a["cases"] > 0
    w = result["webhooks"]
    assert w["events_owed"] > 0 and w["events_delivered"] == w["events_owed"] and w["ratio"] > 0
    o = result["open_cases"]
    assert o["cases"] == 60 and o["overdue_listed"] == o["overdue_expected"] == 6
    assert result["replay"]["histories"] > 0
    c = result["console"]
    assert c["cases"] == 500 and len(c["pages"]) == 9  # eight read-model pages and a real case's
    assert all(p["bytes"] > 0 and p["max_ms"] > 0 for p in c["pages"].values())
    audit = result[
        "audit"
    ]  # every case closed in its period (its own 20, and any other part's), on one worker and on two
    for workers in (1, 2):
        run = audit[f"audit_{workers}_workers"]
        assert run["cases"] == run["chain_verified"] >= audit["cases"] == 20 and run["findings"] == 0
    assert audit["offline_replay_per_second"] > 0 and audit["bare_replayer_per_second"] > 0
