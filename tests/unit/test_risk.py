"""Strong signals in what people say (issue 40, models/risk.py and the shipped runtime/config/risk.toml)."""

from __future__ import annotations

import json

import pytest

from models.risk import RiskLevel, RiskRuleError, RiskRules, normalise
from runtime.settings import CONFIG_DIR
from starter.cli import main
from starter.risk import load

RULES = load(CONFIG_DIR / "risk.toml")


@pytest.mark.parametrize(
    ("text", "level", "rules"),
    [
        # The two texts.
        ("讨薪无果，几十名工人准备明天去区政府门口拉横幅", RiskLevel.orange, {"group_action", "collective_act"}),
        ("再不解决我就从楼上跳下去", RiskLevel.red, {"life"}),
        # The same, in traditional characters, and with full-width digits.
        ("再不解決我就從樓上跳下去", RiskLevel.red, {"life"}),
        ("３０名工人聚集在厂门口讨薪", RiskLevel.orange, {"group_action", "collective_act"}),
        ("楼道里闻到很大的煤气味", RiskLevel.red, {"public_danger"}),
        ("他扬言报复，还拿着刀在楼下转", RiskLevel.red, {"public_danger", "escalating"}),
        ("业主说要找媒体曝光", RiskLevel.yellow, {"escalating"}),
    ],
)
def test_a_strong_signal_is_found_with_its_reasons(text, level, rules):
    found = RULES.assess(text)
    assert found.level == level
    assert {r.rule for r in found.reasons} == rules
    assert found.reasons[0].level == level and all(r.reason and r.reason_en and r.matched for r in found.reasons)


@pytest.mark.parametrize(
    "text",
    [
        "社区开展防止轻生宣传活动，效果不错",  # an exclusion in the same clause
        "我不会跳楼的，只是楼下噪音太大",  # a negation right before the words
        "小区消防演练时模拟起火",
        "路灯坏了，晚上很黑",
        "十几名工人在工地正常上班",  # a group, but no act
        "",
    ],
)
def test_no_signal_where_there_is_none(text):
    assert RULES.assess(text).level is None


def test_an_exclusion_reaches_its_own_clause_only():
    """防止轻生宣传 in one clause does not cancel a threat in the next."""
    found = RULES.assess("社区在搞防止轻生宣传。我再不拿到钱就跳楼")
    assert found.level == RiskLevel.red and found.reasons[0].matched == "跳楼"


def test_any_text_is_judged_without_failing():
    assert RULES.assess("x" * 200_000 + "跳楼").level == RiskLevel.red
    assert RULES.assess("Ｈｅｌｌｏ，English and 中文 mixed ١٢٣ 🙂").level is None
    assert RULES.assess(None, "标题", None).level is None
    assert normalise("１２ 名 工人") == "12名工人"


@pytest.mark.parametrize(
    ("rule", "names"),
    [
        ({"id": "x", "level": "red", "reason": "r", "reason_en": "r", "patterns": ["(跳楼"]}, "'x': patterns: '(跳楼'"),
        ({"id": "x", "level": "purple", "reason": "r", "reason_en": "r", "patterns": ["a"]}, "'x': level"),
        ({"id": "x", "level": "red", "reason_en": "r", "patterns": ["a"]}, "'x': reason is missing"),
        ({"id": "x", "level": "red", "reason": "r", "reason_en": "r", "patterns": []}, "'x': patterns is missing"),
        ({"id": "x", "level": "red", "reason": "r", "reason_en": "r", "patterns": ["a"], "colour": 1}, "'colour'"),
        ({"level": "red", "reason": "r", "reason_en": "r", "patterns": ["a"]}, "id is missing"),
    ],
)
def test_a_rule_that_cannot_be_used_is_refused_naming_it(rule, names):
    with pytest.raises(RiskRuleError, match="rule") as err:
        RiskRules.parse({"rule": [rule]}, "my-rules.toml")
    assert names in str(err.value) and "my-rules.toml" in str(err.value)


def test_an_id_used_twice_is_refused():
    rule = {"id": "x", "level": "red", "reason": "r", "reason_en": "r", "patterns": ["a"]}
    with pytest.raises(RiskRuleError, match="'x': id is used twice"):
        RiskRules.parse({"rule": [rule, rule]})


def test_supervisors_try_a_text_without_filing_it(capsys, tmp_path):
    assert main(["risk", "check", "再不解决我就从楼上跳下去"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("红色 red") and "扬言轻生" in out and "threatens their own life" in out
    assert main(["risk", "check", "--json", "路灯坏了"]) == 0
    assert json.loads(capsys.readouterr().out) == {"level": None, "reasons": []}
    bad = tmp_path / "risk.toml"
    bad.write_text('[[rule]]\nid = "life"\nlevel = "red"\nreason = "r"\nreason_en = "r"\npatterns = ["(跳"]\n')
    assert main(["risk", "check", "--rules", str(bad), "跳楼"]) == 2
    assert "rule 'life': patterns" in capsys.readouterr().err


def test_a_red_complaint_entered_late_is_owed_its_response_from_when_the_engine_was_told():
    """Edition 13: the duty leader's 30 minutes count from the case's start, not from when the
    complaint was taken in an hour before; an earlier edition's case keeps the old count."""
    from datetime import timedelta

    from models import Complaint
    from models.case import CaseState
    from models.editions import Edition
    from models.risk import RiskLevel, RiskMark
    from tests.support.states import NOW

    COMPLAINT = Complaint.model_validate(
        {"channel": "hotline", "complainant": {"name": "陈女士", "phone": "13900000001"}, "category": "property",
         "title": "楼顶", "description": "再不解决我就从楼上跳下去",
         "location": {"district": "光明区", "street": "凤凰街道", "community": "塘家社区"}}
    )  # fmt: skip

    red = RiskMark(level=RiskLevel.red)
    taken_in, entered = NOW, NOW + timedelta(hours=1)
    now_rule = CaseState.receive("c1", COMPLAINT, "1030", taken_in, risk=red).accept(entered)
    old_rule = CaseState.receive("c2", COMPLAINT, "1030", taken_in, Edition.evidence, risk=red).accept(entered)
    assert [p.at for p in now_rule.plans if p.anchor == "risk_red"] == [entered]
    assert [p.at for p in old_rule.plans if p.anchor == "risk_red"] == [taken_in]
