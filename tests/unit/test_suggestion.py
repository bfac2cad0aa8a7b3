"""The suggested unit (智能派单, issue 40 part 4), without a server: how a suggestion is decided,
what the case records of it, and how the district's model learns and is scored. The labelled
cases are made for the tests (tests/support/units.py): no public labelled corpus is available."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import CaseStatus, Complaint
from models.case import CaseState
from models.editions import Edition
from models.suggestion import Likely, SuggestedBy, Suggestion, decide, taken
from models.updates import Dispatch
from readmodel.unit_model import MIN_CASES, CannotLearn, Example, learn, routed_by
from starter import InvalidInput, jurisdictions, validate_case_input
from starter.cli.show import render
from tests.support.states import NOW
from tests.support.units import DISTRICT, UNITS, labelled

WATER, CITY = "光明区水务局", "光明区城市管理和综合执法局"
LIKELY = [Likely(unit=WATER, probability=0.8), Likely(unit=CITY, probability=0.15), Likely(unit="x", probability=0.05)]


def test_a_certain_model_suggests_its_first_unit_and_an_unsure_one_leaves_the_routing_table():
    sure = decide(LIKELY, CITY, threshold=0.41)
    assert (sure.unit, sure.by, sure.certainty, len(sure.likely)) == (WATER, SuggestedBy.model, 0.8, 3)
    unsure = decide(LIKELY, CITY, threshold=0.9)
    assert (unsure.unit, unsure.by) == (CITY, SuggestedBy.routing)
    assert unsure.why is not None and "把握不足" in unsure.why and unsure.likely == LIKELY  # shown, not chosen
    none = decide([], CITY, without_model=("只有 3 件已结案件", "3 closed cases"))
    assert (none.unit, none.by, none.why, none.why_en, none.likely) == (
        CITY, SuggestedBy.routing, "只有 3 件已结案件", "3 closed cases", [],
    )  # fmt: skip
    assert unsure.why_en is not None and "unsure" in unsure.why_en
    assert decide([], None).unit is None  # neither knows: the dispatcher chooses, as before


def test_a_dispatch_records_whether_it_took_the_suggestion():
    assert taken(Suggestion(unit=WATER, by=SuggestedBy.model), WATER) is True
    assert taken(Suggestion(unit=WATER, by=SuggestedBy.model), CITY) is False
    assert taken(Suggestion(unit=None, by=SuggestedBy.routing), CITY) is None
    assert taken(None, CITY) is None


def _complaint() -> Complaint:
    return Complaint.model_validate(
        {
            "channel": "hotline",
            "complainant": {"name": "陈女士", "phone": "13900000001"},
            "category": "urban_management",
            "title": "供水管道爆裂",
            "description": "水流满街",
            "location": {"district": "光明区", "street": "凤凰街道", "community": "塘家社区"},
        }
    )


@pytest.mark.parametrize(("unit", "took"), [(WATER, True), (CITY, False)])
def test_the_case_keeps_its_suggestion_and_its_first_dispatch_says_whether_it_took_it(unit, took):
    suggestion = decide(LIKELY, CITY)
    s = CaseState.receive("c1", _complaint(), "1030", NOW, suggestion=suggestion)
    assert s.suggestion == suggestion and s.suggestion_taken is None
    s.dispatch(Dispatch(actor={"id": "d", "role": "dispatcher"}, department=unit), NOW + timedelta(minutes=5))
    [event] = [e for e in s.timeline if e.kind == "dispatched"]
    assert event.detail["took_suggestion"] is took and event.detail["suggested"] == {"unit": WATER, "by": "model"}
    assert s.suggestion_taken is took
    shown = render(s)  # python -m starter show
    assert f"suggested unit {WATER} (model 80%)  {'taken' if took else 'not taken'}" in shown
    s.status = CaseStatus.received  # returned and dispatched again: the first dispatch is what counts
    s.dispatch(Dispatch(actor={"id": "d", "role": "dispatcher"}, department=CITY), NOW + timedelta(hours=1))
    assert s.suggestion_taken is took and "took_suggestion" not in s.timeline[-1].detail


def test_a_case_of_an_earlier_edition_keeps_no_suggestion():
    s = CaseState.receive("c1", _complaint(), "1030", NOW, Edition.first_complaints, suggestion=decide(LIKELY, CITY))
    assert s.suggestion is None
    s.dispatch(Dispatch(actor={"id": "d", "role": "dispatcher"}, department=WATER), NOW)
    assert "took_suggestion" not in s.timeline[-1].detail and s.suggestion_taken is None


def test_a_filing_that_brings_its_own_suggestion_is_refused_by_name():
    body = {"complaint": _complaint().model_dump(mode="json"), "suggestion": {"unit": WATER, "by": "model"}}
    with pytest.raises(InvalidInput, match="suggestion: set by the engine only") as err:
        validate_case_input(body)
    assert err.value.errors == [("suggestion", "set by the engine")]


def test_a_filing_without_a_model_is_suggested_the_routing_tables_unit(monkeypatch, tmp_path):
    monkeypatch.setenv("COMPLAINTS_DB_URL", f"sqlite:///{tmp_path / 'none.db'}")  # no table, no model
    filed = validate_case_input({"complaint": _complaint().model_dump(mode="json")})
    assert filed.suggestion is not None and (filed.suggestion.unit, filed.suggestion.by) == (CITY, SuggestedBy.routing)
    assert filed.suggestion.why  # says why: no model could be read


def test_the_model_beats_the_routing_table_on_two_thousand_cases_of_eight_units():
    cases = labelled(2000)
    assert len({c.unit for c in cases}) == len(UNITS) == 8
    examples = [Example(c.text, c.unit, c.category) for c in cases]
    pipeline, figures = learn(examples, routed_by(jurisdictions.tree(), DISTRICT))
    assert (figures.cases, figures.units, figures.held_out) == (2000, 8, 200)
    assert figures.routing_accuracy is not None and figures.accuracy > figures.routing_accuracy + 0.1
    assert figures.macro_precision > 0.8 and figures.macro_recall > 0.8
    assert all(a != b and n > 0 for a, b, n in figures.confused)
    assert pipeline.predict(["小区供水管道爆裂，水流满街"])[0] == WATER  # filed as 城市管理: the table says 城管


def test_too_few_cases_or_one_unit_teach_no_model():
    few = [Example(c.text, c.unit, c.category) for c in labelled(MIN_CASES - 1)]
    with pytest.raises(CannotLearn, match="至少需要"):
        learn(few)
    one = [Example(c.text, WATER, c.category) for c in labelled(200)]
    with pytest.raises(CannotLearn, match="同一个单位"):
        learn(one)


def test_a_huge_mixed_full_width_or_traditional_text_is_asked_like_any_other():
    """Bad input never fails a filing: the words are normalised and cut as the case row keeps them."""
    from datetime import datetime, timezone

    from readmodel.store import said_of
    from readmodel.unit_model import UnitModel

    cases = labelled(400)
    pipeline, _ = learn([Example(c.text, c.unit, c.category) for c in cases])
    model = UnitModel(DISTRICT, datetime.now(timezone.utc), {}, pipeline=pipeline)
    for text in [
        "供水管道爆裂" * 2000,
        "Water pipe burst 供水管道爆裂！！ 😡",
        "１２号楼供水管道爆裂",
        "供水管道爆裂，水流滿街",
        "。",
    ]:
        likely = model.likely(said_of(text, ""))
        assert len(likely) == 3 and likely[0].probability >= likely[1].probability >= likely[2].probability > 0
    assert model.likely(said_of("供水管道爆裂，水流滿街", ""))[0].unit == WATER  # traditional: simplified first
    assert UnitModel(DISTRICT, datetime.now(timezone.utc), {}, reason="too few").likely("x") == []
