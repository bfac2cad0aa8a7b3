"""Who may call the gateway: identities with a role, API keys stored only as hashes, and console
passwords as a slow salted hash. Kept in the database (COMPLAINTS_IDENTITIES_URL, by default the
read model's COMPLAINTS_DB_URL: city-contract.md), which the `python -m starter identity`
commands write and every gateway process reads: each looks at a change counter at most every
FRESH seconds, so a key revoked anywhere fails everywhere within a second. The TOML file of
earlier versions (COMPLAINTS_IDENTITIES_FILE) is read once, by `identity import`.

An API key reads `cck_<key id>_<secret>`: the key id finds the stored hash, the secret's SHA-256
is compared in constant time. The secret has 256 random bits, so a fast hash is enough for keys
(as for any high-entropy token); passwords, chosen by people, get scrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import threading
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, Text, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from models import Actor, Role
from readmodel.schema import make_engine
from runtime.http import ApiProblem, RateLimiter

KEY_PREFIX = "cck"
_KEY = re.compile(rf"{KEY_PREFIX}_([0-9a-f]{{12}})_([A-Za-z0-9_-]{{43}})")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,99}")
# scrypt at N=2^15, r=8: about 50 ms and 32 MiB a check on this machine, so guessing is slow.
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}
MIN_PASSWORD = 10
# Compared against when a key id is unknown, so a miss takes as long as a hit.
_DUMMY = hashlib.sha256(b"no such key").hexdigest()


BEARER = {"WWW-Authenticate": "Bearer"}
# How stale a process's copy of the identities may be: a revocation reaches every process within it.
FRESH = 0.5

_TABLES = MetaData()
IDENTITIES = Table(
    "identities",
    _TABLES,
    Column("id", String(100), primary_key=True),
    Column("role", String(20), nullable=False),
    Column("department", Text),
    Column("name", Text),
    Column("scope", String(40)),
    Column("created_at", String(40), nullable=False),
    Column("revoked_at", String(40)),
    Column("password", Text),  # scrypt$n$r$p$salt$hash
    Column("keys", JSON, nullable=False),  # [{id, sha256, created_at}]: never a secret
)
# One row: bumped by every change, so a reader sees that something changed with one small query.
CHANGES = Table("identity_changes", _TABLES, Column("id", Integer, primary_key=True), Column("version", Integer))


class IdentityError(ValueError):
    """A command on identities that cannot be done; the message says why."""


@dataclass
class Identity:
    id: str
    role: Role
    department: str | None = None
    name: str | None = None
    created_at: str = ""
    keys: list[dict[str, str]] = field(default_factory=list)  # {id, sha256, created_at}
    password: str | None = None  # scrypt$n$r$p$salt$hash
    revoked_at: str | None = None
    scope: str | None = None  # a place code of the city's tree; None: the whole tree (city-contract.md)

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def actor(self) -> Actor:
        """The actor of every update this identity makes: nothing a client sends changes it."""
        return Actor(id=self.id, role=self.role, department=self.department, scope=self.scope)

    def as_row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "role": self.role.value,
            "department": self.department,
            "name": self.name,
            "scope": self.scope,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
            "password": self.password,
            "keys": list(self.keys),
        }

    @classmethod
    def of_row(cls, row: Any) -> Identity:
        m = row._mapping
        return cls(
            id=m["id"],
            role=Role(m["role"]),
            department=m["department"],
            name=m["name"],
            created_at=m["created_at"],
            keys=list(m["keys"] or []),
            password=m["password"],
            revoked_at=m["revoked_at"],
            scope=m["scope"],
        )


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, maxmem=64 * 2**20, **_SCRYPT)
    b64 = base64.urlsafe_b64encode
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(password: str, stored: str | None) -> bool:
    try:
        _, n, r, p, salt, digest = (stored or "").split("$")
        expected = base64.urlsafe_b64decode(digest)
        got = hashlib.scrypt(
            password.encode(),
            salt=base64.urlsafe_b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=64 * 2**20,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        hash_password(password)  # as slow as a real check: a missing password is not told apart
        return False
    return hmac.compare_digest(got, expected)


def read_file(path: Path) -> dict[str, Identity]:
    """The identities of a TOML file as earlier versions wrote it (for `identity import`)."""
    with path.open("rb") as f:
        data = tomllib.load(f)
    found = {}
    for ident, entry in data.get("identity", {}).items():
        found[ident] = Identity(
            id=ident,
            role=Role(entry["role"]),
            department=entry.get("department"),
            name=entry.get("name"),
            created_at=entry.get("created_at", ""),
            keys=list(entry.get("keys", [])),
            password=entry.get("password"),
            revoked_at=entry.get("revoked_at"),
            scope=entry.get("scope"),
        )
    return found


@dataclass(frozen=True)
class Imported:
    added: list[str]
    unchanged: list[str]
    conflicts: list[str]  # held in the database already, differently: left as they are


class IdentityStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        _TABLES.create_all(self.engine)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(CHANGES).values(id=1, version=0))
        except IntegrityError:
            pass  # another process made it first
        self._lock = threading.Lock()
        self._checked = float("-inf")  # time.monotonic() of the last look at the change counter
        self._version: int | None = None
        self._identities: dict[str, Identity] = {}
        self._by_key: dict[str, tuple[str, str]] = {}  # key id -> (identity id, sha256 of the secret)

    @property
    def where(self) -> str:
        """The database, without a password, for people to read."""
        return self.engine.url.render_as_string(hide_password=True)

    # ---- reading ---------------------------------------------------------------------------

    def identities(self, *, now: bool = False) -> dict[str, Identity]:
        """Every identity, re-read when the change counter moved (looked at every FRESH s at most;
        `now`: look at once, for a key or identity not known here yet: one just added)."""
        with self._lock:
            moment = time.monotonic()
            if now or moment - self._checked >= FRESH:
                with self.engine.connect() as conn:
                    version = conn.execute(select(CHANGES.c.version).where(CHANGES.c.id == 1)).scalar()
                    if version != self._version:
                        self._identities = _all(conn)
                        self._by_key = {
                            k["id"]: (i.id, k["sha256"]) for i in self._identities.values() if i.active for k in i.keys
                        }
                        self._version = version
                self._checked = moment
            return self._identities

    def by_key(self, key: str) -> Identity | None:
        """The active identity holding this API key, or None. Constant time in the secret."""
        identities = self.identities()
        match = _KEY.fullmatch(key.strip())
        key_id, secret = (match.group(1), match.group(2)) if match else ("", key)
        if match and key_id not in self._by_key:
            identities = self.identities(now=True)  # issued since the last look, perhaps
        owner, expected = self._by_key.get(key_id, ("", _DUMMY))
        ok = hmac.compare_digest(hashlib.sha256(secret.encode()).hexdigest(), expected)
        identity = identities.get(owner) if ok else None
        return identity if identity is not None and identity.active else None

    def admit(self, key: str | None, limiter: RateLimiter) -> Identity:
        """The caller of an HTTP request by its bearer key: 401 without a valid one, 429 over its
        share of the rate limit. Every HTTP face (the gateway, the codec server) asks here."""
        if not key:
            raise ApiProblem(401, "send an API key: Authorization: Bearer <key>", headers=BEARER)
        identity = self.by_key(key)
        if identity is None:
            raise ApiProblem(401, "the API key is unknown or revoked", headers=BEARER)
        limiter.admit(f"id:{identity.id}")
        return identity

    def by_password(self, identity_id: str, password: str) -> Identity | None:
        """The active identity if the password is its console password (slow on purpose)."""
        # A login is rare and slow already: it reads the newest identities (a password just set).
        identity = self.identities(now=True).get(identity_id)
        stored = identity.password if identity is not None and identity.active else None
        return identity if check_password(password, stored) and identity is not None else None

    # ---- writing (the CLI) -------------------------------------------------------------------

    def add(
        self,
        identity_id: str,
        role: Role,
        *,
        department: str | None = None,
        name: str | None = None,
        password: str | None = None,
        scope: str | None = None,
        key: bool | None = None,
    ) -> str | None:
        """Create an identity (or give an existing one of the same role another key or a new
        password). Returns the new API key, shown once, or None when only a password was set.
        `key`: issue a key beside the password too (the codec endpoint takes keys, not passwords);
        by default a key only when no password is given."""
        if not _ID.fullmatch(identity_id):
            raise IdentityError(
                f"identity id {identity_id!r}: 1-100 letters, digits or _.:@- starting with a letter or digit"
            )
        if role == Role.complainant:
            raise IdentityError(
                "role complainant: a complainant needs no identity; they reach their own case through the "
                "link in their SMS (COMPLAINTS_PUBLIC_URL/s/...)"
            )
        if role in (Role.handler, Role.community) and not department:
            raise IdentityError(
                f"role {role.value} needs --department (the department it acts for, or for community the community)"
            )
        scope = _checked_scope(scope)
        department = _unit_name(role, department, scope, strict=True)
        if password is not None and len(password) < MIN_PASSWORD:
            raise IdentityError(f"password: at least {MIN_PASSWORD} characters")
        with self._editing() as identities:
            now = _now()
            current = identities.get(identity_id)
            if current is None or not current.active:
                current = identities[identity_id] = Identity(
                    identity_id, role, department, name, created_at=now, scope=scope
                )
            elif (
                current.role != role
                or _unit_name(role, current.department, current.scope, strict=False) != department
                or current.scope != scope
            ):
                raise IdentityError(
                    f"identity {identity_id} exists as {current.role.value}"
                    + (f" of {current.department}" if current.department else "")
                    + (f" in {current.scope}" if current.scope else "")
                    + "; revoke it first to give it another role, department or scope"
                )
            current.department = department  # one made before units were named by their own name
            if name:
                current.name = name
            if password is not None:
                current.password = hash_password(password)
            if not (key if key is not None else password is None):
                return None
            key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
            current.keys.append(
                {"id": key_id, "sha256": hashlib.sha256(secret.encode()).hexdigest(), "created_at": now}
            )
            return f"{KEY_PREFIX}_{key_id}_{secret}"

    def revoke(self, identity_id: str) -> int:
        """End every key and the password of an identity at once; how many keys it had."""
        with self._editing() as identities:
            current = identities.get(identity_id)
            if current is None or not current.active:
                raise IdentityError(f"no active identity {identity_id}")
            count = len(current.keys)
            current.keys, current.password, current.revoked_at = [], None, _now()
            return count

    def import_file(self, path: Path) -> Imported:
        """Take in the identities of an earlier version's TOML file: new ones are added; one held
        already is left as it is (the same: unchanged; otherwise a conflict to settle by hand)."""
        given = read_file(path)
        added, unchanged, conflicts = [], [], []
        with self._editing() as identities:
            for ident, found in sorted(given.items()):
                held = identities.get(ident)
                found.department = _unit_name(found.role, found.department, found.scope, strict=False)
                if held is None:
                    identities[ident] = found
                    added.append(ident)
                elif held.as_row() == found.as_row():
                    unchanged.append(ident)
                else:
                    conflicts.append(ident)
        return Imported(added, unchanged, conflicts)

    @contextmanager
    def _editing(self) -> Iterator[dict[str, Identity]]:
        """Read, change and write in one transaction that first bumps the change counter, which
        locks out every other writer until it ends: two commands at once lose nothing."""
        with self.engine.begin() as conn:
            conn.execute(update(CHANGES).where(CHANGES.c.id == 1).values(version=CHANGES.c.version + 1))
            identities = _all(conn)
            before = {i: found.as_row() for i, found in identities.items()}
            yield identities
            for ident, found in identities.items():
                row = found.as_row()
                if before.get(ident) != row:
                    conn.execute(delete(IDENTITIES).where(IDENTITIES.c.id == ident))
                    conn.execute(insert(IDENTITIES).values(**row))
        self._checked = float("-inf")


def _all(conn: Connection) -> dict[str, Identity]:
    return {row.id: Identity.of_row(row) for row in conn.execute(select(IDENTITIES))}


def _checked_scope(scope: str | None) -> str | None:
    """A scope names a place of the city's tree (no scope: the whole tree)."""
    if scope is None:
        return None
    from models.tree import Level, nearest
    from starter.jurisdictions import tree

    city = tree()
    place = city.places.get(scope.strip())
    if place is None:
        near = nearest(scope, [f"{p.code} {p.name}" for p in city.places.values() if p.level != Level.grid])
        raise IdentityError(f"--scope: {scope!r} is no place code of the city's tree (nearest: {', '.join(near)})")
    if place.level == Level.grid:
        # Visibility lists filter on District, Street and Community: a grid is not one of them.
        raise IdentityError(f"--scope: {scope} is a grid; scope an identity to its community ({place.parent})")
    return place.code


def _unit_name(role: Role, department: str | None, scope: str | None, *, strict: bool) -> str | None:
    """A handler's or leader's unit by the unit's own name (starter.jurisdictions.unit_name).
    `strict`: a name of several units is refused, naming them; else (an import) kept as given."""
    from models.scope import UNIT_ROLES
    from models.tree import UnitProblem
    from starter.jurisdictions import unit_name

    if role not in UNIT_ROLES or not department:
        return department
    try:
        return unit_name(department, scope)
    except UnitProblem as err:
        if strict:
            raise IdentityError(f"--department: {err}; name it by its code, or give --scope") from None
        return department


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
