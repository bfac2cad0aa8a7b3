"""The case page's words (issue 37): a policy's durations, tracks and roles in Chinese, English on
request, from the one label table."""

from __future__ import annotations

import re

import pytest

from models import Role
from models.base import Track
from models.labels import Labels
from sla.durations import Duration, Unit


@pytest.mark.parametrize("unit", list(Unit))
@pytest.mark.parametrize("amount", [1, 10, 50])
def test_every_duration_a_policy_writes_is_said_in_chinese(unit, amount):
    written = str(Duration(amount, unit))  # as Milestone.duration holds it: "50 working days"
    zh = Labels("zh").spoken(written)
    assert zh.startswith(str(amount)) and not re.search(r"[A-Za-z]", zh), zh
    assert Labels("en").spoken(written) == written


def test_every_role_and_track_has_its_words():
    zh, en = Labels("zh"), Labels("en")
    for key in [*Role, *Track]:
        said = zh.role(key.value) if isinstance(key, Role) else zh.track(key.value)
        assert not re.search(r"[A-Za-z]", said), key
    assert en.role("supervisor") == "supervisor" and en.track("fast") == "fast"
