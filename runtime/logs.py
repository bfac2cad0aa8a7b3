"""structlog JSON logs, one line per event, carrying the case id and run id.

The SDK's replay-safe `workflow.logger` and `activity.logger` are stdlib loggers; their records
go through the same JSON renderer, with the case id and run id lifted out of Temporal's extras.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
import temporalio.activity
import temporalio.workflow

_configured = False


def _temporal_ids(_: Any, __: str, event: Any) -> Any:
    record = event.get("_record")
    if record is not None:
        wf = getattr(record, "temporal_workflow", None)
        act = getattr(record, "temporal_activity", None)
        if wf:
            event.setdefault("case_id", wf.get("workflow_id"))
            event.setdefault("run_id", wf.get("run_id"))
        if act:
            event.setdefault("case_id", act.get("workflow_id"))
            event.setdefault("run_id", act.get("workflow_run_id"))
            event.setdefault("activity", act.get("activity_type"))
        for key in ("case_event", "actor", "deadline"):
            if hasattr(record, key):
                event.setdefault(key, getattr(record, key))
    return event


def configure(level: str = "INFO", stream: Any = None) -> None:
    """JSON lines on stderr (or `stream`), for structlog and stdlib loggers alike. Idempotent."""
    global _configured
    if _configured:
        return
    _configured = True
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, _temporal_ids],
            processors=[
                _temporal_ids,
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(ensure_ascii=False),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The SDK's own chatter stays at warnings; the replay-safe workflow and activity loggers
    # carry our case transitions.
    logging.getLogger("temporalio").setLevel(logging.WARNING)
    # Case and run ids become JSON fields, not a dict pasted into the message.
    temporalio.workflow.logger.workflow_info_on_message = False
    temporalio.activity.logger.activity_info_on_message = False
    logging.getLogger("temporalio.workflow").setLevel(level)
    logging.getLogger("temporalio.activity").setLevel(level)


def get(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
