"""`python worker.py` refuses a broken template (and `--check` says so); long commands show a
progress bar on a terminal and stay quiet in pipes."""

from __future__ import annotations

import os
import subprocess
import sys

from activities.templates import PARAMS
from tests.support.processes import ROOT, worker_once

SHIPPED = ROOT / "runtime" / "config" / "notices.toml"


def test_the_worker_will_not_start_with_a_broken_template(tmp_path):
    path = tmp_path / "notices.toml"
    path.write_text(
        SHIPPED.read_text(encoding="utf-8").replace("{milestone}时限为", "{milestone时限为", 1), encoding="utf-8"
    )
    run = worker_once(
        os.environ | {"COMPLAINTS_NOTICE_TEMPLATES": str(path), "COMPLAINTS_DATA_DIR": str(tmp_path / "data")}
    )
    assert run.returncode == 2, run.stderr
    assert "'warning'" in run.stderr and str(path) in run.stderr and "Traceback" not in run.stderr
    checked = subprocess.run(
        [sys.executable, "worker.py", "--check"],
        cwd=ROOT,
        env=os.environ | {"COMPLAINTS_NOTICE_TEMPLATES": str(path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 2 and "'warning'" in checked.stderr, checked.stderr
    shipped = subprocess.run(
        [sys.executable, "worker.py", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert shipped.returncode == 0 and f"{len(PARAMS)} templates" in shipped.stdout, shipped.stderr


def test_the_check_names_a_strong_signal_rule_that_cannot_be_used(tmp_path):
    path = tmp_path / "risk.toml"
    path.write_text('[[rule]]\nid = "life"\nlevel = "red"\nreason = "r"\nreason_en = "r"\npatterns = ["(跳"]\n')
    checked = subprocess.run(
        [sys.executable, "worker.py", "--check"],
        cwd=ROOT,
        env=os.environ | {"COMPLAINTS_RISK_FILE": str(path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 2 and "rule 'life': patterns" in checked.stderr and str(path) in checked.stderr


def test_long_commands_show_progress_on_a_terminal_and_stay_quiet_in_pipes():
    import pty

    command = [sys.executable, "-m", "starter", "replay", str(ROOT / "tests" / "histories")]
    piped = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0 and "replaying" not in piped.stderr and "all deterministic" in piped.stdout

    pid, fd = pty.fork()
    if pid == 0:  # the child: a command on a terminal, as an auditor runs it
        os.chdir(ROOT)
        os.execv(sys.executable, command)
    seen = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    text = seen.decode(errors="replace")
    assert "replaying" in text and "all deterministic" in text
