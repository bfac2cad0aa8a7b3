"""The links in the SMS a complainant gets: {COMPLAINTS_PUBLIC_URL}/s/{token}.

A token is the engine's signature (HMAC-SHA-256 with a key of COMPLAINTS_LINK_KEYS) over the
case and the link's purpose, cut to 24 URL-safe characters (144 bits). The read model keeps which
case a token's SHA-256 stands for and which key made it; opening a link finds that row, signs
the case and purpose again with that key and compares in constant time, so neither a guessed
token nor a row written without the key opens anything. Keys rotate like the codec's: the first
signs, every key still listed opens what it signed. A link opens until 30 days after its case
closes (sla.policies.LINK_OPEN_AFTER_CLOSE).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from runtime.keys import Keyring
from sla.policies import LINK_OPEN_AFTER_CLOSE

COMPLAINANT = "complainant"  # the complainant's own page of their case
TOKEN_LENGTH = 24
TOKEN = re.compile(rf"[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}")
_IN_TEXT = re.compile(rf"/s/[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def redact(text: str) -> str:
    """A text as logs and the outbox keep it: every link's secret part left out."""
    return _IN_TEXT.sub("/s/…", text)


@dataclass(frozen=True)
class Link:
    token: str
    case_id: str
    purpose: str
    key_id: str


class Links:
    def __init__(self, keyring: Keyring, public_url: str) -> None:
        self.keyring = keyring
        self.public_url = public_url.rstrip("/")

    def _sign(self, key_id: str, case_id: str, purpose: str) -> str:
        mac = hmac.new(self.keyring.keys[key_id], f"link\0{purpose}\0{case_id}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode()[:TOKEN_LENGTH]

    def make(self, case_id: str, purpose: str = COMPLAINANT) -> Link:
        """The link of a case for a purpose, signed with the current key (the same every time)."""
        key_id = self.keyring.current
        return Link(self._sign(key_id, case_id, purpose), case_id, purpose, key_id)

    def url(self, link: Link) -> str:
        return f"{self.public_url}/s/{link.token}"

    def genuine(self, token: str, case_id: str, purpose: str, key_id: str) -> bool:
        """Whether the token is this engine's signature of that case and purpose with that key."""
        if key_id not in self.keyring.keys or not TOKEN.fullmatch(token):
            return False
        return hmac.compare_digest(self._sign(key_id, case_id, purpose), token)

    @staticmethod
    def still_open(closed_at: datetime | None, now: datetime | None = None) -> bool:
        """Open while the case is, and until LINK_OPEN_AFTER_CLOSE after it closed."""
        if closed_at is None:
            return True
        return (now or datetime.now(timezone.utc)) < closed_at + LINK_OPEN_AFTER_CLOSE
