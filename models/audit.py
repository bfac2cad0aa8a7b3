"""The audit's data and its judgement of one case (issue 27).

An audit replays each case's histories against this code (deterministic?), and, for a case that
keeps a hash chain (edition 4), checks four witnesses against each other: the case as the history
replays it, the case as the history recorded it (a run's result or what it carried on), the read
model's rows, and the heads anchored under the engine's signature. A change to one of them, or to
the history and the read model together without the key, shows as a finding naming the case, the
run and the event. The judgement is pure; activities/audit.py gathers the witnesses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from models import chain
from models.case import CaseState
from models.editions import Edition

Status = Literal["closed", "all"]
ChainVerdict = Literal["verified", "replay only", "broken"]


class AuditRequest(BaseModel):
    since: datetime
    until: datetime
    status: Status = "closed"  # closed: cases closed in the period; all: cases received in it, any status
    batch_size: int = Field(default=25, ge=1, le=500)  # cases per replay activity: what a killed worker costs
    parallel: int = Field(default=8, ge=1, le=256)  # batches in flight at once, across every audit worker
    heartbeat_seconds: int = Field(default=30, ge=2, le=600)  # silence after which a batch goes to another worker
    pages_per_run: int = Field(default=20, ge=1)  # visibility pages a run reads before continuing as new


class Finding(BaseModel):
    case_id: str
    run_id: str | None = None
    event: int | None = None  # the event's place in the case's timeline (its seq in the read model)
    what: str  # nondeterministic, history changed, chain broken, read model changed, not anchored, ...
    detail: str = ""


class CaseVerdict(BaseModel):
    case_id: str
    histories: int
    deterministic: bool
    chain: ChainVerdict
    findings: list[Finding] = Field(default_factory=list)


class Totals(BaseModel):
    cases: int = 0
    histories: int = 0
    deterministic: int = 0
    chain_verified: int = 0
    replay_only: int = 0
    with_findings: int = 0
    findings: list[Finding] = Field(default_factory=list)

    def add(self, verdicts: list[CaseVerdict]) -> None:
        for v in verdicts:
            self.cases += 1
            self.histories += v.histories
            self.deterministic += v.deterministic
            self.chain_verified += v.chain == "verified"
            self.replay_only += v.chain == "replay only"
            self.with_findings += bool(v.findings)
            self.findings.extend(v.findings)


class AuditProgress(BaseModel):
    audit_id: str
    request: AuditRequest
    started_at: datetime
    runs: int = 1  # workflow runs so far (a long audit continues as new)
    pages: int = 0
    batches_running: int = 0
    done: bool = False
    totals: Totals = Field(default_factory=Totals)

    def rate(self, now: datetime) -> float:
        seconds = (now - self.started_at).total_seconds()
        return self.totals.cases / seconds if seconds > 0 else 0.0


class AuditReport(BaseModel):
    """What an audit found, signed with the engine's audit key (readmodel/anchors.py signs)."""

    audit_id: str
    since: datetime
    until: datetime
    status: Status
    code_version: str
    started_at: datetime
    finished_at: datetime
    totals: Totals
    anchors_checked: int = 0
    anchor_findings: list[str] = Field(default_factory=list)  # "anchor N: why", for anchors that fail
    key_id: str | None = None
    signature: str | None = None  # Ed25519 over signed_bytes(), base64

    def signed_bytes(self) -> bytes:
        return self.model_dump_json(exclude={"key_id", "signature"}).encode()

    def summary(self) -> str:
        t = self.totals
        lines = [
            f"audit {self.audit_id}: {self.status} cases, {self.since.isoformat()} to {self.until.isoformat()}",
            f"code {self.code_version}; {t.cases} cases, {t.histories} histories replayed; "
            f"{t.deterministic} deterministic; {t.chain_verified} chain-verified; {t.replay_only} replay only "
            f"(before the chain); {t.with_findings} with findings; {self.anchors_checked} anchors checked",
        ]
        lines += [
            f"  {f.case_id}"
            + (f" run {f.run_id}" if f.run_id else "")
            + (f" event {f.event}" if f.event is not None else "")
            + f": {f.what}"
            + (f" ({f.detail})" if f.detail else "")
            for f in t.findings
        ]
        lines += [f"  {a}" for a in self.anchor_findings]
        lines.append("signed " + (f"with key {self.key_id}" if self.signature else "NOT signed"))
        return "\n".join(lines)


class RunWitness(BaseModel):
    """One run of a case: whether it replayed, and the case at its end, as replayed and as recorded."""

    run_id: str
    failure: str | None = None  # non-determinism, or why it could not be replayed
    replayed: CaseState | None = None  # what the run returned or carried on, in replay
    recorded: CaseState | None = None  # what the history says it returned or carried on


class StoredEvent(BaseModel):
    """An event row of the read model, as the audit reads it."""

    seq: int
    encoded: bytes  # chain.canonical of the row's columns
    digest: str | None


class AnchoredHead(BaseModel):
    anchor_id: int
    head: str


class AnchorCheck(BaseModel):
    """Every anchor's signature and Merkle root, checked once per audit."""

    good: int = 0
    bad: dict[int, str] = Field(default_factory=dict)  # anchor id -> why it fails
    covered_until: datetime | None = None  # the last good anchor covers writes up to here


def evidence_findings(case_id: str, state: Any, held: dict[str, str]) -> list[Finding]:
    """Each attachment the chain names must be in the store, its bytes hashing to its name."""
    found = []
    for seq, e in enumerate(state.timeline):
        digest = e.detail.get("digest") if e.kind in ("attached", "photo_published") else None
        if digest is None or held.get(digest, "present") == "present":
            continue
        what = held[digest]
        found.append(
            Finding(
                case_id=case_id,
                event=seq,
                what="evidence missing" if what == "missing" else "evidence changed",
                detail=f"attachment {digest}: "
                + ("not in the evidence store" if what == "missing" else f"its bytes now hash to {what}"),
            )
        )
    return found


def judge(
    case_id: str,
    runs: list[RunWitness],
    row: dict[str, Any] | None,
    expected_row: dict[str, Any] | None,
    events: list[StoredEvent],
    anchored: list[AnchoredHead],
    anchor_due: bool = False,
    evidence: dict[str, str] | None = None,
) -> CaseVerdict:
    """The verdict on one case from its witnesses (runs oldest first). `anchor_due`: the case's
    last write is older than what the anchors cover, so its last head must be anchored.
    `evidence`: what the evidence store holds of each digest the timeline names (issue 38):
    "present", "missing", or the digest its bytes hash to now."""
    findings = [
        Finding(case_id=case_id, run_id=r.run_id, what="nondeterministic", detail=r.failure) for r in runs if r.failure
    ]
    deterministic = not findings
    last = runs[-1].replayed if runs else None
    if last is None or last.edition < Edition.chain:
        # Started before the chain: the history replays or it does not; nothing else to check it by.
        return CaseVerdict(
            case_id=case_id, histories=len(runs), deterministic=deterministic, chain="replay only", findings=findings
        )

    encoded = [e.encoded() for e in last.timeline]
    digests = chain.digests(chain.genesis(case_id), encoded)
    findings += evidence_findings(case_id, last, evidence or {})

    def where(other: list[bytes]) -> int | None:
        """The first event at which another account of the timeline differs from the replayed one."""
        for seq, (mine, theirs) in enumerate(zip(encoded, other, strict=False)):
            if mine != theirs:
                return seq
        return None if len(other) == len(encoded) else min(len(other), len(encoded))

    for r in runs:  # the history against itself: what replay makes of it vs what it recorded
        if r.replayed is None or r.recorded is None:
            continue
        # Equal objects first (cheap); else as JSON, the form the recorded one came from.
        if r.replayed != r.recorded and r.replayed.model_dump(mode="json") != r.recorded.model_dump(mode="json"):
            seq = where([e.encoded() for e in r.recorded.timeline])
            findings.append(
                Finding(
                    case_id=case_id,
                    run_id=r.run_id,
                    event=seq,
                    what="history changed",
                    detail=_differs(r.replayed, r.recorded),
                )
            )
    head = digests[-1] if digests else None
    if last.chain_head != head:  # a run began from a carried-in timeline that its chain does not cover
        seq = where([e.encoded for e in events]) if events else None
        findings.append(
            Finding(
                case_id=case_id,
                run_id=runs[-1].run_id,
                event=seq,
                what="chain broken",
                detail="the timeline does not hash to its head",
            )
        )

    stored = {e.seq: e for e in events}
    rows = [stored[seq].encoded for seq in sorted(stored)]
    anchored_heads = {a.head for a in anchored}
    if (
        anchored_heads
        and not anchored_heads <= set(digests)
        and anchored_heads <= set(chain.digests(chain.genesis(case_id), rows))
    ):
        # The read model and the signed anchors agree with each other and not with the history:
        # the history is what changed (the read model's differences are its, not theirs).
        seq = where(rows)
        if not any(f.what == "history changed" and f.event == seq for f in findings):
            findings.append(
                Finding(
                    case_id=case_id,
                    run_id=runs[-1].run_id,
                    event=seq,
                    what="history changed",
                    detail="the read model and the signed anchor agree with each other, not with the history",
                )
            )
        return _verdict(case_id, runs, deterministic, findings)
    for seq, (mine, digest) in enumerate(zip(encoded, digests, strict=True)):
        e = stored.get(seq)
        if e is None:
            findings.append(Finding(case_id=case_id, event=seq, what="read model changed", detail="event row missing"))
        elif e.encoded != mine or e.digest != digest:
            detail = "event row differs from the history" if e.encoded != mine else "event row's digest differs"
            findings.append(Finding(case_id=case_id, event=seq, what="read model changed", detail=detail))
    for seq in sorted(set(stored) - set(range(len(encoded)))):
        findings.append(
            Finding(case_id=case_id, event=seq, what="read model changed", detail="event row not in the history")
        )
    if expected_row is None:
        pass  # a running case written since its history was fetched: its row is not comparable
    elif row is None:
        findings.append(Finding(case_id=case_id, what="read model changed", detail="case row missing"))
    else:
        changed = sorted(k for k, v in expected_row.items() if row.get(k) != v)
        if changed:
            findings.append(
                Finding(case_id=case_id, what="read model changed", detail="case row: " + ", ".join(changed))
            )

    known = set(digests)
    for a in anchored:  # every head anchored for this case is a point its chain passed through
        if a.head not in known:
            findings.append(
                Finding(
                    case_id=case_id,
                    what="not anchored",
                    detail=f"anchor {a.anchor_id} signed a head this history never had",
                )
            )
    if head is not None and anchor_due and head not in anchored_heads:
        findings.append(Finding(case_id=case_id, what="not anchored", detail="its last head is in no anchor"))
    return _verdict(case_id, runs, deterministic, findings)


def _verdict(case_id: str, runs: list[RunWitness], deterministic: bool, findings: list[Finding]) -> CaseVerdict:
    broken = any(f.what != "nondeterministic" for f in findings)
    return CaseVerdict(
        case_id=case_id,
        histories=len(runs),
        deterministic=deterministic,
        chain="broken" if broken else "verified",
        findings=findings,
    )


def _differs(replayed: CaseState, recorded: CaseState) -> str:
    a, b = replayed.model_dump(mode="json"), recorded.model_dump(mode="json")
    fields = sorted(k for k in a if a.get(k) != b.get(k))
    return "replay gives another " + ", ".join(fields)
