"""The payload codec: a round trip, compression before encryption, key ids and rotation, and the
keyring setting refused naming what is wrong."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload

from starter.codec import COMPRESSION, ENCODING, EncryptionCodec, Keyring, ReplayCodec, load_keyring


async def test_roundtrip_and_key_ids():
    ring = Keyring.generate("k1")
    codec = EncryptionCodec(ring)
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b"13800138000")
    [sealed] = await codec.encode([plain])
    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata["encryption-key-id"] == b"k1"
    assert b"13800138000" not in sealed.SerializeToString()
    assert await codec.decode([sealed]) == [plain]
    assert await codec.decode([plain]) == [plain]  # unencrypted (older) payloads pass through
    with pytest.raises(ValueError, match="key 'k1', which this keyring does not hold"):
        await EncryptionCodec(Keyring.generate("k2")).decode([sealed])


async def test_large_payloads_are_compressed_before_they_are_encrypted():
    codec = EncryptionCodec(Keyring.generate("k1"))
    state = json.dumps({"milestones": [{"name": "reply", "breached": False, "warned": False}] * 40}).encode()
    big = Payload(metadata={"encoding": b"json/plain"}, data=state)
    small = Payload(metadata={"encoding": b"json/plain"}, data=b'"13800138000"')
    [packed, left] = await codec.encode([big, small])
    assert packed.metadata[COMPRESSION] == b"zlib" and len(packed.data) < len(big.data) / 4
    assert COMPRESSION not in left.metadata  # too small to gain
    assert state not in packed.data and b"milestones" not in packed.data  # compressed, then encrypted
    assert await codec.decode([packed, left]) == [big, small]
    # Replay reads what the history holds and does not encrypt what it throws away.
    replaying = ReplayCodec(codec.keyring)
    assert await replaying.decode([packed]) == [big] and await replaying.encode([big]) == [big]
    # (What was written before compression carries no such metadata and decodes as it always did:
    # `left` above is such a payload.)
    odd = Payload(metadata={**packed.metadata, COMPRESSION: b"lz4"}, data=packed.data)
    with pytest.raises(ValueError, match="lz4"):
        await codec.decode([odd])


async def test_rotation_keeps_old_payloads_readable():
    old = Keyring.generate("2026-a")
    [sealed] = await EncryptionCodec(old).encode([Payload(data=b"x")])
    rotated = old.rotated("2026-b")
    assert rotated.current == "2026-b" and Keyring.parse(rotated.format()) == rotated
    [fresh] = await EncryptionCodec(rotated).encode([Payload(data=b"y")])
    assert fresh.metadata["encryption-key-id"] == b"2026-b"
    assert (await EncryptionCodec(rotated).decode([sealed]))[0].data == b"x"


def test_keyring_setting_errors_and_dev_key(tmp_path: Path):
    with pytest.raises(ValueError, match="not base64"):
        Keyring.parse("k1:???")
    with pytest.raises(ValueError, match="16, 24 or 32 bytes"):
        Keyring.parse("k1:" + base64.b64encode(b"short").decode())
    key_file = tmp_path / "codec-keys"
    first = load_keyring(None, key_file)
    assert key_file.exists() and load_keyring(None, key_file) == first  # made once, then kept
