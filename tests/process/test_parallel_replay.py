"""`python -m starter replay DIR --jobs N`: every history on N processes, exit 6 at the first
non-determinism, naming the case."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.histories import tamper
from tests.support.processes import ROOT

STORED = sorted((ROOT / "tests" / "histories").glob("*.json"))


def _replay(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "starter", "replay", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def _folder(tmp_path: Path, copies: int) -> Path:
    """Copies of the stored histories, each keeping its case id (the name before "__"): a rule that
    names the case, like the complainant's own verdict, needs the same id in replay."""
    for n in range(copies):
        for f in STORED:
            shutil.copy(f, tmp_path / f"{f.stem}__copy{n}.json")
    return tmp_path


def test_a_folder_replays_on_several_processes(tmp_path):
    folder = _folder(tmp_path, 3)
    done = _replay(str(folder), "--jobs", "2")
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"replayed {3 * len(STORED)} histories" in done.stdout and "all deterministic" in done.stdout


def test_the_first_non_determinism_stops_it_with_exit_6_naming_the_case(tmp_path):
    folder = _folder(tmp_path, 2)
    target = folder / "closed_loop__copy1.json"  # a case's history: tamper changes a local activity
    target.write_text(json.dumps(tamper(json.loads(target.read_text()))))
    failed = _replay(str(folder), "--jobs", "2")
    assert failed.returncode == 6
    assert "1 NON-DETERMINISTIC" in failed.stdout and "closed_loop:" in failed.stdout
    bad = _replay(str(folder), "--jobs", "0")
    assert bad.returncode == 2 and "--jobs" in bad.stderr
