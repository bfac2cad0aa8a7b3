"""The complainant's phone never sits in the read model in clear: a keyed hash to match repeat
complaints, and a masked form (138****8000) for people to read."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from pathlib import Path

from runtime import logs

log = logs.get("privacy")


def normalize(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits


def phone_hash(phone: str, key: bytes) -> str:
    return hmac.new(key, normalize(phone).encode(), hashlib.sha256).hexdigest()


def mask(phone: str) -> str:
    digits = normalize(phone)
    if len(digits) == 11 and digits.startswith("1"):
        return f"{digits[:3]}****{digits[-4:]}"
    area = phone.split("-", 1)[0] if "-" in phone else digits[: 4 if digits[1] not in "12" else 3]
    local = digits[len(area) :]
    return f"{area}-{'*' * (len(local) - 4)}{local[-4:]}"


def load_key(secret: str | None, key_file: Path) -> bytes:
    """COMPLAINTS_PHONE_KEY, or a key kept in the data folder (created on first use, with a warning)."""
    if secret:
        return secret.encode()
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
        log.warning(
            "created a development phone-hash key; set COMPLAINTS_PHONE_KEY in production", key_file=str(key_file)
        )
    return key_file.read_text().strip().encode()


def mask_name(name: str) -> str:
    return name[:1] + "*" * max(len(name) - 1, 1)


def person_as_seen(name: str, phone: str, email: str | None, clear: bool) -> dict[str, object]:
    """A complainant as a caller may see them: in clear, or masked (GET /v1/cases/{id}, webhooks)."""
    return {
        "name": name if clear else mask_name(name),
        "phone": phone if clear else mask(phone),
        "email": email if clear or email is None else mask_name(email),
        "masked": not clear,
    }
