"""The case workflows. WORKFLOWS is the list a Worker or a Replayer registers."""

from temporalio.worker import UnsandboxedWorkflowRunner, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from workflows.complaint_case import ComplaintCase

WORKFLOWS = [ComplaintCase]


def workflow_runner(sandboxed: bool) -> WorkflowRunner:
    """The SDK's sandbox re-imports the workflow module for every case a worker starts or takes
    back into its cache: measured, closed loops ran 26-46 % faster without it. The tests run
    sandboxed, so a forbidden call (datetime.now, random, I/O) fails CI; workers and replay
    run without it (COMPLAINTS_WORKFLOW_SANDBOX=1 turns it back on)."""
    return SandboxedWorkflowRunner() if sandboxed else UnsandboxedWorkflowRunner()


__all__ = ["WORKFLOWS", "ComplaintCase", "workflow_runner"]
