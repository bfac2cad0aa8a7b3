"""The case workflows. WORKFLOWS is the list a Worker or a Replayer registers."""

from workflows.complaint_case import ComplaintCase

WORKFLOWS = [ComplaintCase]

__all__ = ["WORKFLOWS", "ComplaintCase"]
