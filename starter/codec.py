"""Personal data never sits in clear in Temporal: every payload (complaints, names, phones,
descriptions, notes, case states) is encrypted with AES-GCM before it leaves the process.

Keys have ids, written in each payload's metadata, so keys can be rotated: new payloads use the
current key, and every key still listed decrypts what it once encrypted.

A payload is compressed (zlib) before it is encrypted when that makes it smaller: case states,
snapshots and complaints are JSON with the same keys over and over, and histories are the
cluster's storage (a closed case's history shrinks about four times). The metadata says so;
payloads written without it decode as they always did. The keys come from
COMPLAINTS_CODEC_KEYS ("id:base64key,id2:base64key", the first is current) or, for development,
from a key file in the data folder, created on first use with a warning.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from runtime import keys, logs
from runtime.keys import Keyring

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
COMPRESSION = "encryption-compression"
ZLIB = b"zlib"
COMPRESS_FROM = 200  # bytes; below this zlib rarely wins
log = logs.get("codec")


def load_keyring(setting: str | None, key_file: Path) -> Keyring:
    """COMPLAINTS_CODEC_KEYS, or a development key file (created on first use, with a warning)."""
    return keys.load(setting, key_file, setting_name="COMPLAINTS_CODEC_KEYS", what="encryption")


class EncryptionCodec(PayloadCodec):
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keyring.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        key_id = self.keyring.current
        cipher = self._ciphers[key_id]
        out = []
        for p in payloads:
            nonce = os.urandom(12)
            plain = p.SerializeToString()
            metadata = {"encoding": ENCODING, KEY_ID: key_id.encode()}
            if len(plain) >= COMPRESS_FROM:
                packed = zlib.compress(plain, 6)
                if len(packed) < len(plain):
                    plain, metadata[COMPRESSION] = packed, ZLIB
            out.append(Payload(metadata=metadata, data=nonce + cipher.encrypt(nonce, plain, None)))
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for p in payloads:
            if p.metadata.get("encoding") != ENCODING:
                out.append(p)  # written before encryption was on (old histories)
                continue
            key_id = p.metadata.get(KEY_ID, b"").decode()
            cipher = self._ciphers.get(key_id)
            if cipher is None:
                raise ValueError(f"payload encrypted with key {key_id!r}, which this keyring does not hold")
            plain = cipher.decrypt(p.data[:12], p.data[12:], None)
            compression = p.metadata.get(COMPRESSION)
            if compression == ZLIB:
                plain = zlib.decompress(plain)
            elif compression is not None:
                raise ValueError(f"payload compressed with {compression!r}, which this codec cannot undo")
            out.append(Payload.FromString(plain))
        return out


class ReplayCodec(EncryptionCodec):
    """Decrypts what a history holds; leaves what replay produces (and throws away) unencrypted."""

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)


def payloads_from_json(body: bytes) -> list[Payload]:
    """The codec server's wire format: {"payloads": [{"metadata": {k: base64}, "data": base64}]}."""
    from google.protobuf import json_format
    from temporalio.api.common.v1 import Payloads

    return list(json_format.Parse(body, Payloads()).payloads)


def payloads_to_json(payloads: list[Payload]) -> str:
    from google.protobuf import json_format
    from temporalio.api.common.v1 import Payloads

    return json_format.MessageToJson(Payloads(payloads=payloads))


def keyring_from_settings() -> Keyring:
    from runtime import settings

    config = settings.load()
    return load_keyring(config.codec_keys, config.codec_key_file)


__all__ = ["EncryptionCodec", "Keyring", "ReplayCodec", "keyring_from_settings", "load_keyring"]
