"""Activities: each does one outside thing (fix deadlines from the calendar, send a notice)."""

from activities.notify import LogSender, Notifier, Sender, sender_from_setting
from activities.planning import Planner, PlanRequest, ShiftRequest
from activities.records import Records
from activities.sms import HttpSmsSender

__all__ = [
    "HttpSmsSender",
    "LogSender",
    "Notifier",
    "PlanRequest",
    "Planner",
    "Records",
    "ShiftRequest",
    "Sender",
    "sender_from_setting",
]
