"""SLA arithmetic: pure code, no Temporal. Policies as data, China's working-day calendar."""

from sla.calendar import WorkingCalendar
from sla.durations import BUSINESS_TZ, Deadline, Duration, Unit, deadline, passed_by, shifted
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
    "passed_by",
    "plan",
    "rules_for",
    "shifted",
]
