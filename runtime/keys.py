"""Keys with ids, so they can be rotated: the first of a keyring is current (it encrypts or signs),
every key still listed reads what it once wrote. Set as "id:base64key,id2:base64key"; for
development, a key file in the data folder is made on first use, with a warning."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from pathlib import Path

from runtime import logs

log = logs.get("keys")


@dataclass(frozen=True)
class Keyring:
    current: str
    keys: dict[str, bytes]

    @classmethod
    def parse(cls, text: str, setting_name: str = "COMPLAINTS_CODEC_KEYS") -> Keyring:
        """'id:base64key,id2:base64key': the first encrypts, all decrypt."""
        keys: dict[str, bytes] = {}
        order = []
        for item in filter(None, (part.strip() for part in text.split(","))):
            key_id, _, encoded = item.partition(":")
            try:
                key = base64.b64decode(encoded, validate=True)
            except ValueError:
                raise ValueError(f"{setting_name}: key {key_id!r} is not base64") from None
            if len(key) not in (16, 24, 32):
                raise ValueError(f"{setting_name}: key {key_id!r} must be 16, 24 or 32 bytes, not {len(key)}")
            keys[key_id] = key
            order.append(key_id)
        if not keys:
            raise ValueError(f"{setting_name}: no keys")
        return cls(current=order[0], keys=keys)

    def format(self) -> str:
        ordered = [self.current] + [k for k in self.keys if k != self.current]
        return ",".join(f"{k}:{base64.b64encode(self.keys[k]).decode()}" for k in ordered)

    @classmethod
    def generate(cls, key_id: str) -> Keyring:
        return cls(current=key_id, keys={key_id: secrets.token_bytes(32)})

    def rotated(self, new_id: str) -> Keyring:
        """A new current key; the old ones stay to decrypt what they encrypted."""
        return Keyring(current=new_id, keys={new_id: secrets.token_bytes(32), **self.keys})


def load(setting: str | None, key_file: Path, *, setting_name: str, what: str) -> Keyring:
    """The keyring a setting names, or the development key file (made on first use)."""
    if setting:
        return Keyring.parse(setting, setting_name)
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(Keyring.generate("dev-1").format())
        key_file.chmod(0o600)
        log.warning(f"created a development {what} key; set {setting_name} in production", key_file=str(key_file))
    return Keyring.parse(key_file.read_text().strip(), setting_name)
