"""Activities: each does one outside thing (fix deadlines from the calendar, send a notice)."""

from activities.notify import LogSender, Notifier, Sender, sender_from_setting
from activities.planning import PlanRequest, Planner

__all__ = ["LogSender", "Notifier", "PlanRequest", "Planner", "Sender", "sender_from_setting"]
