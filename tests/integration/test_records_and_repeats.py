"""Read model, repeat complaints and the outbox with the real workflow (time-skipping server)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from activities import HttpSmsSender
from models import CaseState, Notice, NoticeKind
from readmodel import ReadModel
from sla import WorkingCalendar
from starter import act, file_complaint
from tests.support.cases import TEST_PHONE_KEY, actor, complaint, eventually, kinds, milestone, new_id, unique_phone
from tests.support.postgres import fresh_postgres
from worker import create_worker

D, H, S = actor("dispatcher"), actor("handler", "光明区住房和建设局"), actor("supervisor")
STEPS = [
    ("dispatch", {"actor": D, "department": "光明区住房和建设局"}),
    ("record_contact", {"actor": H, "note": "n"}),
    ("resolve", {"actor": H, "resolution": "r"}),
    ("record_follow_up", {"actor": S, "satisfaction": "satisfied"}),
]


async def closed_case(client, case_id: str, complaint_: dict, queue: str | None = None) -> CaseState:
    await file_complaint(client, case_id, {"complaint": complaint_}, task_queue=queue or client.task_queue)
    for update, payload in STEPS:
        await act(client, case_id, update, payload)
    return await client.get_workflow_handle(case_id, result_type=CaseState).result()


def assert_matches(read_model: ReadModel, final: CaseState) -> None:
    row = read_model.case(final.case_id)
    assert row is not None and row.version == final.version and row.status == final.status.value
    assert [e.kind for e in read_model.events(final.case_id)] == kinds(final)
    assert [e.seq for e in read_model.events(final.case_id)] == list(range(len(final.timeline)))
    assert [(m.name, m.breached, m.done_at is not None) for m in read_model.milestones(final.case_id)] == [
        (m.name, m.breached, m.done_at is not None) for m in final.milestones
    ]


async def test_read_model_matches_the_closed_case(client, read_model, sender):
    phone = unique_phone()
    final = await closed_case(client, new_id(), complaint(complainant={"name": "王", "phone": phone}))
    assert_matches(read_model, final)  # the workflow completes only once the read model has caught up
    row = read_model.case(final.case_id)
    assert row.complainant_masked == f"{phone[:3]}****{phone[-4:]}" and row.community == "塘家社区"
    assert row.closed_at is not None and row.first_department == "光明区住房和建设局"
    outbox = read_model.outbox(final.case_id)
    assert {(o.recipient, o.kind) for o in outbox} >= {
        ("complainant", "acknowledgement"),
        ("department:光明区住房和建设局", "assignment"),
    }
    assert all(o.sent_at and o.attempts == 1 for o in outbox)
    assert all(phone not in (o.address or "") for o in outbox)


async def test_repeat_of_an_open_case_is_merged_into_it(client, read_model, sender):
    person = {"name": "王", "phone": unique_phone()}
    first = new_id()
    await file_complaint(client, first, {"complaint": complaint(complainant=person)}, task_queue=client.task_queue)
    await act(client, first, "dispatch", {"actor": D, "department": "光明区住房和建设局"})
    await eventually(client, first, lambda s: read_model.case(first) and read_model.case(first).version == s.version)

    second = new_id()
    await file_complaint(
        client, second, {"complaint": complaint(complainant=person, title="还是断水")}, task_queue=client.task_queue
    )
    merged = await client.get_workflow_handle(second, result_type=CaseState).result()
    assert merged.status.value == "merged" and merged.merged_into == first
    assert not [m for m in merged.milestones if m.open]
    carrier = await eventually(client, first, lambda s: "repeat_complaint" in kinds(s))
    event = next(e for e in carrier.timeline if e.kind == "repeat_complaint")
    assert event.detail["case_id"] == second and event.detail["title"] == "还是断水"
    await sender.wait_for(first, "department:光明区住房和建设局", "repeat")
    await sender.wait_for(second, "complainant", "acknowledgement")
    assert read_model.case(second).merged_into == first and read_model.case(second).status == "merged"
    with pytest.raises(Exception, match="merged|ended"):
        await act(client, second, "dispatch", {"actor": D, "department": "光明区住房和建设局"})


async def test_repeat_of_a_closed_case_is_escalated_from_the_start(client, read_model):
    person = {"name": "李", "phone": unique_phone()}
    first = await closed_case(client, new_id(), complaint(complainant=person))
    second = new_id()
    await file_complaint(client, second, {"complaint": complaint(complainant=person)}, task_queue=client.task_queue)
    s = await eventually(client, second, lambda s: s.escalated)
    assert s.repeat_of == first.case_id and f"repeats case {first.case_id}" in s.escalation_reason
    assert milestone(s, "leader").open and s.status.value == "received"
    assert kinds(s)[:3] == ["received", "repeat_of", "escalated"]
    await eventually(client, second, lambda s: read_model.case(second) and read_model.case(second).repeat_of)
    # A different category from the same person is a new problem, not a repeat.
    third = new_id()
    await file_complaint(
        client, third, {"complaint": complaint(complainant=person, category="traffic")}, task_queue=client.task_queue
    )
    s = await eventually(client, third, lambda s: milestone(s, "acknowledge").done_at)
    assert s.repeat_of is None and not s.escalated


async def test_grid_patrol_finds_in_the_same_grid_merge(client, read_model):
    grid = f"网格{uuid.uuid4().hex[:6]}"
    find = complaint(
        channel="grid_patrol",
        complainant=None,
        location={"district": "罗湖区", "street": "东门街道", "community": "东门社区", "grid": grid},
    )
    first = new_id()
    await file_complaint(client, first, {"complaint": find}, task_queue=client.task_queue)
    await eventually(client, first, lambda s: read_model.case(first) is not None)
    second = new_id()
    await file_complaint(client, second, {"complaint": find}, task_queue=client.task_queue)
    merged = await client.get_workflow_handle(second, result_type=CaseState).result()
    assert merged.merged_into == first


class FlakyReadModel(ReadModel):
    """Fails after writing, as a database connection lost before the commit is confirmed would."""

    def __init__(self, url: str) -> None:
        super().__init__(url, TEST_PHONE_KEY)
        self.failures = 0

    def record(self, snapshot) -> list[str]:
        woken = super().record(snapshot)
        if self.failures < 3:
            self.failures += 1
            raise ConnectionError("lost the connection after the commit")
        return woken


@pytest.mark.parametrize("database", ["flaky-sqlite", "postgresql"])
async def test_retried_and_real_databases_stay_exact(env, database, tmp_path, request):
    if database == "postgresql":
        read_model = ReadModel(fresh_postgres(request.getfixturevalue("pg_url")), TEST_PHONE_KEY)
    else:
        read_model = FlakyReadModel(f"sqlite:///{tmp_path / 'flaky.db'}")
    queue = f"records-{uuid.uuid4().hex[:6]}"
    async with create_worker(env.client, task_queue=queue, read_model=read_model, calendar=WorkingCalendar()):
        final = await closed_case(env.client, new_id(), complaint(), queue=queue)
    if isinstance(read_model, FlakyReadModel):
        assert read_model.failures == 3
    assert_matches(read_model, final)


class Gateway(BaseHTTPRequestHandler):
    received: list[dict] = []
    fail_next = 0

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if Gateway.fail_next:
            Gateway.fail_next -= 1
            self.send_response(503)
            self.end_headers()
            self.wfile.write(b"busy")
            return
        Gateway.received.append(
            {"body": body, "auth": self.headers.get("Authorization"), "key": self.headers.get("Idempotency-Key")}
        )
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[str]:
    Gateway.received, Gateway.fail_next = [], 0
    server = HTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/sms"
    server.shutdown()


async def test_sms_gateway_sender(gateway):
    sender = HttpSmsSender(gateway, "secret")
    notice = Notice(
        id="r/1",
        case_id="c1",
        recipient="complainant",
        kind=NoticeKind.acknowledgement,
        text="已受理",
        address="13800138000",
    )
    await sender.send(notice)
    [got] = Gateway.received
    assert got["auth"] == "Bearer secret" and got["key"] == "r/1"
    assert got["body"] == {
        "id": "r/1",
        "case_id": "c1",
        "to": "13800138000",
        "recipient": "complainant",
        "kind": "acknowledgement",
        "text": "已受理",
    }
    Gateway.fail_next = 1
    with pytest.raises(RuntimeError, match="SMS gateway answered 503"):
        await sender.send(notice)


async def test_gateway_outage_is_retried_and_kept_in_the_outbox(env, gateway, tmp_path):
    Gateway.fail_next = 2
    read_model = ReadModel(f"sqlite:///{tmp_path / 'sms.db'}", TEST_PHONE_KEY)
    queue = f"sms-{uuid.uuid4().hex[:6]}"
    async with create_worker(
        env.client,
        task_queue=queue,
        read_model=read_model,
        calendar=WorkingCalendar(),
        sender=HttpSmsSender(gateway, "t"),
    ):
        final = await closed_case(env.client, new_id(), complaint(), queue=queue)
    outbox = read_model.outbox(final.case_id)
    assert outbox and all(o.sent_at for o in outbox)
    assert sum(o.attempts for o in outbox) == len(outbox) + 2  # two refusals, each retried
    assert {r["body"]["id"] for r in Gateway.received} == {o.id for o in outbox}
