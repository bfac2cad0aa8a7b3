"""Open311's words for the engine's cases: service names and groups, status notes, and the
promises a request is told (from the policy table, named in the case's own labels)."""

from __future__ import annotations

from models.labels import Labels
from sla.policies import rules_for

ZH = Labels("zh")
SPEC = "http://wiki.open311.org/GeoReport_v2"

# Each category's Open311 service group (the name is the category's own label).
GROUPS = {
    "urban_management": "城市管理",
    "property": "住房和物业",
    "labour": "民生",
    "education": "民生",
    "medical": "民生",
    "veterans": "民生",
    "urban_renewal": "住房和物业",
    "environment": "城市管理",
    "traffic": "城市管理",
    "housing": "住房和物业",
    "other": "其他",
}
# The promises a request is told: the milestones the public knows, by what starts them.
PROMISED = (
    "acknowledge",
    "dispatch",
    "contact",
    "verify",
    "reply",
    "opinion",
    "resolve",
    "progress_report",
    "follow_up",
)


def service_name(category: str) -> str:
    return ZH.category(category)


def service_notice(policy: str, track: str, category: str) -> str:
    """The case's promises, from the policy table (the same rules that set its deadlines)."""
    parts = []
    for anchor, after in (("acceptance", "受理起"), ("assignment", "派单起"), ("resolution", "办结起")):
        for rule in rules_for(policy, anchor, track):
            if rule.name in PROMISED:
                duration = rule.duration_for(track, category)
                parts.append(
                    f"{ZH.milestone(rule.name)}{ZH.duration(duration.amount, duration.unit.value)}内（{after}）"
                )
    return f"已受理（{policy}）：" + "；".join(parts) + "。"
