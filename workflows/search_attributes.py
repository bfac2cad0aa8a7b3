"""The case's search attributes: what supervisors filter on in Temporal visibility and its Web UI.

Registered on the embedded dev server at start and by `python -m starter setup-cluster`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

from models import CaseState, Complaint

CASE_STATUS = SearchAttributeKey.for_keyword("CaseStatus")
DEPARTMENT = SearchAttributeKey.for_keyword("Department")
CATEGORY = SearchAttributeKey.for_keyword("Category")
DISTRICT = SearchAttributeKey.for_keyword("District")  # edition 7: a place code (city-contract.md)
STREET = SearchAttributeKey.for_keyword("Street")  # edition 7: a code; before, the name as filed
COMMUNITY = SearchAttributeKey.for_keyword("Community")
ESCALATED = SearchAttributeKey.for_bool("Escalated")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadline")  # earliest open deadline not yet passed
BREACH_COUNT = SearchAttributeKey.for_int("BreachCount")  # every breach so far
OVERDUE_COUNT = SearchAttributeKey.for_int("OverdueCount")  # breached and still not done: overdue now
CASE_POLICY = SearchAttributeKey.for_keyword("CasePolicy")
DISPUTE_KIND = SearchAttributeKey.for_keyword("DisputeKind")  # set once a case is taken to mediation
# Edition 7: every unit the case is or was assigned to, transferred from or summoned (who sees it
# by its unit, models/scope.py).
UNITS = SearchAttributeKey.for_keyword_list("Units")

KEYS: list[SearchAttributeKey[Any]] = [
    CASE_STATUS,
    DEPARTMENT,
    CATEGORY,
    DISTRICT,
    STREET,
    COMMUNITY,
    ESCALATED,
    NEXT_DEADLINE,
    BREACH_COUNT,
    OVERDUE_COUNT,
    CASE_POLICY,
    DISPUTE_KIND,
    UNITS,
]


def next_deadline(state: CaseState) -> datetime | None:
    pending = [m.due_at for m in state.running_milestones()]
    return min(pending) if pending else None


def values(state: CaseState, complaint: Complaint) -> dict[str, Any]:
    """The attributes' values for this state (None: unset)."""
    return {
        CASE_STATUS.name: state.status.value,
        DEPARTMENT.name: state.department,
        CATEGORY.name: state.category.value,
        # Edition 7: codes of the tree; a street or community the tree does not list yet (an
        # unplaced case) keeps the name as given, so a list by that name still finds it. Before:
        # the names as filed, and no district.
        DISTRICT.name: state.place.district if state.place else None,
        STREET.name: (state.place.street if state.place else None) or complaint.location.street,
        COMMUNITY.name: (state.place.community if state.place else None) or complaint.location.community,
        ESCALATED.name: state.escalated,
        NEXT_DEADLINE.name: next_deadline(state),
        BREACH_COUNT.name: len(state.breaches),
        OVERDUE_COUNT.name: sum(1 for m in state.milestones if m.open and m.breached),
        CASE_POLICY.name: state.policy.value,
        # Unset on every case that is not a dispute: never published, so no earlier history changes.
        DISPUTE_KIND.name: state.dispute.kind.value if state.dispute else None,
        UNITS.name: (sorted(state.units()) or None) if state.place else None,
    }


def updates(new: dict[str, Any], old: dict[str, Any]) -> list[SearchAttributeUpdate[Any]]:
    """Only what changed: each upsert is an event in the case's history."""
    changes: list[SearchAttributeUpdate[Any]] = []
    for key in KEYS:
        value = new[key.name]
        if old.get(key.name) == value and (key.name in old or value is None):
            continue  # unchanged, or unset and never published
        changes.append(key.value_unset() if value is None else key.value_set(value))
    return changes
