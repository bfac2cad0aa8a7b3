"""The timeline as sentences (issue 37): every kind of event the case records has a sentence,
every field it records is said or deliberately left unsaid, and a Chinese sentence carries no
English label, no raw field name and no Python literal. The fields are read from the code that
records them, so a new field fails here before it reaches a page raw."""

from __future__ import annotations

import re
from typing import Any

import pytest

from models import labels
from models.labels import Labels
from models.sentences import CLAUSES, SENTENCES, SILENT, say
from tests.support.words import ADDED_LATER, english_in, recorded


def fields_of(template: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", template))


def test_the_scan_finds_the_events():
    kinds = recorded()
    assert {"received", "dispatched", "breach", "agreement_reached", "notice_failed"} <= set(kinds)
    assert {"from_department", "to_department", "explanation"} <= kinds["transferred"]


def test_every_kind_recorded_has_a_label_and_a_sentence():
    for kind in recorded():
        assert kind in labels.EVENTS, kind
        assert kind in SENTENCES, kind
    for key in SENTENCES:
        assert key.partition(":")[0] in labels.EVENTS, key


@pytest.mark.parametrize("kind", sorted(recorded()))
def test_every_field_recorded_is_said_or_left_unsaid_on_purpose(kind):
    said = set().union(*(fields_of(SENTENCES[k][0]) for k in SENTENCES if k.partition(":")[0] == kind))
    for field in recorded()[kind] | ADDED_LATER:
        assert field in said or field in CLAUSES or field in SILENT, f"{kind}.{field} would not be said"


SAMPLES: dict[str, Any] = {
    "channel": "hotline",
    "title": "井盖松动",
    "location": {"district": "光明区", "street": "凤凰街道", "community": "塘家社区"},
    "place": {"city": "440300", "district": "440311"},
    "unplaced": True,
    "station": "光明湖碧道驿站",
    "to": "complainant",
    "department": "区水务局",
    "departments": ["区水务局", "区城市管理和综合执法局"],
    "from_department": "区教育局",
    "to_department": "区水务局",
    "explanation": "属供水问题",
    "code": "440311001001",
    "members": ["gm-0123", "gm-0456"],
    "digest": "ab" * 32,
    "evidence": "photo",
    "purpose": "after",
    "media_type": "image/jpeg",
    "size": 123456,
    "thumbnail": "cd" * 32,
    "duration_seconds": 61.5,
    "original": "ef" * 32,
    "box": [0.1, 0.1, 0.5, 0.5],
    "task_id": "gm-0789",
    "took_suggestion": True,
    "suggested": {"unit": "区水务局", "by": "model"},
    "previous": "440311001",
    "note": "已电话沟通",
    "reached": False,
    "findings": "属实",
    "message": "已修复",
    "handling": "更换井盖",
    "next_steps": "定期巡查",
    "reason": "resolve deadline 2026-11-25T06:00:00+00:00 passed",
    "until": "2026-12-01T06:00:00+00:00",
    "previous_due_at": "2026-11-25T06:00:00+00:00",
    "due_at": "2026-11-28T06:00:00+00:00",
    "why": "the resolve deadline passed before the decision",
    "resolution": "已更换",
    "satisfaction": "basically_satisfied",
    "resolved": False,
    "outcome": "applied",
    "reopen_count": 2,
    "milestone": "report_in:区水务局",
    "leader": {"id": "ld-zhang", "name": "张副区长"},
    "replaces": "ld-li",
    "notice_no": "2026-017",
    "meet_at": "2026-11-26T01:00:00+00:00",
    "case_id": "gm-20261125-0001",
    "received_at": "2026-11-20T01:00:00+00:00",
    "closed_at": "2026-11-21T01:00:00+00:00",
    "into": "gm-20261125-0002",
    "recipient": "complainant",
    "notice_kind": "acknowledged",
    "error": "短信网关超时",
    "dispute_kind": "tenancy",
    "applicants": 1,
    "respondents": 1,
    "amount": 3200.0,
    "filed_as_dispute": True,
    "mediator": {"id": "hong", "name": "虹姐", "organisation": "虹姐调解工作室"},
    "session": 1,
    "session_at": "2026-11-26T02:00:00+00:00",
    "attended": [1, 2],
    "days": 15,
    "agreement": 1,
    "form": "oral",
    "terms": "房东当日恢复供水",
    "effective_at": "2026-11-26T03:00:00+00:00",
    "obligations": [{"party": 2, "what": "恢复供水", "due_at": "2026-11-27T03:00:00+00:00"}],
    "lapsed": True,
    "obligation": 1,
    "honoured": False,
    "road": "civil_litigation",
    "limitation_ends": "2029-11-26",
    "known_since": "2026-11-26",
    "party": 2,
    "side": "respondent",
    "milestones": [
        {"name": "reply", "due_at": "2026-11-25T06:00:00+00:00", "met": True},
        {"name": "contact", "due_at": "2026-11-24T06:00:00+00:00", "met": False},
    ],
    "moved": [{"milestone": "resolve", "from": "2026-11-25T06:00:00+00:00", "to": "2026-11-27T06:00:00+00:00"}],
    "settled": [{"name": "follow_up", "how": "closed"}, {"name": "opinion", "how": "missed"}],
    "level": "red",
    "previous_level": "orange",
    "reasons": [
        {
            "rule": "life",
            "level": "red",
            "reason": "扬言轻生",
            "reason_en": "threatens their own life",
            "matched": "跳下去",
        }
    ],
    "mode": "on_site",
    "repeat_case_id": "gm-20261126-0001",
}


def every_event() -> list[tuple[str, dict[str, Any]]]:
    events = []
    for kind, fields in sorted(recorded().items()):
        events.append((kind, {f: SAMPLES[f] for f in fields | ADDED_LATER if f in SAMPLES}))
    events.append(("closed", {"outcome": "withdrawn"}))
    events.append(("acknowledged", {"to": "nobody: grid patrol"}))
    events.append(("repeat_of", {"case_id": "gm-1"}))
    return events


def test_every_sample_field_is_known():
    for kind, fields in recorded().items():
        for field in fields:
            assert field in SAMPLES, f"{kind}.{field}: add a sample value"


@pytest.mark.parametrize(("kind", "detail"), every_event(), ids=lambda v: v if isinstance(v, str) else "")
def test_a_chinese_sentence_has_no_english_label_field_name_or_literal(kind, detail):
    sentence = say(kind, detail, Labels("zh"))
    assert sentence and not sentence.startswith(kind)
    for literal in ("True", "False", "None", "{", "}", "'"):
        assert literal not in sentence, (literal, sentence)
    english = english_in(sentence)
    assert not english, (english, sentence)
    fields = [f for f in [*detail, *SAMPLES] if "_" in f and f in sentence]
    assert not fields, (fields, sentence)
    # Every sample is in Chinese, an id or a number: nothing in Latin letters but ids.
    latin = re.findall(r"[A-Za-z]{2,}", re.sub(r"gm-[\w-]+|ld-\w+|hong", "", sentence))
    assert not latin, (latin, sentence)


@pytest.mark.parametrize(("kind", "detail"), every_event(), ids=lambda v: v if isinstance(v, str) else "")
def test_an_english_sentence_is_english(kind, detail):
    sentence = say(kind, detail, Labels("en"))
    assert sentence and not re.search(r"[，；：]", sentence), sentence
    assert "True" not in sentence and "None" not in sentence


def test_sentences_say_the_promise_and_the_moment_in_beijing_time():
    replied = say("replied", {"message": "已修复", "milestones": SAMPLES["milestones"]}, Labels("zh"))
    assert replied == "答复诉求人：已修复；按时完成：答复；超时完成：联系诉求人"
    breach = say("breach", {"milestone": "resolve", "due_at": "2026-11-25T06:00:00+00:00"}, Labels("zh"))
    assert breach == "办结已超时（时限2026-11-25 14:00）"
    assert say("dispatched", {"department": "区水务局"}, Labels("en")) == "Dispatched to 区水务局"
    contacted = say("contacted", {"note": "无人接听", "reached": False}, Labels("zh"))
    assert contacted == "联系诉求人未果：无人接听"


@pytest.mark.parametrize("status", [s.value for s in __import__("models").CaseStatus])
def test_every_status_has_its_words_for_people_and_for_the_public(status):
    """One table of status words (issue 36): the dispute's four statuses reach Open311 in words
    too, never as the engine's key."""
    for lang in ("zh", "en"):
        words = Labels(lang)
        assert words.status(status) != status or lang == "en"
        told = words.public_status(status, department="区水务局", merged_into="c-1")
        assert told and "{" not in told and (told != status or lang == "en")
    assert not re.search(r"[A-Za-z]{3,}", Labels("zh").public_status(status, department="区水务局"))
