"""`python -m starter simulate` as a user runs it: one JSON line, and bad input refused."""

from __future__ import annotations

import json
import subprocess
import sys

from simulation.inputs import SAMPLE
from tests.support.processes import ROOT


def test_simulate_prints_one_json_line_and_refuses_bad_input(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(SAMPLE.read_text(encoding="utf-8").replace("per_year = 37144", "per_year = -1"), encoding="utf-8")
    refused = subprocess.run(
        [sys.executable, "-m", "starter", "simulate", str(bad)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2 and "arrivals.per_year" in refused.stderr
    short = tmp_path / "short.toml"
    short.write_text(
        SAMPLE.read_text(encoding="utf-8").replace("days = 365", "days = 30").replace("37144", "4000"),
        encoding="utf-8",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "starter",
            "simulate",
            str(short),
            "--seed",
            "3",
            "--replications",
            "2",
            "--json",
            "--chart",
            str(tmp_path / "c.svg"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    report = json.loads(line)
    assert report["seed"] == 3 and report["replications"] == 2 and set(report["policies"]) == {"1030", "13710"}
    assert (tmp_path / "c.svg").read_text().startswith("<svg")
