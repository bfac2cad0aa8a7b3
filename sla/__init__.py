"""SLA arithmetic: pure code, no Temporal. Policies as data, China's working-day calendar."""

from sla.calendar import WorkingCalendar
from sla.durations import BUSINESS_TZ, Deadline, Duration, Unit, deadline, shifted
from sla.planner import plan
from sla.policies import POLICIES, MilestoneRule, rules_for

__all__ = [
    "BUSINESS_TZ",
    "Deadline",
    "Duration",
    "MilestoneRule",
    "POLICIES",
    "Unit",
    "WorkingCalendar",
    "deadline",
    "plan",
    "rules_for",
    "shifted",
]
