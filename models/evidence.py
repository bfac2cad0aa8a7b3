"""Evidence on a case (issue 38): what kinds and purposes there are, who may attach which, the
bounds, and what the case records of an attachment (its digest is in the event's detail, so the
hash chain covers it and a swapped or deleted file is an audit finding)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import Field

from models.base import Strict

SHA256 = r"^[0-9a-f]{64}$"
MIB = 1 << 20
PER_CASE = 30  # attachments a case holds at most (a local default; COMPLAINTS_EVIDENCE_PER_CASE may lower it)


class Kind(StrEnum):
    photo = "photo"
    document = "document"  # PDF only
    recording = "recording"  # WAV, MP3, M4A


class Purpose(StrEnum):
    problem = "problem"  # what the complainant or the grid worker saw
    before = "before"  # 整改前
    after = "after"  # 整改后
    agreement = "agreement"  # a signed mediation agreement's scan
    call = "call"  # the hotline call's recording
    other = "other"


@dataclass(frozen=True)
class Bounds:
    """COMPLAINTS_EVIDENCE_MAX_* (local defaults, sized for a phone's photo, a scanned agreement
    and a long call; Signalen caps uploads at 20 MB)."""

    photo: int = 10 * MIB
    document: int = 20 * MIB
    recording: int = 100 * MIB
    per_case: int = PER_CASE

    def of(self, kind: Kind) -> int:
        return {Kind.photo: self.photo, Kind.document: self.document, Kind.recording: self.recording}[kind]

    @property
    def largest(self) -> int:
        return max(self.photo, self.document, self.recording)


# Who attaches what (the access table's `attach` row reads it): the side of the case -> the kinds
# and purposes that side may attach.
ATTACHERS: dict[str, tuple[frozenset[Kind], frozenset[Purpose]]] = {
    # Through their link: photos of the problem.
    "complainant": (frozenset({Kind.photo}), frozenset({Purpose.problem, Purpose.other})),
    # The hotline: the call's recording, photos sent to it.
    "hotline": (frozenset({Kind.photo, Kind.recording}), frozenset({Purpose.problem, Purpose.call, Purpose.other})),
    # The handling unit (or its leader): 整改 before and after, and its documents.
    "unit": (frozenset({Kind.photo, Kind.document}), frozenset({Purpose.before, Purpose.after, Purpose.other})),
    # The mediator: the agreement.
    "mediator": (frozenset({Kind.document, Kind.photo}), frozenset({Purpose.agreement, Purpose.other})),
    # The grid worker (the case's community): what they found, and how it was put right.
    "community": (frozenset({Kind.photo}), frozenset({Purpose.problem, Purpose.before, Purpose.after})),
}


class Attachment(Strict):
    """An attachment as the case records it: facts the engine found, never the client's word."""

    id: str = Field(pattern=SHA256)  # the SHA-256 of the stored bytes
    kind: Kind
    purpose: Purpose
    media_type: str
    size: int = Field(ge=1)
    thumbnail: str | None = Field(default=None, pattern=SHA256)  # a photo's 320 px JPEG
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None  # a recording's
    seq: int | None = None  # the `attached` event's place in the timeline
    public: bool = False  # a supervisor may show a photo on Open311 (not yet: issue 38)


def refusal(side: str | None, kind: Kind, purpose: Purpose) -> str | None:
    """Why this side may not attach this kind for this purpose, or None."""
    if side is None:
        return "only the complainant, the hotline, the handling unit, the mediator or the case's community attaches"
    kinds, purposes = ATTACHERS[side]
    if kind not in kinds:
        return f"kind: the {side} attaches {', '.join(sorted(k.value for k in kinds))}, not {kind.value}"
    if purpose not in purposes:
        return f"purpose: the {side} attaches for {', '.join(sorted(p.value for p in purposes))}, not {purpose.value}"
    return None
