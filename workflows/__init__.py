"""The engine's workflows. WORKFLOWS is the list a Worker or a Replayer registers.

The workflow classes are loaded on first use (module __getattr__), not when the package is: the
SDK's sandbox runs this file again for every workflow it starts, and a case's sandbox has no use
for the webhook delivery workflow (loading it there made every sandboxed case slower)."""

from typing import Any

from temporalio.worker import UnsandboxedWorkflowRunner, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner


def workflow_runner(sandboxed: bool) -> WorkflowRunner:
    """The SDK's sandbox re-imports the workflow module for every case a worker starts or takes
    back into its cache: measured, closed loops ran 26-46 % faster without it. The tests run
    sandboxed, so a forbidden call (datetime.now, random, I/O) fails CI; workers and replay
    run without it (COMPLAINTS_WORKFLOW_SANDBOX=1 turns it back on)."""
    return SandboxedWorkflowRunner() if sandboxed else UnsandboxedWorkflowRunner()


def __getattr__(name: str) -> Any:
    if name == "ComplaintCase":
        from workflows.complaint_case import ComplaintCase

        return ComplaintCase
    if name == "WebhookDelivery":
        from workflows.webhook_delivery import WebhookDelivery

        return WebhookDelivery
    if name == "WORKFLOWS":
        from workflows.complaint_case import ComplaintCase
        from workflows.webhook_delivery import WebhookDelivery

        return [ComplaintCase, WebhookDelivery]
    if name == "EVERY_WORKFLOW":  # what replay knows: the case worker's workflows and the audit worker's
        from workflows.audit import AnchorHeads, Audit
        from workflows.complaint_case import ComplaintCase
        from workflows.similar_watch import WatchSimilarAlerts
        from workflows.unit_models import TrainUnitModels
        from workflows.webhook_delivery import WebhookDelivery

        return [ComplaintCase, WebhookDelivery, Audit, AnchorHeads, TrainUnitModels, WatchSimilarAlerts]
    raise AttributeError(f"module 'workflows' has no attribute {name!r}")


__all__ = ["EVERY_WORKFLOW", "WORKFLOWS", "ComplaintCase", "WebhookDelivery", "workflow_runner"]
