"""Anchors: the engine's signed word on where each case's hash chain stood (issue 27).

Once a day (the `complaints-anchor` Temporal schedule, AnchorHeads in workflows/audit.py) the engine takes the chain heads of the
cases written since the last anchor, makes a Merkle root over them, signs it with its Ed25519
audit key and appends it to the `anchors` table, which refuses UPDATE and DELETE (a trigger).
Whoever can write the database without the key cannot make an anchor that verifies; an operator
copies the anchors elsewhere (`python -m starter anchors export`), so a rewritten table shows too.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Engine, event, select, text
from sqlmodel import Field, SQLModel

from models.audit import AnchorCheck, AnchoredHead
from models.chain import utc_text
from readmodel.tables import CaseRow, _when, table_of
from runtime.keys import Keyring

# A write's updated_at is taken just before its transaction commits: an anchor covers the rows
# written up to a minute ago, so none commits behind it unseen.
SETTLE = timedelta(minutes=1)


class AnchorRow(SQLModel, table=True):
    __tablename__ = "anchors"
    id: int | None = Field(default=None, primary_key=True)
    covered_from: datetime = _when(nullable=False)  # rows written from here...
    covered_until: datetime = _when(nullable=False)  # ...to here (exclusive)
    made_at: datetime = _when(nullable=False)
    cases: int
    root: str  # Merkle root (hex) over its leaves (AnchorLeafRow)
    key_id: str
    signature: str  # Ed25519 over signed_bytes(), base64


class AnchorLeafRow(SQLModel, table=True):
    """A case's head in an anchor: found by case, for the audit of that case."""

    __tablename__ = "anchor_leaves"
    anchor_id: int = Field(primary_key=True)
    case_id: str = Field(primary_key=True, index=True)
    head: str


def signed_bytes(covered_from: datetime, covered_until: datetime, cases: int, root: str) -> bytes:
    return json.dumps(
        {"from": utc_text(covered_from), "until": utc_text(covered_until), "cases": cases, "root": root},
        sort_keys=True,
        separators=(",", ":"),
    ).encode()


def merkle_root(leaves: list[tuple[str, str]]) -> str:
    """Over (case id, head) pairs in case order; a leaf and an inner node hash differently
    (RFC 6962's 0x00 / 0x01), so no leaf passes for a node."""
    level = [hashlib.sha256(b"\x00" + f"{case}\n{head}".encode()).digest() for case, head in sorted(leaves)]
    if not level:
        return hashlib.sha256(b"").hexdigest()
    while len(level) > 1:
        level = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() if i + 1 < len(level) else level[i]
            for i in range(0, len(level), 2)
        ]
    return level[0].hex()


@dataclass(frozen=True)
class AuditKeys:
    """The engine's Ed25519 audit keys: the first signs, every one listed verifies what it signed."""

    keyring: Keyring

    def sign(self, data: bytes) -> tuple[str, str]:
        key = Ed25519PrivateKey.from_private_bytes(self.keyring.keys[self.keyring.current])
        return self.keyring.current, base64.b64encode(key.sign(data)).decode()

    def public_keys(self) -> dict[str, str]:
        """Key id -> the raw public key, base64: what a verifier needs, and nothing more."""
        return {
            key_id: base64.b64encode(
                Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            ).decode()
            for key_id, seed in self.keyring.keys.items()
        }


def verify(public_keys: dict[str, str], key_id: str | None, data: bytes, signature: str | None) -> bool:
    """Whether one of these public keys (id -> base64) signed `data`."""
    if key_id is None or signature is None or key_id not in public_keys:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public_keys[key_id])).verify(
            base64.b64decode(signature), data
        )
    except (InvalidSignature, ValueError):
        return False
    return True


ANCHORS, LEAVES, CASES = table_of(AnchorRow), table_of(AnchorLeafRow), table_of(CaseRow)


def _append_only(target: Any, connection: Any, **kw: Any) -> None:
    """Anchors are appended, never changed: the database itself refuses."""
    name = target.name
    if connection.dialect.name == "postgresql":
        connection.execute(
            text(
                "CREATE OR REPLACE FUNCTION append_only() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql"
            )
        )
        connection.execute(
            text(
                f"CREATE TRIGGER {name}_append_only BEFORE UPDATE OR DELETE ON {name} "
                "FOR EACH ROW EXECUTE FUNCTION append_only()"
            )
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            connection.execute(
                text(
                    f"CREATE TRIGGER {name}_no_{verb.lower()} BEFORE {verb} ON {name} "
                    f"BEGIN SELECT RAISE(ABORT, '{name} is append-only'); END"
                )
            )


for _table in (ANCHORS, LEAVES):
    event.listen(_table, "after_create", _append_only)


class Anchors:
    def __init__(self, engine: Engine, keys: AuditKeys) -> None:
        self.engine = engine
        self.keys = keys

    def make(self, now: datetime | None = None) -> AnchorRow | None:
        """Anchor the heads of the cases written since the last anchor (None: nothing new)."""
        until = (now or datetime.now(timezone.utc)) - SETTLE
        with self.engine.begin() as conn:
            since = conn.execute(select(ANCHORS.c.covered_until).order_by(ANCHORS.c.id.desc()).limit(1)).scalar()
            start = since or datetime(1970, 1, 1, tzinfo=timezone.utc)  # UtcDateTime: in UTC, with its zone
            if until <= start:
                return None
            rows = conn.execute(
                select(CASES.c.case_id, CASES.c.chain_head).where(
                    CASES.c.updated_at >= start, CASES.c.updated_at < until, CASES.c.chain_head.is_not(None)
                )
            ).all()
            leaves = sorted((r.case_id, r.chain_head) for r in rows)
            root = merkle_root(leaves)
            key_id, signature = self.keys.sign(signed_bytes(start, until, len(leaves), root))
            row: dict[str, Any] = dict(
                covered_from=start,
                covered_until=until,
                made_at=datetime.now(timezone.utc),
                cases=len(leaves),
                root=root,
                key_id=key_id,
                signature=signature,
            )
            new_id = conn.execute(ANCHORS.insert().values(**row)).inserted_primary_key[0]  # type: ignore[index]
            if leaves:
                conn.execute(LEAVES.insert(), [dict(anchor_id=new_id, case_id=c, head=h) for c, h in leaves])
        return AnchorRow(id=new_id, **row)

    def all(self) -> list[tuple[AnchorRow, list[tuple[str, str]]]]:
        """Every anchor, oldest first, with its leaves."""
        with self.engine.connect() as conn:
            anchors = [AnchorRow(**r._mapping) for r in conn.execute(select(ANCHORS).order_by(ANCHORS.c.id))]
            leaves: dict[int, list[tuple[str, str]]] = {}
            for r in conn.execute(select(LEAVES)):
                leaves.setdefault(r.anchor_id, []).append((r.case_id, r.head))
        return [(a, sorted(leaves.get(a.id or 0, []))) for a in anchors]

    def check(self, public_keys: dict[str, str]) -> AnchorCheck:
        """Every anchor's signature and root: the audit does this once, then trusts what passed."""
        result = AnchorCheck()
        for a, leaves in self.all():
            signed = signed_bytes(a.covered_from, a.covered_until, a.cases, a.root)
            if not verify(public_keys, a.key_id, signed, a.signature):
                result.bad[a.id or 0] = "its signature does not verify"
            elif merkle_root(leaves) != a.root or len(leaves) != a.cases:
                result.bad[a.id or 0] = "its leaves do not make its signed root"
            else:
                result.good += 1
                result.covered_until = a.covered_until
        return result

    def heads(self, case_ids: list[str], bad: set[int]) -> dict[str, list[AnchoredHead]]:
        """The heads anchored for these cases, in anchors that passed the check."""
        out: dict[str, list[AnchoredHead]] = {c: [] for c in case_ids}
        with self.engine.connect() as conn:
            for r in conn.execute(select(LEAVES).where(LEAVES.c.case_id.in_(case_ids)).order_by(LEAVES.c.anchor_id)):
                if r.anchor_id not in bad:
                    out[r.case_id].append(AnchoredHead(anchor_id=r.anchor_id, head=r.head))
        return out

    def export(self) -> list[dict[str, Any]]:
        """Every anchor as JSON with its leaves and the public key that verifies it: a file to copy
        off the machine (and, later, to check the table against)."""
        keys = self.keys.public_keys()
        return [
            a.model_dump(mode="json") | {"leaves": [list(leaf) for leaf in leaves], "public_key": keys.get(a.key_id)}
            for a, leaves in self.all()
        ]
