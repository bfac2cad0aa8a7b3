"""Console sessions: a signed cookie naming the identity, when it ends and its CSRF token.

The cookie is HttpOnly and SameSite=Strict, and Secure when the console is reached over HTTPS.
Every request re-reads the identity, so a revoked identity or a changed role ends its sessions at
once. The signing key is COMPLAINTS_CONSOLE_SECRET, else a random key kept in the data folder
(mode 0600), so every gateway process of one installation accepts the same sessions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COOKIE = "console_session"
LOGIN_COOKIE = "console_login"  # the login form's CSRF token, before there is a session
FLASH_COOKIE = "console_flash"  # what became of a form, shown once by the page it redirects to
LIFETIME = 8 * 3600  # a shift at the command centre


@dataclass(frozen=True)
class Session:
    identity: str
    csrf: str
    expires: int


def secret_from(configured: str | None, data_dir: Path) -> bytes:
    if configured:
        return configured.encode()
    path = data_dir / "console-secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(32))
    return path.read_text().strip().encode()


class Sessions:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _sign(self, body: bytes) -> str:
        return hmac.new(self._key, body, hashlib.sha256).hexdigest()

    def issue(self, identity: str) -> tuple[str, Session]:
        session = Session(identity, secrets.token_urlsafe(24), int(time.time()) + LIFETIME)
        return self.seal(dict(session.__dict__)), session

    def seal(self, data: dict[str, object]) -> str:
        """Any small data, signed: a flash message carried across a redirect, say."""
        body = base64.urlsafe_b64encode(json.dumps(data, ensure_ascii=False).encode())
        return f"{body.decode()}.{self._sign(body)}"

    def unseal(self, value: str | None) -> dict[str, object] | None:
        if not value or "." not in value:
            return None
        body, signature = value.rsplit(".", 1)
        if not hmac.compare_digest(signature, self._sign(body.encode())):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(body))
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def read(self, cookie: str | None) -> Session | None:
        """The session a cookie carries, or None when it is missing, forged or expired."""
        data: dict[str, Any] = self.unseal(cookie) or {}
        try:
            session = Session(str(data["identity"]), str(data["csrf"]), int(data["expires"]))
        except (KeyError, TypeError, ValueError):
            return None
        return session if session.expires > time.time() else None


def same_token(sent: str | None, expected: str | None) -> bool:
    return bool(sent) and bool(expected) and hmac.compare_digest(str(sent), str(expected))
