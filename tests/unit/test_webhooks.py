"""Webhooks' pure rules and what the read model owes, without a server."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from standardwebhooks.webhooks import Webhook

from models import Actor, Role
from models.actor import sees_personal_data
from models.webhooks import check_name, check_url, message_id, parse_events, retry_wait, wants
from readmodel import ReadModel
from readmodel.webhooks import EVENTS, WebhookError, Webhooks, owe
from runtime.keys import Keyring
from tests.support.cases import TEST_PHONE_KEY

KEYS = Keyring.parse("a:" + "a" * 43 + "=")


def test_events_are_the_timelines_kinds_or_all():
    assert parse_events("dispatched, resolved,dispatched") == ["dispatched", "resolved"]
    assert parse_events("breached,warned") == ["breach", "warning"]  # the names other systems use
    assert parse_events("resolved,*") == ["*"]
    with pytest.raises(ValueError, match="dispatchd not an event kind"):
        parse_events("dispatchd")
    with pytest.raises(ValueError, match="at least one"):
        parse_events(" , ")
    assert wants(["*"], "closed") and wants(["closed"], "closed") and not wants(["resolved"], "closed")


@pytest.mark.parametrize(
    ("url", "allowed", "fault"),
    [
        ("https://dept.example.gov.cn/hooks", set(), None),
        ("http://dept.example.gov.cn/hooks", set(), "https only"),
        ("http://127.0.0.1:9000/h", {"127.0.0.1"}, None),
        ("http://127.0.0.1:9000/h", {"localhost"}, "https only"),
        ("ftp://x/y", set(), "expected https"),
        ("https://user:pw@x.gov.cn/", set(), "no user or password"),
        ("https:///nohost", set(), "expected https"),
    ],
)
def test_urls_are_https_unless_the_operator_allows_the_host(url, allowed, fault):
    if fault is None:
        assert check_url(url, frozenset(allowed)) == url
    else:
        with pytest.raises(ValueError, match=fault):
            check_url(url, frozenset(allowed))


def test_names_ids_and_the_retry_schedule():
    check_name("housing-bureau.v2")
    with pytest.raises(ValueError):
        check_name("a b")
    assert message_id("c1", 3) == message_id("c1", 3) != message_id("c1", 4)
    assert message_id("c1", 3).startswith("msg_") and len(message_id("c1", 3)) == 28
    first = timedelta(seconds=1)
    assert [retry_wait(first, n).total_seconds() for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert retry_wait(first, 30) == timedelta(hours=1)  # never more than an hour apart


def test_personal_data_rule_is_the_gateways():
    def sees(role, department=None, id="x"):
        return sees_personal_data(Actor(id=id, role=role, department=department), "住建局", "水务局", "L1")

    assert sees(Role.supervisor) and sees(Role.dispatcher)
    assert sees(Role.handler, "住建局") and sees(Role.handler, "水务局") and not sees(Role.handler, "城管局")
    assert sees(Role.leader, id="L1") and not sees(Role.leader, id="L2")
    assert not sees(Role.auditor) and not sees(Role.community, "莲塘社区")


def _read_model(tmp_path) -> tuple[ReadModel, Webhooks]:
    rm = ReadModel(f"sqlite:///{tmp_path / 'rm.db'}", TEST_PHONE_KEY)
    return rm, Webhooks(rm.engine, KEYS)


def test_what_is_owed_follows_events_scope_and_pauses(tmp_path):
    rm, hooks = _read_model(tmp_path)
    handler = Actor(id="h1", role=Role.handler, department="住建局")
    secret = hooks.add("housing", handler, "https://h.example/x", ["dispatched", "resolved"], department="住建局")
    hooks.add("all", Actor(id="s1", role=Role.supervisor), "https://s.example/x", ["*"])
    assert hooks.secret("housing") == secret and secret.startswith("whsec_")
    Webhook(secret)  # a secret any Standard Webhooks library takes
    with pytest.raises(WebhookError, match="exists"):
        hooks.add("housing", handler, "https://h.example/x", ["*"])
    at = datetime(2026, 12, 1, 2, tzinfo=timezone.utc)
    events = [(0, "received", at, None, {}), (1, "dispatched", at, None, {"department": "住建局"})]
    with rm.engine.begin() as conn:  # the case's events as ReadModel.record writes them, then what is owed
        conn.execute(EVENTS.insert(), [dict(case_id="c1", seq=s, at=at, kind=k, detail={}) for s, k, *_ in events])
        assert owe(conn, "c1", 1, (None, None), events[:1]) == ["all"]  # not the housing bureau's yet
        assert hooks.owed_count("housing")[0] == 0
    with rm.engine.begin() as conn:
        assert owe(conn, "c1", 2, ("住建局", "住建局"), events) == ["housing", "all"]
    with rm.engine.begin() as conn:  # a retried write owes nothing twice, and wakes them again
        assert owe(conn, "c1", 2, ("住建局", "住建局"), events) == ["housing", "all"]
        assert owe(conn, "c2", 2, ("城管局", "城管局"), [(1, "dispatched", at, None, {})]) == ["all"]
    # dispatched to it: owed the case from its start (the events it wants), whatever the writes were
    assert hooks.owed_count("housing")[0] == 1 and hooks.owed_count("all")[0] == 3
    owed = hooks.owed("all", "c1")
    assert [o.seq for o in owed] == [0, 1] and not owed[0].paused
    hooks.attempted(owed[0], "received", 1, True, 204, "x" * 5000, None, None)
    assert [o.seq for o in hooks.owed("all", "c1")] == [1]
    assert len(hooks.attempts("all")[0].answer or "") == 1024  # what a receiver says is kept to 1 KiB
    hooks.pause("all", "failing")
    assert hooks.owed("all", "c1")[0].paused
    with rm.engine.begin() as conn:  # paused: still owed, not woken
        assert owe(conn, "c3", 1, (None, None), [(0, "received", at, None, {})]) == []
    assert hooks.resume("all") == ["c1", "c2", "c3"]
    assert hooks.redeliver("all", at) == ["c1", "c2", "c3"]
    assert hooks.pause_identity("h1", "revoked") == ["housing"]
    assert hooks.get("housing").paused_reason == "revoked"
    assert hooks.rotate("housing") != secret
    hooks.remove("housing")
    with pytest.raises(WebhookError, match="no webhook housing"):
        hooks.get("housing")
    assert hooks.owed("housing", "c1") == []
