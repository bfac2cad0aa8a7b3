"""An identity can hold a console password and an API key at once: the console takes the one, the
codec endpoint for the Web UI the other (issue 37)."""

from __future__ import annotations

from models import Role
from runtime.http import RateLimiter
from starter.identities import IdentityStore


def test_a_password_alone_gives_no_key_and_with_key_gives_both(tmp_path):
    store = IdentityStore(f"sqlite:///{tmp_path / 'identities.db'}")
    assert store.add("sup-a", Role.supervisor, password="a long enough password") is None
    key = store.add("sup-b", Role.supervisor, password="another long password", key=True)
    assert key is not None
    assert store.by_password("sup-b", "another long password") is not None
    assert store.admit(key, RateLimiter(rate=100, burst=100)).id == "sup-b"
    assert store.add("sup-c", Role.supervisor) is not None  # no password: a key, as before
