"""Signed, short-lived addresses of evidence (issue 38): /v1/evidence/<token>, where the token
names the case, the blob, who asked for it and until when, signed with the links' keys
(COMPLAINTS_LINK_KEYS). Whoever holds the address may fetch it until it expires (10 minutes),
so it is handed only to identities that see the case's personal data in clear, and every fetch
is logged with the identity it was made for."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from runtime.keys import Keyring

LIFETIME = timedelta(minutes=10)


@dataclass(frozen=True)
class Grant:
    case_id: str
    digest: str
    identity: str  # whom the address was made for: the fetch is logged with it
    until: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(keyring: Keyring, grant: Grant) -> str:
    key_id = keyring.current
    body = json.dumps(
        {"c": grant.case_id, "d": grant.digest, "i": grant.identity, "u": int(grant.until.timestamp()), "k": key_id},
        separators=(",", ":"),
    ).encode()
    mac = hmac.new(keyring.keys[key_id], b"evidence\0" + body, hashlib.sha256).digest()
    return f"{_b64(body)}.{_b64(mac)}"


def grant(keyring: Keyring, case_id: str, digest: str, identity: str, now: datetime | None = None) -> str:
    until = (now or datetime.now(timezone.utc)) + LIFETIME
    return sign(keyring, Grant(case_id, digest, identity, until))


def opened(keyring: Keyring, token: str, now: datetime | None = None) -> Grant | None:
    """The grant a token carries, if it is ours, whole and not expired; else None (why is not told)."""
    try:
        body_text, mac_text = token.split(".", 1)
        body = _unb64(body_text)
        fields = json.loads(body)
        key = keyring.keys.get(fields["k"])
        if key is None or not hmac.compare_digest(
            hmac.new(key, b"evidence\0" + body, hashlib.sha256).digest(), _unb64(mac_text)
        ):
            return None
        until = datetime.fromtimestamp(int(fields["u"]), timezone.utc)
    except (ValueError, KeyError, TypeError):
        return None
    if (now or datetime.now(timezone.utc)) >= until:
        return None
    return Grant(str(fields["c"]), str(fields["d"]), str(fields["i"]), until)
