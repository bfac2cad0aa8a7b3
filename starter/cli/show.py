"""A case's state as a person reads it."""

from __future__ import annotations

from datetime import datetime

from models import CaseState
from models.labels import Labels
from sla import BUSINESS_TZ


def _t(moment: datetime | None) -> str:
    return moment.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M") if moment else "-"


def suggestion_line(state: CaseState) -> str:
    """建议派单: the unit suggested when filed (edition 11), who suggested it, whether it was taken."""
    s = state.suggestion
    assert s is not None
    by = f"model {s.certainty:.0%}" if s.by.value == "model" and s.certainty is not None else "routing table"
    likely = ", ".join(f"{u.unit} {u.probability:.0%}" for u in s.likely)
    taken = {True: "  taken", False: "  not taken", None: ""}[state.suggestion_taken]
    return f"suggested unit {s.unit or '-'} ({by}){taken}" + (f"  [{likely}]" if likely else "")


def render(state: CaseState) -> str:
    lines = [
        f"case {state.case_id}  [{state.status.value}]  policy {state.policy.value}, track {state.track.value}, "
        f"category {state.category.value}",
        f"  department {state.department or '-'} (first: {state.first_department or '-'})"
        + (f"  ESCALATED: {state.escalation_reason}" if state.escalated else "")
        + (f"  leader {state.leader.name} ({state.leader.id})" if state.leader else ""),
    ]
    if state.risk is not None and state.risk.level is not None:
        why = "; ".join(f"{r.reason} “{r.matched}”" if r.matched else r.reason for r in state.risk.reasons)
        lines.append(f"  RISK {state.risk.level.value} (强信息): {why}")
    if state.caller is not None:
        lines.append("  " + Labels("zh").caller(state.caller.first, state.caller.nth))
    if state.suggestion is not None:
        lines.append("  " + suggestion_line(state))
    if state.reopen_count or state.satisfaction:
        lines.append(
            f"  satisfaction {state.satisfaction.value if state.satisfaction else '-'}, reopened {state.reopen_count}x"
        )
    lines.append("  milestone         due               done              state")
    for m in state.milestones:
        status = m.outcome
        owner = f" ({m.department})" if m.department else ""
        lines.append(f"  {m.name:<17} {_t(m.due_at):<17} {_t(m.done_at):<17} {status}{owner}")
    lines.append("  timeline")
    for e in state.timeline:
        who = f"{e.actor.role.value}:{e.actor.id}" if e.actor else "engine"
        detail = ", ".join(f"{k}={v}" for k, v in e.detail.items() if k != "milestones")
        lines.append(f"    {_t(e.at)}  {e.kind:<20} {who:<22} {detail}"[:160])
    return "\n".join(lines)
