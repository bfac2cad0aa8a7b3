"""An outside call tried once in the case's own workflow task, then left to Temporal's retries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import FailureError

from workflows.retries import ONCE


async def local_first(activity: Any, arg: Any, *, first_try: timedelta, **retried: Any) -> None:
    """Run `activity` as a local activity, once (one marker, no workflow task of its own); if that
    fails, as an ordinary activity with the `retried` options, retried outside the case's history.
    The ordinary activity's final failure (ActivityError) is the caller's to handle."""
    try:
        await workflow.execute_local_activity_method(activity, arg, start_to_close_timeout=first_try, retry_policy=ONCE)
    except FailureError:  # a local activity fails with the activity's own error
        await workflow.execute_activity_method(activity, arg, **retried)
