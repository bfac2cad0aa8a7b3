"""The input of a case workflow: the complaint, the policy it runs under, and (when a long case
continues as new) the state so far."""

from __future__ import annotations

from pydantic import Field

from models.base import Policy, Strict
from models.case import CaseState
from models.complaint import Complaint
from models.risk import RiskMark
from models.suggestion import Suggestion
from models.tree import Placement

# The case workflow's type name: what starts a case, what visibility queries and the audit name.
WORKFLOW_TYPE = "ComplaintCase"


class CaseInput(Strict):
    complaint: Complaint
    policy: Policy = Policy.p1030
    # Set by the edge (starter) from the city's tree: where the complaint lies (edition 7). A case
    # started without it (an older client, a test) has no place and is seen by the city alone.
    placement: Placement | None = None
    # Set by the edge (starter) from the strong-signal rules: what the complaint's words say of
    # danger (edition 9). A client's own is refused: the engine judges.
    risk: RiskMark | None = None
    # Set by the edge (starter) from the district's model or routing table: the unit it suggests
    # for dispatch (edition 11). Never dispatches by itself; a client's own is refused.
    suggestion: Suggestion | None = None
    # Set by the engine itself when a long case continues as new: the state so far.
    carried: CaseState | None = None
    # Continue as new after this many history events (Temporal's own suggestion also counts).
    max_history_events: int = Field(default=10_000, ge=200, le=50_000)
