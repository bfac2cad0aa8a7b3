"""The hash chain and the audit's judgement (issue 27), with the stored histories replayed by the
audit's own replayer: edition 4 cases are chain-verified, cases from before it are replay only,
and each witness that disagrees is named with its event."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

from models import CaseState, chain
from models.audit import AnchoredHead, RunWitness, StoredEvent, judge
from models.editions import Edition
from readmodel.anchors import AuditKeys, merkle_root, verify
from runtime.keys import Keyring
from starter import data_converter
from worker import audit_replayer

HISTORIES = Path(__file__).parent.parent / "histories"


async def _replayed(name: str) -> tuple[CaseState, CaseState]:
    """The case at the end of a stored history: as replayed (captured), and as recorded."""
    from activities import audit

    history = WorkflowHistory.from_json(name, (HISTORIES / f"{name}.json").read_text(encoding="utf-8"))
    result = await audit_replayer().replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
    replayed = audit._ENDS.pop(history.run_id)
    last = history.events[-1].workflow_execution_completed_event_attributes
    [recorded] = await data_converter().decode(last.result.payloads, [CaseState])
    assert replayed is not None
    return replayed, recorded


def _rows(state: CaseState) -> list[StoredEvent]:
    digests = chain.digests(chain.genesis(state.case_id), (e.encoded() for e in state.timeline))
    return [
        StoredEvent(seq=i, encoded=e.encoded(), digest=d)
        for i, (e, d) in enumerate(zip(state.timeline, digests, strict=True))
    ]


@pytest.fixture(scope="module")
async def chained() -> tuple[CaseState, CaseState]:
    return await _replayed("chained")


async def test_a_chained_case_hashes_to_its_head_in_replay_and_in_its_result(chained):
    replayed, recorded = chained
    assert replayed.edition == Edition.chain and replayed.chained == len(replayed.timeline)
    head = chain.digests(chain.genesis("chained"), (e.encoded() for e in replayed.timeline))[-1]
    assert replayed.chain_head == recorded.chain_head == head
    # A resumption's event gains its moved deadlines while the change is carried out: sealed after.
    [resumed] = [e for e in replayed.timeline if e.kind == "resumed"]
    assert resumed.detail["moved"]


async def test_all_witnesses_agreeing_verify_the_case(chained):
    replayed, recorded = chained
    rows = _rows(replayed)
    verdict = judge(
        "chained",
        [RunWitness(run_id="r", replayed=replayed, recorded=recorded)],
        {},
        {},
        rows,
        [AnchoredHead(anchor_id=1, head=replayed.chain_head)],
        anchor_due=True,
    )
    assert verdict.chain == "verified" and verdict.findings == []


async def test_a_case_from_before_the_chain_is_replay_only():
    replayed, recorded = await _replayed("closed_loop")
    assert replayed.edition < Edition.chain and replayed.chain_head is None
    verdict = judge("closed_loop", [RunWitness(run_id="r", replayed=replayed, recorded=recorded)], None, None, [], [])
    assert verdict.chain == "replay only" and verdict.deterministic and verdict.findings == []


async def test_each_disagreeing_witness_is_named_with_its_event(chained):
    replayed, recorded = chained
    good = _rows(replayed)
    anchor = [AnchoredHead(anchor_id=1, head=replayed.chain_head)]
    run = [RunWitness(run_id="r", replayed=replayed, recorded=recorded)]

    # An event row edited in the read model: the anchor agrees with the history.
    edited = [*good]
    edited[3] = StoredEvent(
        seq=3, encoded=edited[3].encoded.replace(b'"kind":"', b'"kind":"x'), digest=edited[3].digest
    )
    [f] = judge("chained", run, {}, {}, edited, anchor).findings
    assert (f.what, f.event) == ("read model changed", 3)

    # A case row's column edited.
    [f] = judge("chained", run, {"satisfaction": "dissatisfied"}, {"satisfaction": "satisfied"}, good, anchor).findings
    assert f.what == "read model changed" and "satisfaction" in f.detail

    # The history replays into something else than it recorded: named at the first event that differs.
    other = recorded.model_copy(deep=True)
    other.timeline[5].detail["note"] = "changed"
    [f] = judge("chained", [RunWitness(run_id="r", replayed=replayed, recorded=other)], {}, {}, good, anchor).findings
    assert (f.what, f.run_id, f.event) == ("history changed", "r", 5)

    # An anchor signed a head this chain never passed through.
    [f] = judge("chained", run, {}, {}, good, [AnchoredHead(anchor_id=9, head="0" * 64)]).findings
    assert f.what == "not anchored" and "anchor 9" in f.detail

    # Its last head in no anchor, although the anchors cover its last write.
    [f] = judge("chained", run, {}, {}, good, [], anchor_due=True).findings
    assert f.what == "not anchored"

    # Non-determinism is reported with its run.
    failed = [RunWitness(run_id="r", failure="boom", replayed=replayed, recorded=recorded)]
    [f] = judge("chained", failed, {}, {}, good, anchor).findings
    assert (f.what, f.run_id) == ("nondeterministic", "r")


def test_the_chain_covers_every_field_and_the_order():
    from datetime import datetime, timezone

    at = datetime(2026, 12, 1, tzinfo=timezone.utc)
    a = chain.canonical(at, "noted", "u1", "dispatcher", None, {"note": "甲"})
    b = chain.canonical(at, "noted", "u1", "dispatcher", None, {"note": "乙"})
    g = chain.genesis("c")
    assert chain.digests(g, [a, b]) != chain.digests(g, [b, a])
    assert chain.digests(g, [a])[-1] != chain.digests(chain.genesis("d"), [a])[-1]  # bound to its case
    later = chain.canonical(at.replace(microsecond=1), "noted", "u1", "dispatcher", None, {"note": "甲"})
    assert later != a


def test_merkle_root_and_signatures():
    leaves = [("c1", "h1"), ("c2", "h2"), ("c3", "h3")]
    assert merkle_root(leaves) == merkle_root(list(reversed(leaves)))
    assert merkle_root(leaves) != merkle_root([("c1", "h1"), ("c2", "h2"), ("c3", "hX")])
    keys = AuditKeys(Keyring.generate("k1"))
    key_id, signature = keys.sign(b"report")
    public = keys.public_keys()
    assert verify(public, key_id, b"report", signature)
    assert not verify(public, key_id, b"report!", signature)
    assert not verify(AuditKeys(Keyring.generate("k1")).public_keys(), key_id, b"report", signature)
    rotated = AuditKeys(keys.keyring.rotated("k2"))
    assert rotated.sign(b"x")[0] == "k2" and verify(rotated.public_keys(), key_id, b"report", signature)
