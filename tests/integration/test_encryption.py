"""Personal data encrypted in Temporal: nothing in clear in any history, a rotated key still
decodes and replays old cases, the codec server for the Web UI."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.worker import Replayer

from models import CaseState
from runtime import devserver
from sla import WorkingCalendar
from starter import act, data_converter, file_complaint
from starter.codec import ENCODING, EncryptionCodec, Keyring, payloads_to_json
from tests.support.cases import RecordingSender, actor, complaint, unique_phone
from worker import create_worker
from workflows import WORKFLOWS
from workflows.search_attributes import KEYS

SECRET = {"name": "欧阳娜娜", "description": "隐私描述: 邻居家暴, 住址某栋某号"}


async def test_no_personal_data_in_clear_anywhere_in_temporal(tmp_path: Path):
    """On the real dev server: neither its history API nor its SQLite file holds the phone, name
    or description in clear, yet the case reads normally through the codec."""
    phone = unique_phone()
    db = tmp_path / "temporal.db"
    env = await devserver.start_dev_server(data_converter(), search_attributes=KEYS, db_file=db)
    try:
        async with create_worker(
            env.client,
            task_queue="q",
            sender=RecordingSender(),
            calendar=WorkingCalendar(),
            read_model=_read_model(tmp_path),
        ):
            case_id = f"secret-{uuid.uuid4().hex[:6]}"
            await file_complaint(
                env.client,
                case_id,
                {
                    "complaint": complaint(
                        complainant={"name": SECRET["name"], "phone": phone}, description=SECRET["description"]
                    )
                },
                task_queue="q",
            )
            for update, payload in [
                ("dispatch", {"actor": actor("dispatcher"), "department": "区妇联"}),
                ("record_contact", {"actor": actor("handler", "区妇联"), "note": f"拨打 {phone}"}),
                ("resolve", {"actor": actor("handler", "区妇联"), "resolution": "已处理"}),
                ("record_follow_up", {"actor": actor("supervisor"), "satisfaction": "satisfied"}),
            ]:
                await act(env.client, case_id, update, payload)
            result = await env.client.get_workflow_handle(case_id, result_type=CaseState).result()
            assert result.status.value == "closed"
            raw = await Client.connect(env.client.service_client.config.target_host)  # no codec: what the server holds
            history = await raw.get_workflow_handle(case_id).fetch_history()
            stored = history.to_json().encode() + b"".join(e.SerializeToString() for e in history.events)
            for secret in (phone, SECRET["name"], SECRET["description"]):
                for form in (secret.encode(), json.dumps(secret).encode()):
                    assert form not in stored, f"{secret} in clear in the history"
            # ... and the history replays through the codec
            replayer = Replayer(workflows=WORKFLOWS, data_converter=data_converter())
            await replayer.replay_workflow(await env.client.get_workflow_handle(case_id).fetch_history())
    finally:
        await env.shutdown()
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("temporal.db*"))
    assert on_disk and phone.encode() not in on_disk and SECRET["name"].encode() not in on_disk


async def test_rotated_key_still_decodes_and_replays_old_cases(env, client):
    case_id = f"rot-{uuid.uuid4().hex[:6]}"
    await file_complaint(client, case_id, {"complaint": complaint()}, task_queue=client.task_queue)
    await act(client, case_id, "dispatch", {"actor": actor("dispatcher"), "department": "住建局"})
    history = await client.get_workflow_handle(case_id).fetch_history()
    current = Keyring.parse(__import__("os").environ["COMPLAINTS_CODEC_KEYS"])
    rotated = current.rotated("test-2")
    replayer = Replayer(workflows=WORKFLOWS, data_converter=data_converter(rotated))
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None
    without_old_key = Keyring(current="test-2", keys={"test-2": rotated.keys["test-2"]})
    failed = await Replayer(workflows=WORKFLOWS, data_converter=data_converter(without_old_key)).replay_workflow(
        history, raise_on_replay_failure=False
    )
    assert failed.replay_failure is not None  # the old key really is needed, and really is used


async def test_codec_server_for_the_web_ui(tmp_path):
    """`python -m starter codec-server` serves the gateway's codec app alone, at / as before."""
    import httpx

    from models import Role
    from runtime.http import RateLimiter
    from starter.codec_server import CodecState, codec_app
    from starter.identities import IdentityStore

    ring = Keyring.generate("k1")
    codec = EncryptionCodec(ring)
    store = IdentityStore(f"sqlite:///{tmp_path / 'identities.db'}")
    supervisor, handler = (
        store.add("sup-1", Role.supervisor),
        store.add("h-1", Role.handler, department="光明区住房和建设局"),
    )
    app = codec_app(CodecState(store, RateLimiter(0, 1), codec), "http://localhost:8233")
    sealed = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=b'"13800138000"')])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://codec.test") as h:

        async def post(path: str, body: str, key: str | None) -> httpx.Response:
            headers = {"Content-Type": "application/json", "X-Namespace": "default", "Origin": "http://localhost:8233"}
            return await h.post(
                path, content=body, headers=headers | ({"Authorization": f"Bearer {key}"} if key else {})
            )

        answer = await post("/decode", payloads_to_json(sealed), supervisor)
        assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == "http://localhost:8233"
        decoded = answer.json()["payloads"][0]
        assert base64.b64decode(decoded["data"]) == b'"13800138000"'
        assert (await post("/decode", payloads_to_json(sealed), "wrong")).status_code == 401
        assert (await post("/decode", payloads_to_json(sealed), handler)).status_code == 403
        assert (await post("/decode", "not json", supervisor)).status_code == 400
        encoded = await post("/encode", json.dumps({"payloads": [decoded]}), supervisor)
        assert encoded.status_code == 200
        assert encoded.json()["payloads"][0]["metadata"]["encoding"] == base64.b64encode(ENCODING).decode()
        preflight = await h.options(
            "/decode",
            headers={
                "Origin": "http://localhost:8233",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "X-Namespace",
            },
        )
        assert "X-Namespace" in preflight.headers["access-control-allow-headers"]


def _read_model(tmp_path: Path):
    from readmodel import ReadModel
    from tests.support.cases import TEST_PHONE_KEY

    return ReadModel(f"sqlite:///{tmp_path / 'rm.db'}", TEST_PHONE_KEY)
