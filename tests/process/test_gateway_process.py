"""The gateway as operators run it: `python worker.py` (embedded dev server), `python -m gateway`,
keys from `python -m starter identity`, plain HTTP calls; and its OpenAPI description fuzzed by
schemathesis against that real process (no 5xx; every answer as the description says)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import time
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.support.cases import complaint
from tests.support.processes import Gateway, WorkerProcess, add_identity, bearer, cli, free_port

FUZZ_EXAMPLES = 12  # per operation and mode (valid data, then invalid): about 700 requests in all


@pytest.fixture(scope="module")
def running(tmp_path_factory) -> Iterator[tuple[Gateway, dict[str, str], dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("gateway-process")
    environ = {k: v for k, v in os.environ.items() if k != "TEMPORAL_ADDRESS"}
    environ.update(
        COMPLAINTS_DATA_DIR=str(tmp / "data"),
        COMPLAINTS_DEV_PORT=str(free_port()),
        COMPLAINTS_DEV_UI_PORT=str(free_port()),
        PYTHONUNBUFFERED="1",
        COMPLAINTS_RATE_LIMIT="0",
    )
    worker = WorkerProcess(environ, tmp / "worker.log")
    keys = {
        "dispatcher": add_identity(environ, "hotline-07", "dispatcher", "区群众诉求服务中心"),
        "handler": add_identity(environ, "edu-li", "handler", "光明区教育局"),
        "supervisor": add_identity(environ, "sup-wang", "supervisor", "区信访局"),
    }
    gateway = Gateway(environ, tmp / "gateway.log")
    try:
        yield gateway, keys, environ
    finally:
        assert gateway.stop(signal.SIGTERM) == 0
        assert worker.stop(signal.SIGINT) == 0
    log = gateway.log.read_text()
    assert "Traceback" not in log and "PyGILState" not in log and "unhandled error" not in log, log[-3000:]


def test_plain_http_from_any_language(running):
    gateway, keys, environ = running
    with httpx.Client(base_url=gateway.base, timeout=30) as h:
        filed = h.put("/v1/cases/http-case-1", json={"complaint": complaint()}, headers=bearer(keys["dispatcher"]))
        assert filed.status_code == 201, filed.text
        dispatched = h.post(
            "/v1/cases/http-case-1/dispatch", json={"department": "区教育局"}, headers=bearer(keys["dispatcher"])
        )
        assert dispatched.status_code == 200 and dispatched.json()["department"] == "光明区教育局"
        contacted = h.post(
            "/v1/cases/http-case-1/record_contact",
            json={"note": "电话联系诉求人"},
            headers=bearer(keys["handler"]) | {"If-Match": dispatched.headers["etag"]},
        )
        assert contacted.status_code in (200, 412), contacted.text  # 412 if the engine moved the case meanwhile
        lie = h.post(
            "/v1/cases/http-case-1/escalate",
            json={"reason": "我是督办", "actor": {"id": "sup-wang", "role": "supervisor"}},
            headers=bearer(keys["handler"]),
        )
        assert lie.status_code == 403 and lie.headers["content-type"].startswith("application/problem+json")
        created = h.post(
            "/open311/v2/requests.json",
            data={
                "api_key": keys["dispatcher"],
                "service_code": "traffic",
                "description": "路口红绿灯不亮",
                "address_string": "光明大道与华夏路交叉口",
                "phone": "13700001111",
                "attribute[district]": "光明区",
                "attribute[street]": "光明街道",
                "attribute[community]": "白花社区",
            },
        )
        assert created.status_code == 200, created.text
        # A revoked key ends at once, with no restart of the gateway.
        assert h.get("/v1/cases/http-case-1", headers=bearer(keys["handler"])).status_code == 200
        revoked = cli(environ, "identity", "revoke", "edu-li")
        assert revoked.returncode == 0, revoked.stderr
        assert refused_within(1.0, h, "/v1/cases/http-case-1", keys["handler"])
        listed = cli(environ, "identity", "list")
        assert "edu-li" in listed.stdout and "revoked" in listed.stdout and keys["dispatcher"] not in listed.stdout


def refused_within(seconds: float, h: httpx.Client, path: str, key: str) -> bool:
    """Whether the key is refused (401) within `seconds` of now."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if h.get(path, headers=bearer(key)).status_code == 401:
            return True
        time.sleep(0.05)
    return False


def test_a_key_revoked_on_one_gateway_fails_on_another_within_a_second(running, tmp_path):
    """Identities live in the database (city-contract.md): two gateway processes of one
    installation, a key revoked through the CLI, refused by both within a second."""
    first, _, environ = running
    key = add_identity(environ, "temp-clerk", "supervisor")
    second = Gateway(environ, tmp_path / "second-gateway.log")
    try:
        with httpx.Client(timeout=30) as h:
            for gateway in (first, second):
                assert h.get(f"{gateway.base}/v1/cases", headers=bearer(key)).status_code == 200
            revoked = cli(environ, "identity", "revoke", "temp-clerk")
            assert revoked.returncode == 0, revoked.stderr
            for gateway in (second, first):
                assert refused_within(1.0, h, f"{gateway.base}/v1/cases", key), gateway.base
    finally:
        assert second.stop(signal.SIGTERM) == 0


def test_identities_of_an_earlier_file_are_imported(running, tmp_path):
    """`identity import FILE` takes in what earlier versions kept in identities.toml: its keys
    work at once; an identity held already is left as it is and named."""
    import hashlib

    import tomli_w

    gateway, _, environ = running
    secret = "s" * 43
    old = {
        "identity": {
            "old-clerk": {
                "role": "dispatcher",
                "created_at": "2026-01-05T08:00:00+00:00",
                "keys": [
                    {
                        "id": "0123456789ab",
                        "sha256": hashlib.sha256(secret.encode()).hexdigest(),
                        "created_at": "2026-01-05T08:00:00+00:00",
                    }
                ],
            },
            "hotline-07": {"role": "supervisor", "created_at": "2026-01-05T08:00:00+00:00", "keys": []},
        }
    }
    path = tmp_path / "identities.toml"
    path.write_text(tomli_w.dumps(old))
    done = cli(environ, "identity", "import", str(path))
    assert done.returncode == 1 and "imported 1 identity" in done.stdout, done.stdout + done.stderr
    assert "hotline-07" in done.stderr  # held already as a dispatcher: left as it is
    key = "cck_0123456789ab_" + secret
    with httpx.Client(base_url=gateway.base, timeout=30) as h:
        assert h.get("/v1/cases", headers=bearer(key)).status_code == 200
    again = cli(environ, "identity", "import", str(path))
    assert "imported 0 identities" in again.stdout and "1 already there" in again.stdout


def test_codec_decodes_are_logged_with_who_and_which_cases(running):
    gateway, keys, _ = running
    with httpx.Client(base_url=gateway.base, timeout=30) as h:
        h.put("/v1/cases/codec-case-7", json={"complaint": complaint()}, headers=bearer(keys["dispatcher"]))
        import asyncio

        from models import Notice, NoticeKind
        from starter import data_converter
        from starter.codec import payloads_to_json

        payloads = asyncio.run(
            data_converter().encode(
                [Notice(case_id="codec-case-7", recipient="supervisor", kind=NoticeKind.breach, text="超时")]
            )
        )
        answer = h.post("/codec/decode", content=payloads_to_json(payloads), headers=bearer(keys["supervisor"]))
        assert answer.status_code == 200, answer.text
        assert (
            h.post("/codec/decode", content=payloads_to_json(payloads), headers=bearer(keys["dispatcher"])).status_code
            == 403
        )
    for _ in range(50):
        lines = [json.loads(line) for line in gateway.log.read_text().splitlines() if line.startswith("{")]
        decodes = [line for line in lines if line.get("event") == "payloads decoded"]
        if decodes:
            break
        time.sleep(0.1)
    assert decodes[-1]["identity"] == "sup-wang" and decodes[-1]["case_ids"] == ["codec-case-7"]


def test_fuzz_the_openapi_description(running):
    """Every operation, with data generated from the description (valid and not): no answer is a
    5xx and every answer matches the description (status, content type, headers, schema). Not
    checked: that data valid by the schema is always accepted, since the engine's rules go beyond
    what a schema says (a complainant unless on patrol, a received_at not in the future, a case
    whose status allows the update). A body too large for the gateway (413) is a rejection too:
    schemathesis.toml adds it to the statuses that count."""
    gateway, keys, _ = running
    schema = schemathesis.openapi.from_url(f"{gateway.base}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 28

    for operation, mode in itertools.product(operations, GenerationMode):

        @given(case=operation.as_strategy(mode))
        @settings(
            max_examples=FUZZ_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: schemathesis.Case) -> None:
            case.call_and_validate(
                headers=bearer(keys["supervisor"]), timeout=60, excluded_checks=[positive_data_acceptance]
            )

        try:
            call()
        except Unsatisfiable:
            assert mode == GenerationMode.NEGATIVE, operation.label  # nothing invalid to send (/healthz)
