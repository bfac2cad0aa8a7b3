"""The worker: every workflow and activity of the engine, on the `complaints` task queue.

    python worker.py        # TEMPORAL_ADDRESS set: that cluster; unset: the embedded dev server
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

import devserver
import logs
import process
import settings
from activities import Notifier, Planner, Records, Sender, sender_from_setting
from readmodel import ReadModel, open_read_model
from sla import WorkingCalendar
from starter import connect, data_converter
from starter.cluster import missing_search_attributes
from workflows import WORKFLOWS, workflow_runner

log = logs.get("worker")


def create_worker(
    client: Client,
    *,
    task_queue: str = "complaints",
    sender: Sender | None = None,
    calendar: WorkingCalendar | None = None,
    read_model: ReadModel | None = None,
    **options: Any,
) -> Worker:
    """A worker with the whole engine registered, configured from settings unless told otherwise."""
    config = settings.load()
    read_model = read_model or open_read_model(config)
    planner = Planner(calendar or WorkingCalendar.from_file(config.calendar_file), config.warn_at)
    notifier = Notifier(sender or sender_from_setting(config.notifier, config.sms_url, config.sms_token), read_model)
    records = Records(read_model)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[planner.plan_milestones, planner.shift_deadline, notifier.send_notice, records.record_case, records.find_earlier_case],
        **{"workflow_runner": workflow_runner(config.sandbox)} | options,
    )


async def serve(stop: asyncio.Event) -> None:
    config = settings.load()
    env = None
    if config.temporal_address:
        client = await connect()
        log.info("connected", address=config.temporal_address, namespace=config.namespace)
        missing = await missing_search_attributes(client)
        if missing:
            # Cases would fail every workflow task upserting them: refuse to serve instead.
            log.error("the namespace lacks the engine's search attributes; run `python -m starter setup-cluster`",
                      missing=missing)
            raise SystemExit(2)
    else:
        db_file = config.data_dir / "temporal.db"
        env = await devserver.start_dev_server(
            data_converter(), db_file=db_file, port=config.dev_server_port, ui_port=config.dev_ui_port,
            codec_endpoint=os.environ.get("COMPLAINTS_CODEC_ENDPOINT") or None,
        )
        client = env.client
        log.info(
            "embedded dev server started",
            address=f"localhost:{config.dev_server_port}",
            ui=f"http://localhost:{config.dev_ui_port}",
            db_file=str(db_file),
        )
    try:
        async with create_worker(client, task_queue=config.task_queue):
            log.info("worker serving", task_queue=config.task_queue)
            await stop.wait()
            log.info("worker shutting down")
    finally:
        if env is not None:
            await env.shutdown()
    log.info("stopped")


def main() -> None:
    logs.configure()

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(stop)

    process.run(run)


if __name__ == "__main__":
    main()
