"""Bad input everywhere (hypothesis): always a clear error naming a field, never a stuck or
crashed workflow."""

from __future__ import annotations

import string
from datetime import datetime, timezone

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from models import CaseInput
from starter import InvalidInput, validate_case_input, validate_command
from starter.cases import UPDATES
from tests.support.cases import actor, complaint, eventually, milestone, new_id

NOW = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)
ODD_TEXT = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=10),
    st.just("\u202e\u200b\ufeff"),
    st.just("　"),
    st.just("x" * 6000),
    st.just("𠀀" * 300),
)
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ODD_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
WHEN = st.one_of(
    st.datetimes(timezones=st.just(timezone.utc)).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat()),  # no offset
    st.just("2026-13-40T25:61:00+08:00"),
    st.just("yesterday"),
    st.just("9999-12-31T23:59:59+00:00"),
    st.integers(),
    st.none(),
)


def field_or(valid, *bad):
    return st.one_of(st.just(valid), *bad)


@st.composite
def complaints(draw):
    """Mostly valid complaints with one or more fields spoiled."""
    c = complaint()
    c["channel"] = draw(field_or("hotline", ODD_TEXT, ANY_JSON, st.sampled_from(["grid_patrol", "fax"])))
    c["category"] = draw(field_or("property", ODD_TEXT, st.sampled_from(["noise", "PROPERTY", ""])))
    c["track"] = draw(field_or("routine", ODD_TEXT, st.integers()))
    c["title"] = draw(field_or("断水", ODD_TEXT, ANY_JSON))
    c["description"] = draw(field_or("说明", ODD_TEXT))
    c["complainant"] = draw(
        field_or(
            c["complainant"],
            st.none(),
            ANY_JSON,
            st.fixed_dictionaries(
                {"name": ODD_TEXT, "phone": st.one_of(ODD_TEXT, st.from_regex(r"1[0-9]{9,11}", fullmatch=True))}
            ),
        )
    )
    c["location"] = draw(
        field_or(
            c["location"],
            ANY_JSON,
            st.fixed_dictionaries({"district": ODD_TEXT, "street": ODD_TEXT, "community": ODD_TEXT}),
        )
    )
    if draw(st.booleans()):
        c["received_at"] = draw(WHEN)
    if draw(st.booleans()):
        c[draw(st.sampled_from(["priority", "extra", "id"]))] = draw(ANY_JSON)
    return {"complaint": c, "policy": draw(field_or("1030", st.sampled_from(["13710", "1031", 1030])))}


@st.composite
def commands(draw):
    update = draw(st.sampled_from(sorted(UPDATES)))
    fields = UPDATES[update].model_fields
    payload = {
        "actor": draw(
            field_or(
                actor("supervisor"),
                ANY_JSON,
                st.fixed_dictionaries(
                    {"id": ODD_TEXT, "role": st.sampled_from(["handler", "mayor", ""]), "department": ODD_TEXT}
                ),
            )
        )
    }
    for name in fields:
        if name != "actor" and draw(st.integers(0, 4)):
            payload[name] = draw(st.one_of(ANY_JSON, WHEN, ODD_TEXT))
    return update, payload


def _names_a_field(message: str) -> bool:
    return ":" in message and any(
        part in message
        for part in (
            "complaint",
            "policy",
            "actor",
            "carried",
            "max_history_events",
            "case_id",
            "update",
            *(f for model in UPDATES.values() for f in model.model_fields),
        )
    )


@settings(max_examples=400, deadline=None, derandomize=True)
@given(case_input=complaints())
def test_every_complaint_is_accepted_or_refused_by_name(case_input):
    try:
        validate_case_input(case_input, NOW)
    except InvalidInput as err:
        assert _names_a_field(str(err)), str(err)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(command=commands())
def test_every_update_payload_is_accepted_or_refused_by_name(command):
    update, payload = command
    try:
        validate_command(update, payload)
    except InvalidInput as err:
        assert _names_a_field(str(err)), str(err)


def _samples(strategy, n: int) -> list:
    """Draw examples to send to real workflows (hypothesis cannot drive an async test itself)."""
    drawn: list = []

    @settings(max_examples=n, deadline=None, derandomize=True, database=None)
    @given(strategy)
    def collect(value) -> None:
        drawn.append(value)

    collect()
    return drawn


async def _no_failed_tasks(client, case_id: str) -> None:
    history = await client.get_workflow_handle(case_id).fetch_history()
    failed = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
    assert not failed, f"{case_id}: a workflow task failed"


async def test_bad_complaints_sent_straight_to_the_workflow_fail_it_at_once(env, client):
    outcomes = {True: 0, False: 0}
    for case_input in _samples(complaints(), 30):
        case_id = new_id()
        await client.start_workflow("ComplaintCase", case_input, id=case_id, task_queue=client.task_queue)
        valid = _the_workflow_accepts(case_input, await env.get_current_time())  # the server's clock
        outcomes[valid] += 1
        if valid:  # accepted: it runs and answers
            await eventually(client, case_id, lambda s: milestone(s, "dispatch"))
        else:
            with pytest.raises(WorkflowFailureError) as err:
                await client.get_workflow_handle(case_id).result()
            cause = err.value.cause
            assert isinstance(cause, ApplicationError) and cause.type == "InvalidInput" and cause.non_retryable
            assert _names_a_field(cause.message), cause.message
        await _no_failed_tasks(client, case_id)
    assert outcomes[True] and outcomes[False], outcomes  # both paths were exercised


def _the_workflow_accepts(case_input: dict, now: datetime) -> bool:
    """What the workflow itself checks: the model, and a received_at not in the future."""
    try:
        parsed = CaseInput.model_validate(case_input)
    except pydantic.ValidationError:
        return False
    received = parsed.complaint.received_at
    return received is None or (received - now).total_seconds() <= 300


async def test_bad_updates_sent_straight_to_a_case_are_refused_and_change_nothing(client):
    case_id = new_id()
    await client.start_workflow("ComplaintCase", {"complaint": complaint()}, id=case_id, task_queue=client.task_queue)
    handle = client.get_workflow_handle(case_id)
    before = await eventually(client, case_id, lambda s: milestone(s, "acknowledge").done_at)
    for update, payload in _samples(commands(), 40):
        try:
            validate_command(update, payload)
            continue  # a valid command may legitimately change the case; only bad ones here
        except InvalidInput:
            pass
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await handle.execute_update(update, payload)
        assert isinstance(err.value.cause, ApplicationError) and err.value.cause.type == "InvalidInput"
    after = await eventually(client, case_id, lambda s: True)
    assert after.version == before.version and after.timeline == before.timeline
    await _no_failed_tasks(client, case_id)


@pytest.mark.parametrize("alphabet", [string.printable, "零一二三四五六七八九"])
def test_phone_numbers_of_any_shape(alphabet):
    @settings(max_examples=200, deadline=None, derandomize=True)
    @given(st.text(alphabet=alphabet, max_size=20))
    def check(phone):
        try:
            validate_case_input({"complaint": complaint(complainant={"name": "王", "phone": phone})}, NOW)
        except InvalidInput as err:
            assert "complaint.complainant.phone" in str(err)

    check()
