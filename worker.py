"""The worker: every workflow and activity of the engine, on the `complaints` task queue, and the
audit (issue 27) on the `audit` task queue.

python worker.py            # TEMPORAL_ADDRESS set: that cluster; unset: the embedded dev server
python worker.py --audit    # only the audit queue: add as many as the audits need, anywhere
python worker.py --check    # the configuration it would start with (templates, calendar), then exit
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleRange,
    ScheduleSpec,
)
from temporalio.worker import Replayer, Worker

from activities import Notifier, Planner, Records, Sender, sender_from_setting
from activities.audit import AuditActivities, Capture
from activities.similar_watch import SimilarWatch
from activities.templates import NoticeTemplates, TemplateError
from activities.unit_models import UnitModels
from activities.webhooks import Deliveries, Timing
from models.tree_file import TreeFileError
from models.tree_file import load as load_tree
from readmodel import Anchors, ReadModel, audit_keys_of, links_of, open_read_model
from readmodel.webhooks import Webhooks
from runtime import devserver, logs, process, settings, telemetry
from runtime.blobs import blobs_of
from sla import WorkingCalendar
from starter import connect, data_converter, jurisdictions
from starter.audit import replayer
from starter.cluster import NamespaceNotReady, check_namespace
from starter.codec import keyring_from_settings
from workflows import WORKFLOWS, workflow_runner
from workflows.audit import AnchorHeads, Audit
from workflows.complaint_case import ComplaintCase
from workflows.search_attributes import KEYS
from workflows.similar_watch import WatchSimilarAlerts
from workflows.unit_models import TrainUnitModels

log = logs.get("worker")
ANCHOR_SCHEDULE = "complaints-anchor"
UNIT_MODEL_SCHEDULE = "complaints-unit-models"
SIMILAR_SCHEDULE = "complaints-similar-watch"
SIMILAR_EVERY = timedelta(minutes=10)  # a local default: how soon a new 类案预警 reaches subscribers


class EngineWorker(Worker):
    """A worker that checks its namespace before it polls: on a namespace without the engine's
    search attributes every case would fail its workflow task in a loop, so it refuses to start
    (`NamespaceNotReady`, naming the fix) and takes no task at all."""

    _namespace_checked = False

    async def _check(self) -> None:
        if self._namespace_checked:
            return
        try:
            await check_namespace(self.client)
        except BaseException:
            await self._release()
            raise
        self._namespace_checked = True

    async def _release(self) -> None:
        """Free the core worker the SDK registered at construction (the SDK does not when it
        fails to start), so a worker for the same queue can start once the namespace is fixed;
        and mark this one shut down, so `shutdown()` and `async with` do not wait forever."""
        try:
            self._bridge_worker.initiate_shutdown()  # unregisters it; nothing polled, nothing to drain
        except Exception:  # at worst the core worker is freed with this object
            log.debug("core worker not shut down", exc_info=True)
        self._shutdown_complete_event.set()

    async def __aenter__(self) -> Worker:
        await self._check()  # before the SDK starts polling in the background
        return await super().__aenter__()

    async def run(self) -> None:
        await self._check()
        await super().run()


def load_templates(config: settings.Settings) -> NoticeTemplates:
    """The notice templates the settings name, under each district's sign from the city's tree,
    checked (TemplateError, TreeFileError name what is wrong)."""
    templates = NoticeTemplates.load(
        config.notice_templates, config.notice_language, config.sms_max_segments, config.public_url
    )
    city = load_tree(config.jurisdictions_file)
    lang = "en" if config.notice_language == "en" else "zh"
    signs = {code: city.sign(code, lang) for code in city.districts}
    return templates.with_signs({code: sign for code, sign in signs.items() if sign})


def create_worker(
    client: Client,
    *,
    task_queue: str = "complaints",
    sender: Sender | None = None,
    calendar: WorkingCalendar | None = None,
    read_model: ReadModel | None = None,
    templates: NoticeTemplates | None = None,
    **options: Any,
) -> Worker:
    """A worker with the whole engine registered, configured from settings unless told otherwise.
    It refuses to start (`NamespaceNotReady`) on a namespace the engine cannot serve, and
    (`TemplateError`, naming it) when a notice template is missing or broken."""
    config = settings.load()
    read_model = read_model or open_read_model(config)
    planner = Planner(calendar or WorkingCalendar.from_file(config.calendar_file), config.warn_at)
    templates = templates or load_templates(config)
    notifier = Notifier(
        sender or sender_from_setting(config.notifier, config.sms_url, config.sms_token),
        read_model,
        templates,
        links_of(config),
        on_duty=lambda district, at: jurisdictions.tree(config.jurisdictions_file).on_duty(district, at),
    )
    deliveries = Deliveries(
        Webhooks(read_model.engine, keyring_from_settings()),
        read_model,
        config.webhook_allow_http_hosts,
        Timing.from_settings(config),
        links=links_of(config),
    )
    records = Records(read_model, deliveries)
    return EngineWorker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[
            planner.plan_deadlines,
            planner.shift_deadline,
            notifier.send_notice,
            records.record_case,
            records.find_earlier_case,
            records.caller_history,
            deliveries.owed,
            deliveries.deliver,
            deliveries.pause,
        ],
        **{"workflow_runner": workflow_runner(config.sandbox)} | options,
    )


def audit_replayer() -> Replayer:
    """What the audit replays a case with: the case workflow, each run's end captured."""
    return replayer([ComplaintCase], interceptors=[Capture()])


def create_audit_worker(
    client: Client, *, task_queue: str | None = None, read_model: ReadModel | None = None, **options: Any
) -> Worker:
    """A worker for audits (workflows/audit.py): listing, replaying and judging cases, and the
    daily anchor. Its replays are CPU-bound: run more of them (`--audit`) for a faster audit."""
    config = settings.load()
    read_model = read_model or open_read_model(config)
    audits = AuditActivities(
        client,
        read_model,
        Anchors(read_model.engine, audit_keys_of()),
        audit_replayer,
        blobs_of(config.evidence_store, config.data_dir),
    )
    city = lambda: jurisdictions.tree(config.jurisdictions_file)  # noqa: E731 - the tree as it is at each call
    unit_models = UnitModels(read_model, city)
    watch = SimilarWatch(read_model, Webhooks(read_model.engine), city, config.task_queue, Timing.from_settings(config))
    return EngineWorker(
        client,
        task_queue=task_queue or config.audit_task_queue,
        workflows=[Audit, AnchorHeads, TrainUnitModels, WatchSimilarAlerts],
        activities=[
            audits.list_cases,
            audits.check_anchors,
            audits.audit_batch,
            audits.sign_report,
            audits.make_anchor,
            unit_models.districts,
            unit_models.train,
            watch.watch,
        ],
        # One batch at a time per core: a batch is CPU-bound replay, and a second would only wait.
        max_concurrent_activities=options.pop("max_concurrent_activities", os.cpu_count() or 1),
        **{"workflow_runner": workflow_runner(config.sandbox)} | options,
    )


async def _schedule_once(client: Client, name: str, workflow: Any, task_queue: str, spec: ScheduleSpec) -> None:
    """A workflow on a Temporal schedule, made once (an existing one is left as it is), its run
    given the schedule's own id as workflow id."""
    try:
        action = ScheduleActionStartWorkflow(workflow, id=name, task_queue=task_queue)
        await client.create_schedule(name, Schedule(action=action, spec=spec))
        log.info("scheduled", schedule=name)
    except ScheduleAlreadyRunningError:
        pass


def _daily(hour: int, minute: int) -> ScheduleSpec:
    """Every day at this Beijing time."""
    at = ScheduleCalendarSpec(hour=[ScheduleRange(hour)], minute=[ScheduleRange(minute)])
    return ScheduleSpec(calendars=[at], time_zone_name="Asia/Shanghai")


async def keep_anchoring(client: Client, task_queue: str) -> None:
    """The daily anchor, at 00:10 Beijing time."""
    await _schedule_once(client, ANCHOR_SCHEDULE, AnchorHeads.run, task_queue, _daily(0, 10))


async def keep_training(client: Client, task_queue: str) -> None:
    """The suggested-unit models retrained nightly, at 02:30 Beijing time (a local default: after
    the day's closings, before the morning's dispatching)."""
    await _schedule_once(client, UNIT_MODEL_SCHEDULE, TrainUnitModels.run, task_queue, _daily(2, 30))


async def keep_watching(client: Client, task_queue: str) -> None:
    """New 类案预警 told to their subscribers every SIMILAR_EVERY."""
    spec = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=SIMILAR_EVERY)])
    await _schedule_once(client, SIMILAR_SCHEDULE, WatchSimilarAlerts.run, task_queue, spec)


async def serve(stop: asyncio.Event, roles: tuple[str, ...] = ("cases", "audit")) -> None:
    config = settings.load()
    try:  # before anything starts: a broken template is the operator's to fix, now
        templates = load_templates(config)
    except TemplateError as err:
        log.error("refusing to start: a notice template is missing or broken", error=str(err))
        raise SystemExit(2) from None
    except TreeFileError as err:
        log.error("refusing to start: the city's tree file has problems", error=str(err), problems=err.problems)
        raise SystemExit(2) from None
    try:
        runtime = telemetry.runtime_with_metrics(config.metrics_address)
    except ValueError as err:  # a taken port, a bad address: say which setting
        log.error(
            "cannot serve metrics; set COMPLAINTS_METRICS_ADDRESS to a free host:port, or off",
            address=config.metrics_address,
            error=str(err),
        )
        raise SystemExit(2) from None
    env = None
    if config.temporal_address or "cases" not in roles:  # an audit worker joins the server that is there
        client = await connect(runtime=runtime)
        log.info("connected", address=config.temporal_address, namespace=config.namespace)
    else:
        db_file = config.data_dir / "temporal.db"
        env = await devserver.start_dev_server(
            data_converter(),
            search_attributes=KEYS,
            db_file=db_file,
            port=config.dev_server_port,
            ui_port=config.dev_ui_port,
            codec_endpoint=os.environ.get("COMPLAINTS_CODEC_ENDPOINT") or None,
            runtime=runtime,
        )
        client = env.client
        log.info(
            "embedded dev server started",
            address=f"localhost:{config.dev_server_port}",
            ui=f"http://localhost:{config.dev_ui_port}",
            db_file=str(db_file),
        )
    if config.metrics_address:
        log.info("metrics", url=telemetry.metrics_url(config.metrics_address))
    try:
        async with contextlib.AsyncExitStack() as workers:
            if "cases" in roles:
                await workers.enter_async_context(
                    create_worker(client, task_queue=config.task_queue, templates=templates)
                )
                log.info("worker serving", task_queue=config.task_queue)
            if "audit" in roles:
                await workers.enter_async_context(create_audit_worker(client))
                await keep_anchoring(client, config.audit_task_queue)
                await keep_training(client, config.audit_task_queue)
                await keep_watching(client, config.audit_task_queue)
                log.info("worker serving", task_queue=config.audit_task_queue)
            await stop.wait()
            log.info("worker shutting down")
    except NamespaceNotReady as err:
        log.error("refusing to serve this namespace", namespace=config.namespace, error=str(err))
        raise SystemExit(2) from None
    finally:
        if env is not None:
            await env.shutdown()
    log.info("stopped")


def check() -> int:
    """Load what the worker starts with, as it would, and say what was found: 0, or 2 naming the fault."""
    from starter.risk import load as load_risk_rules

    config = settings.load()
    try:
        templates = load_templates(config)
        calendar = WorkingCalendar.from_file(config.calendar_file)
        risk_rules = load_risk_rules(config.risk_file)  # RiskRuleError (a ValueError) naming the rule
    except (TemplateError, ValueError) as err:
        print(f"not ready: {err}", file=sys.stderr)
        return 2
    print(f"notice templates: {templates.source} [{templates.language}], {len(templates.templates)} templates")
    print(f"calendar overrides: {config.calendar_file} ({len(calendar.overrides)} years)")
    print(f"city's tree: {config.jurisdictions_file} ({len(templates.signs)} districts)")
    print(f"strong-signal rules: {config.risk_file} ({len(risk_rules.rules)} rules)")
    print(f"data folder: {config.data_dir}")
    return 0


def main() -> None:
    if sys.argv[1:] == ["--check"]:
        raise SystemExit(check())
    roles: tuple[str, ...] = ("cases", "audit")
    if sys.argv[1:] == ["--audit"]:
        roles = ("audit",)
    elif sys.argv[1:]:
        raise SystemExit(f"usage: python worker.py [--audit | --check]; unknown {' '.join(sys.argv[1:])}")
    logs.configure()

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(stop, roles)

    process.run(run)


if __name__ == "__main__":
    main()
