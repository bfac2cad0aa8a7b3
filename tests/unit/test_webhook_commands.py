"""`python -m starter webhook ...` as operators type it (the CLI's own entry point, in this
process): every wrong input named, secrets shown once, rotation, pausing with a revoked identity,
removal. No Temporal needed until there is something to deliver."""

from __future__ import annotations

import subprocess

import pytest

from readmodel import ReadModel
from readmodel.webhooks import Webhooks
from starter.cli import main
from starter.codec import keyring_from_settings
from tests.support.cases import TEST_PHONE_KEY


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    for name, value in {
        "COMPLAINTS_DATA_DIR": str(tmp_path),
        "COMPLAINTS_DB_URL": f"sqlite:///{tmp_path / 'complaints.db'}",
        "COMPLAINTS_PHONE_KEY": TEST_PHONE_KEY.decode(),
        "COMPLAINTS_IDENTITIES_FILE": str(tmp_path / "identities.toml"),
    }.items():
        monkeypatch.setenv(name, value)

    def command(*args: str) -> subprocess.CompletedProcess:
        code = main(list(args))
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)

    return command


def test_subscriptions_are_checked_listed_rotated_and_removed(run, tmp_path):
    # Three districts call their housing bureau 区住建局: without a scope the name is refused, naming them.
    ambiguous = run("identity", "add", "housing-system", "--role", "handler", "--department", "区住建局")
    assert ambiguous.returncode == 2 and "names 3 units: 440311-zj 光明区住房和建设局" in ambiguous.stderr
    added = run(
        "identity", "add", "housing-system", "--role", "handler", "--department", "区住建局", "--scope", "440311"
    )
    assert added.returncode == 0 and "handler of 光明区住房和建设局" in added.stdout, added.stdout

    def webhook(*args: str):
        return run("webhook", *args)

    base = ["add", "housing", "--identity", "housing-system", "--department", "区住建局"]
    for args, fault in [
        (["--url", "http://cases.example.gov.cn/h", "--events", "*"], "https only"),
        (["--url", "https://cases.example.gov.cn/h", "--events", "dispached"], "dispached not an event kind"),
        (["--url", "https://u:p@cases.example.gov.cn/h", "--events", "*"], "no user or password"),
    ]:
        refused = webhook(*base, *args)
        assert refused.returncode == 2 and fault in refused.stderr and "Traceback" not in refused.stderr
    stranger = webhook("add", "x", "--identity", "nobody", "--url", "https://a.example/h", "--events", "*")
    assert stranger.returncode == 2 and "nobody is not an active identity" in stranger.stderr
    bad_name = webhook("add", "a b", "--identity", "housing-system", "--url", "https://a.example/h", "--events", "*")
    assert bad_name.returncode == 2 and "name 'a b'" in bad_name.stderr

    added = webhook(*base, "--url", "https://cases.example.gov.cn/h", "--events", "dispatched,breached,resolved")
    assert added.returncode == 0, added.stderr
    secret = added.stdout.strip().splitlines()[-1]
    assert secret.startswith("whsec_") and "breach" in added.stdout
    again = webhook(*base, "--url", "https://cases.example.gov.cn/h", "--events", "*")
    assert again.returncode == 2 and "exists" in again.stderr
    # At rest the secret is sealed (codec key), never in clear.
    assert secret.encode() not in (tmp_path / "complaints.db").read_bytes()
    hooks = Webhooks(
        ReadModel(f"sqlite:///{tmp_path / 'complaints.db'}", TEST_PHONE_KEY).engine, keyring_from_settings()
    )
    assert hooks.secret("housing") == secret

    listed = webhook("list")
    assert listed.returncode == 0 and "housing" in listed.stdout and "active" in listed.stdout
    assert "breach,dispatched,resolved" in listed.stdout and secret not in listed.stdout
    rotated = webhook("rotate-secret", "housing")
    assert rotated.returncode == 0 and rotated.stdout.strip().splitlines()[-1] != secret
    assert hooks.secret("housing") == rotated.stdout.strip().splitlines()[-1]
    shown = webhook("deliveries", "housing")
    assert shown.returncode == 0 and "next try" in shown.stdout
    resumed = webhook("resume", "housing")  # nothing owed: nothing to wake, no server needed
    assert resumed.returncode == 0 and "0 cases" in resumed.stdout

    revoked = run("identity", "revoke", "housing-system")
    assert revoked.returncode == 0 and "paused webhook housing" in revoked.stdout
    assert "paused" in webhook("list").stdout and "housing-system was revoked" in webhook("list").stdout

    assert webhook("remove", "housing").returncode == 0
    gone = webhook("remove", "housing")
    assert gone.returncode == 2 and "no webhook housing" in gone.stderr
    assert webhook("deliveries", "housing").returncode == 2
