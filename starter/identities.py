"""Who may call the gateway: identities with a role, API keys stored only as hashes, and console
passwords as a slow salted hash. Kept in one TOML file (COMPLAINTS_IDENTITIES_FILE) that the
`python -m starter identity` commands write and the gateway re-reads when it changes, so a
revocation takes effect on the next request.

An API key reads `cck_<key id>_<secret>`: the key id finds the stored hash, the secret's SHA-256
is compared in constant time. The secret has 256 random bits, so a fast hash is enough for keys
(as for any high-entropy token); passwords, chosen by people, get scrypt.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import os
import re
import secrets
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import tomli_w

from models import Actor, Role
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

    def as_toml(self) -> dict[str, object]:
        data: dict[str, object] = {"role": self.role.value, "created_at": self.created_at, "keys": self.keys}
        for name in ("department", "name", "password", "revoked_at", "scope"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        return data


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


class IdentityStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int] | None = None
        self._identities: dict[str, Identity] = {}
        self._by_key: dict[str, tuple[str, str]] = {}  # key id -> (identity id, sha256 of the secret)

    # ---- reading ---------------------------------------------------------------------------

    def identities(self) -> dict[str, Identity]:
        """Every identity in the file, re-read whenever the file changed."""
        try:
            stat = self.path.stat()
            seen: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            seen = None
        if seen != self._seen or seen is None:
            self._identities = self._read() if seen else {}
            self._by_key = {k["id"]: (i.id, k["sha256"]) for i in self._identities.values() if i.active for k in i.keys}
            self._seen = seen
        return self._identities

    def _read(self) -> dict[str, Identity]:
        with self.path.open("rb") as f:
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

    def by_key(self, key: str) -> Identity | None:
        """The active identity holding this API key, or None. Constant time in the secret."""
        identities = self.identities()
        match = _KEY.fullmatch(key.strip())
        key_id, secret = (match.group(1), match.group(2)) if match else ("", key)
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
        identity = self.identities().get(identity_id)
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
        if password is not None and len(password) < MIN_PASSWORD:
            raise IdentityError(f"password: at least {MIN_PASSWORD} characters")
        with self._editing() as identities:
            now = _now()
            current = identities.get(identity_id)
            if current is None or not current.active:
                current = identities[identity_id] = Identity(
                    identity_id, role, department, name, created_at=now, scope=scope
                )
            elif current.role != role or current.department != department or current.scope != scope:
                raise IdentityError(
                    f"identity {identity_id} exists as {current.role.value}"
                    + (f" of {current.department}" if current.department else "")
                    + (f" in {current.scope}" if current.scope else "")
                    + "; revoke it first to give it another role, department or scope"
                )
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

    @contextmanager
    def _editing(self) -> Iterator[dict[str, Identity]]:
        """Read, change and write the file under a lock, atomically: two commands at once lose nothing."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            identities = self._read() if self.path.exists() else {}
            yield identities
            text = (
                "# Identities of the complaints gateway, written by `python -m starter identity`.\n"
                "# API keys are stored only as SHA-256 hashes, passwords as scrypt hashes.\n"
                + tomli_w.dumps({"identity": {i.id: i.as_toml() for i in identities.values()}})
            )
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.chmod(0o600)
            os.replace(tmp, self.path)
        self._seen = None


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


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
