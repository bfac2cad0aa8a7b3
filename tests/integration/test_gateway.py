"""The /v1 API through httpx, in this process, on a real Temporal dev server and worker."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json

import httpx
import pytest

from models import Notice, NoticeKind, Role
from starter import data_converter
from starter.codec import payloads_to_json
from starter.identities import IdentityStore
from tests.support.cases import complaint, new_id, unique_phone
from tests.support.http import app_on, dev_engine, filing, gateway_settings, http, identities_url, make_identities

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
async def engine(tmp_path_factory):
    async with dev_engine(tmp_path_factory.mktemp("gateway-dev")) as running:
        yield running


@pytest.fixture(scope="module")
async def gw(engine, tmp_path_factory):
    client, read_model, queue = engine
    tmp = tmp_path_factory.mktemp("gateway")
    keys = make_identities(tmp)
    app = app_on(client, read_model, gateway_settings(tmp, task_queue=queue))
    async with http(app) as h:
        yield h, keys, tmp


def problem_of(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


async def settled(h: httpx.AsyncClient, keys, case_id: str) -> httpx.Response:
    """The case once the engine's own acknowledgement (sent in the background) is in: from then on
    only our updates change its version."""
    for _ in range(200):
        answer = await h.get(f"/v1/cases/{case_id}", headers=keys["sup-wang"])
        if any(e["kind"] == "acknowledged" for e in answer.json()["timeline"]):
            return answer
        await asyncio.sleep(0.05)
    raise AssertionError(f"case {case_id} was never acknowledged")


async def file(h: httpx.AsyncClient, keys, case_id: str | None = None, **overrides) -> httpx.Response:
    body = filing(complaint(**overrides))
    if case_id is None:
        return await h.post("/v1/cases", json=body, headers=keys["hotline-07"])
    return await h.put(f"/v1/cases/{case_id}", json=body, headers=keys["hotline-07"])


async def test_filing_is_idempotent_on_the_case_id(gw):
    h, keys, _ = gw
    case_id, body = new_id(), filing(complaint())
    first = await h.put(f"/v1/cases/{case_id}", json=body, headers=keys["hotline-07"])
    assert first.status_code == 201, first.text
    assert first.headers["location"] == f"/v1/cases/{case_id}"
    assert first.headers["etag"] == f'"{first.json()["version"]}"'
    assert first.json()["case_id"] == case_id and first.json()["status"] == "received"
    # The unit suggested for dispatch (智能派单, edition 11): here no model, so the routing table's.
    suggested = first.json()["suggestion"]
    assert suggested["by"] == "routing" and suggested["unit"] == "光明区住房和建设局" and suggested["why"]
    refused = problem_of(
        await h.post("/v1/cases", json=dict(body, suggestion=suggested), headers=keys["hotline-07"]), 422
    )
    assert "suggestion" in str(refused)
    again = await h.put(f"/v1/cases/{case_id}", json=body, headers=keys["hotline-07"])
    assert again.status_code == 200 and again.json()["case_id"] == case_id
    other = dict(body, complaint=dict(body["complaint"], title="另一件事"))
    problem_of(await h.put(f"/v1/cases/{case_id}", json=other, headers=keys["hotline-07"]), 409)


async def test_post_makes_the_case_id(gw):
    h, keys, _ = gw
    made = await file(h, keys)
    assert made.status_code == 201, made.text
    case_id = made.json()["case_id"]
    assert made.headers["location"] == f"/v1/cases/{case_id}"
    assert (await h.get(made.headers["location"], headers=keys["sup-wang"])).json()["case_id"] == case_id


async def test_closed_loop_over_http_with_the_callers_as_actors(gw):
    h, keys, _ = gw
    case_id = (await file(h, keys)).json()["case_id"]
    steps = [
        ("hotline-07", "dispatch", {"department": "区教育局"}),
        ("edu-li", "record_contact", {"note": "电话联系家长"}),
        ("edu-li", "record_verification", {"findings": "情况属实"}),
        ("edu-li", "reply", {"message": "已协调学位"}),
        ("edu-li", "submit_opinion", {"findings": "超龄", "handling": "协调", "next_steps": "入学"}),
        ("edu-li", "resolve", {"resolution": "已入学"}),
        ("hotline-07", "record_follow_up", {"satisfaction": "satisfied", "note": "满意"}),
    ]
    for who, update, payload in steps:
        answer = await h.post(f"/v1/cases/{case_id}/{update}", json=payload, headers=keys[who])
        assert answer.status_code == 200, (update, answer.text)
        assert answer.headers["etag"] == f'"{answer.json()["version"]}"'
    assert answer.json()["status"] == "closed"
    timeline = (await h.get(f"/v1/cases/{case_id}/timeline", headers=keys["audit-zhao"])).json()
    actors = {e["kind"]: e["actor"] for e in timeline["timeline"] if e["actor"]}
    # The event keeps the actor as it acted, its scope included (none: the whole city).
    assert actors["dispatched"] == {
        "id": "hotline-07",
        "role": "dispatcher",
        "department": "区群众诉求服务中心",
        "scope": None,
    }
    assert actors["resolved"]["id"] == "edu-li" and actors["resolved"]["role"] == "handler"
    assert timeline["status"] == "closed" and timeline["runs"] == 1


async def test_units_are_read_in_the_cases_district_and_routed_when_left_out(gw):
    """city-contract.md: a unit by code, name or alias is recorded by its own name; another
    district's unit takes a case only by transfer; dispatch without a department is routed."""
    h, keys, _ = gw
    routed = (await file(h, keys, category="education")).json()["case_id"]
    answer = await h.post(f"/v1/cases/{routed}/dispatch", json={}, headers=keys["hotline-07"])
    assert answer.status_code == 200 and answer.json()["department"] == "光明区教育局", answer.text
    assert "warnings" not in answer.json()
    crossed = (await file(h, keys)).json()["case_id"]
    refused = await h.post(
        f"/v1/cases/{crossed}/dispatch", json={"department": "440303-zj"}, headers=keys["hotline-07"]
    )
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error["field"] == "department" and "罗湖区" in error["message"] and "only by transfer" in error["message"]
    by_alias = await h.post(f"/v1/cases/{crossed}/dispatch", json={"department": "教育局"}, headers=keys["hotline-07"])
    assert by_alias.status_code == 200 and by_alias.json()["department"] == "光明区教育局"
    contact = await h.post(f"/v1/cases/{crossed}/record_contact", json={"note": "已联系"}, headers=keys["edu-li"])
    assert contact.status_code == 200, contact.text  # its handler, whichever name the dispatcher used
    moved = await h.post(
        f"/v1/cases/{crossed}/transfer",
        json={"to_department": "440303-zj", "explanation": "学校属罗湖区管辖"},
        headers=keys["edu-li"],
    )
    assert moved.status_code == 200 and moved.json()["department"] == "罗湖区住房和建设局", moved.text
    unlisted = await h.post(
        f"/v1/cases/{routed}/transfer",
        json={"to_department": "区房管局", "explanation": "房屋问题"},
        headers=keys["edu-li"],
    )
    assert unlisted.status_code == 200 and unlisted.json()["warnings"][0].startswith("to_department: '区房管局'")


async def test_a_body_naming_another_actor_is_refused_and_changes_nothing(gw):
    h, keys, _ = gw
    case_id = (await file(h, keys)).json()["case_id"]
    before = (await settled(h, keys, case_id)).json()
    claim = {"department": "区教育局", "actor": {"id": "sup-wang", "role": "supervisor", "department": "区信访局"}}
    body = problem_of(await h.post(f"/v1/cases/{case_id}/dispatch", json=claim, headers=keys["hotline-07"]), 403)
    assert "names supervisor sup-wang" in body["detail"]
    after = (await h.get(f"/v1/cases/{case_id}", headers=keys["sup-wang"])).json()
    assert after["version"] == before["version"] and after["status"] == "received"
    # Naming oneself is no lie: accepted.
    own = {
        "department": "区教育局",
        "actor": {"id": "hotline-07", "role": "dispatcher", "department": "区群众诉求服务中心"},
    }
    assert (await h.post(f"/v1/cases/{case_id}/dispatch", json=own, headers=keys["hotline-07"])).status_code == 200


async def test_who_may_not_is_403_before_what_the_case_refuses_is_409(gw):
    h, keys, _ = gw
    case_id = (await file(h, keys)).json()["case_id"]
    body = problem_of(
        await h.post(f"/v1/cases/{case_id}/dispatch", json={"department": "区教育局"}, headers=keys["audit-zhao"]), 403
    )
    assert "auditor" in body["detail"]
    problem_of(
        await h.post(f"/v1/cases/{case_id}/dispatch", json={"department": "区教育局"}, headers=keys["edu-li"]), 403
    )
    # The right to act comes before the status: one who may not act is not told the case's status.
    body = problem_of(
        await h.post(f"/v1/cases/{case_id}/resolve", json={"resolution": "x"}, headers=keys["edu-li"]), 403
    )
    assert "resolve" in body["detail"] and "received" not in body["detail"]
    body = problem_of(
        await h.post(f"/v1/cases/{case_id}/decide_extension", json={"approve": True}, headers=keys["sup-wang"]), 409
    )
    assert "received" in body["detail"]
    assert (
        await h.post(f"/v1/cases/{case_id}/dispatch", json={"department": "区教育局"}, headers=keys["hotline-07"])
    ).status_code == 200
    problem_of(await h.post(f"/v1/cases/{case_id}/resolve", json={"resolution": "x"}, headers=keys["traffic-wu"]), 403)
    problem_of(
        await h.post("/v1/cases/no-such-case/dispatch", json={"department": "x"}, headers=keys["hotline-07"]), 404
    )
    problem_of(await h.put(f"/v1/cases/{new_id()}", json=filing(complaint()), headers=keys["edu-li"]), 403)


async def test_if_match_names_the_version_and_a_stale_one_changes_nothing(gw):
    h, keys, _ = gw
    case_id = (await file(h, keys)).json()["case_id"]
    etag = (await settled(h, keys, case_id)).headers["etag"]
    stale = f'"{int(etag.strip(chr(34))) - 1}"'
    problem_of(
        await h.post(
            f"/v1/cases/{case_id}/dispatch",
            json={"department": "区教育局"},
            headers=keys["hotline-07"] | {"If-Match": stale},
        ),
        412,
    )
    unchanged = await h.get(f"/v1/cases/{case_id}", headers=keys["hotline-07"])
    assert unchanged.headers["etag"] == etag and unchanged.json()["status"] == "received"
    done = await h.post(
        f"/v1/cases/{case_id}/dispatch",
        json={"department": "区教育局"},
        headers=keys["hotline-07"] | {"If-Match": etag},
    )
    assert done.status_code == 200 and done.headers["etag"] != etag
    body = problem_of(
        await h.post(
            f"/v1/cases/{case_id}/escalate", json={"reason": "r"}, headers=keys["sup-wang"] | {"If-Match": "soon"}
        ),
        422,
    )
    assert body["errors"][0]["field"] == "header.If-Match"


async def test_a_retry_with_the_same_idempotency_key_returns_the_first_answer(gw):
    h, keys, _ = gw
    case_id = (await file(h, keys)).json()["case_id"]
    await h.post(f"/v1/cases/{case_id}/dispatch", json={"department": "区教育局"}, headers=keys["hotline-07"])
    retry = keys["edu-li"] | {"Idempotency-Key": f"{case_id}-contact-1"}
    first = await h.post(f"/v1/cases/{case_id}/record_contact", json={"note": "电话联系"}, headers=retry)
    second = await h.post(f"/v1/cases/{case_id}/record_contact", json={"note": "电话联系"}, headers=retry)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    whole = (await h.get(f"/v1/cases/{case_id}", headers=keys["edu-li"])).json()
    assert [e["kind"] for e in whole["timeline"]].count("contacted") == 1
    third = await h.post(
        f"/v1/cases/{case_id}/record_contact",
        json={"note": "再次联系"},
        headers=keys["edu-li"] | {"Idempotency-Key": f"{case_id}-contact-2"},
    )
    assert third.json()["version"] > first.json()["version"]


async def test_keys_are_needed_and_a_revoked_key_ends_within_a_second(gw):
    h, keys, tmp = gw
    problem_of(await h.get("/v1/cases"), 401)
    problem_of(await h.get("/v1/cases", headers={"Authorization": "Bearer cck_000000000000_" + "x" * 43}), 401)
    problem_of(await h.get("/v1/cases", headers={"Authorization": "Basic abc"}), 401)
    store = IdentityStore(identities_url(tmp))
    key = store.add("temp-1", Role.supervisor)
    assert (await h.get("/v1/cases", headers={"Authorization": f"Bearer {key}"})).status_code == 200
    store.revoke("temp-1")  # by another process, as far as the gateway knows: its own store
    for _ in range(20):  # every process looks at the identities' change counter twice a second
        answer = await h.get("/v1/cases", headers={"Authorization": f"Bearer {key}"})
        if answer.status_code == 401:
            break
        await asyncio.sleep(0.05)
    problem_of(answer, 401)
    with store.engine.connect() as conn:  # what the database holds: a hash, never the secret
        text = repr(conn.exec_driver_sql("SELECT * FROM identities").all())
    assert key not in text and key.split("_", 2)[2] not in text  # the secret may hold "_" itself


async def test_bad_input_names_every_field(gw):
    h, keys, _ = gw
    bad = filing(complaint(title="", complainant={"name": "陈", "phone": "12345"}, category="noise"))
    body = problem_of(await h.post("/v1/cases", json=bad, headers=keys["hotline-07"]), 422)
    fields = {e["field"] for e in body["errors"]}
    assert {"complaint.title", "complaint.complainant.phone", "complaint.category"} <= fields, fields
    body = problem_of(
        await h.post(
            "/v1/cases",
            content=b'{"complaint": {\n  "title": x}}',
            headers=keys["hotline-07"] | {"Content-Type": "application/json"},
        ),
        422,
    )
    # Broken JSON names the body and where in it, not a byte offset as if it were a field.
    assert body["errors"][0]["field"] == "body", body
    assert "line 2, column 12" in body["errors"][0]["message"], body
    case_id = (await file(h, keys)).json()["case_id"]
    body = problem_of(
        await h.post(f"/v1/cases/{case_id}/dispatch", json={"department": "", "extra": 1}, headers=keys["hotline-07"]),
        422,
    )
    assert {e["field"] for e in body["errors"]} == {"department", "extra"}
    body = problem_of(await h.put("/v1/cases/-bad id-", json=filing(complaint()), headers=keys["hotline-07"]), 422)
    assert body["errors"][0]["field"] == "case_id"
    assert not any("Value error" in e["message"] for e in body["errors"]), body
    future = filing(complaint(received_at="2099-01-01T00:00:00+08:00"))
    body = problem_of(await h.post("/v1/cases", json=future, headers=keys["hotline-07"]), 422)
    assert body["errors"][0]["field"] == "complaint.received_at"


async def test_a_misspelt_update_is_told_the_updates_there_are(gw):
    h, keys, _ = gw
    case_id = (await file(h, keys)).json()["case_id"]
    body = problem_of(await h.post(f"/v1/cases/{case_id}/dispach", json={}, headers=keys["hotline-07"]), 404)
    assert "dispach" in body["detail"] and "dispatch" in body["detail"] and "record_contact" in body["detail"]


async def test_a_validators_message_has_no_value_error_prefix(gw):
    h, keys, _ = gw
    bad = filing(complaint(complainant={"name": "陈", "phone": "12345"}))
    body = problem_of(await h.post("/v1/cases", json=bad, headers=keys["hotline-07"]), 422)
    phone = next(e for e in body["errors"] if e["field"] == "complaint.complainant.phone")
    assert not phone["message"].startswith("Value error"), phone
    assert "Value error" not in body["detail"]


async def test_bodies_over_64_kib_are_413(gw):
    h, keys, _ = gw
    huge = filing(complaint(description="长" * 30_000))
    problem_of(
        await h.post(
            "/v1/cases",
            content=json.dumps(huge, ensure_ascii=False).encode(),
            headers=keys["hotline-07"] | {"Content-Type": "application/json"},
        ),
        413,
    )

    async def chunks():
        yield b'{"complaint": {"description": "'
        for _ in range(70):
            yield b"x" * 1024
        yield b'"}}'

    problem_of(
        await h.post("/v1/cases", content=chunks(), headers=keys["hotline-07"] | {"Content-Type": "application/json"}),
        413,
    )


async def test_personal_data_is_clear_only_for_those_who_handle_or_supervise(gw):
    h, keys, _ = gw
    case_id = (await file(h, keys, complainant={"name": "刘先生", "phone": "13800138000"})).json()["case_id"]
    await h.post(f"/v1/cases/{case_id}/dispatch", json={"department": "区教育局"}, headers=keys["hotline-07"])
    seen = {}
    for who in ("sup-wang", "hotline-07", "edu-li", "traffic-wu", "audit-zhao", "secretary-xq"):
        answer = await h.get(f"/v1/cases/{case_id}", headers=keys[who])
        assert answer.status_code == 200 and answer.headers["etag"]
        seen[who] = answer.json()["complaint"]["complainant"]
    for who in ("sup-wang", "hotline-07", "edu-li"):
        assert seen[who] == {"name": "刘先生", "phone": "13800138000", "email": None, "masked": False}
    for who in ("traffic-wu", "audit-zhao", "secretary-xq"):
        assert seen[who]["masked"] and seen[who]["phone"] == "138****8000" and seen[who]["name"] == "刘**"
    listed = await h.get("/v1/cases", headers=keys["sup-wang"])
    assert "13800138000" not in listed.text and "刘先生" not in listed.text


async def test_lists_page_and_filter_through_visibility(gw):
    h, keys, _ = gw
    street = f"测试街道-{new_id()}"
    made = set()
    for _ in range(3):
        made.add(
            (await file(h, keys, location={"district": "光明区", "street": street, "community": "塘家社区"})).json()[
                "case_id"
            ]
        )
    seen: list[str] = []
    token = None
    for _ in range(40):  # visibility catches up in its own time
        seen, token = [], None
        while True:
            params = {"street": street, "page_size": 2} | ({"next_page_token": token} if token else {})
            page = await h.get("/v1/cases", params=params, headers=keys["audit-zhao"])
            assert page.status_code == 200, page.text
            assert len(page.json()["cases"]) <= 2
            seen += [c["case_id"] for c in page.json()["cases"]]
            token = page.json()["next_page_token"]
            if not token:
                break
        if set(seen) == made:
            break
        await asyncio.sleep(0.25)
    assert sorted(seen) == sorted(made)
    problem_of(await h.get("/v1/cases", params={"page_size": 501}, headers=keys["sup-wang"]), 422)
    problem_of(await h.get("/v1/cases", params={"next_page_token": "%%%"}, headers=keys["sup-wang"]), 422)
    problem_of(await h.get("/v1/cases", params={"status": "lost"}, headers=keys["sup-wang"]), 422)
    typo = problem_of(await h.get("/v1/cases", params={"overdu": "true"}, headers=keys["sup-wang"]), 422)
    assert "overdu" in str(typo)  # a misspelt filter is refused, not ignored (the list would be wider)
    problem_of(await h.get("/v1/stats?=false", headers=keys["sup-wang"]), 422)


async def test_stats_as_json(gw):
    h, keys, _ = gw
    answer = await h.get("/v1/stats", params={"by": "department"}, headers=keys["sup-wang"])
    assert answer.status_code == 200, answer.text
    rows = answer.json()["rows"]
    assert rows[-1]["group"] == "total" and "resolution_rate" in rows[-1]
    problem_of(await h.get("/v1/stats", params={"since": "yesterday"}, headers=keys["sup-wang"]), 422)
    problem_of(
        await h.get("/v1/stats", params={"since": "2026-11-02", "until": "2026-11-01"}, headers=keys["sup-wang"]), 422
    )


async def test_public_pages_need_no_key(gw):
    h, _, _ = gw
    assert (await h.get("/openapi.json")).json()["info"]["title"]
    assert (await h.get("/docs")).status_code == 200
    assert (await h.get("/healthz")).json() == {"status": "ok", "temporal": "ok", "read_model": "ok"}
    problem_of(await h.get("/v1/nowhere"), 404)


async def test_the_rate_limit_answers_429_with_retry_after(engine, tmp_path):
    client, read_model, queue = engine
    keys = make_identities(tmp_path)
    config = gateway_settings(tmp_path, task_queue=queue)
    app = app_on(client, read_model, dataclasses.replace(config, rate_limit=0.5, rate_burst=2))
    async with http(app) as h:
        statuses = [(await h.get("/v1/cases", headers=keys["sup-wang"])).status_code for _ in range(3)]
        assert statuses[:2] == [200, 200] and statuses[2] == 429
        limited = await h.get("/v1/cases", headers=keys["sup-wang"])
        assert int(limited.headers["retry-after"]) >= 1
        # Another identity has its own share.
        assert (await h.get("/v1/cases", headers=keys["audit-zhao"])).status_code == 200


async def test_503_names_what_does_not_answer(read_model, tmp_path):
    from temporalio.client import Client

    from readmodel import ReadModel
    from starter import data_converter

    keys = make_identities(tmp_path)
    nowhere = await Client.connect("127.0.0.1:1", data_converter=data_converter(), lazy=True)
    down = ReadModel(f"sqlite:///{tmp_path / 'rm.db'}", b"k")
    down.engine.dispose()
    (tmp_path / "rm.db").unlink()
    (tmp_path / "rm.db").mkdir()  # a folder where the database should be: it cannot open
    async with http(app_on(nowhere, down, gateway_settings(tmp_path))) as h:
        health = problem_of(await h.get("/healthz"), 503)
        assert "temporal" in health["detail"] and "read_model" in health["detail"]
        problem_of(await h.get("/v1/cases/some-case", headers=keys["sup-wang"]), 503)
        problem_of(
            await h.post("/v1/cases/some-case/dispatch", json={"department": "d"}, headers=keys["hotline-07"]), 503
        )


async def test_codec_endpoint_for_supervisors_and_auditors_only(gw):
    h, keys, _ = gw
    converter = data_converter()
    [payload] = await converter.encode(
        [
            Notice(
                case_id="codec-case-1",
                recipient="complainant",
                kind=NoticeKind.acknowledgement,
                text="受理告知",
                address="13800138000",
            )
        ]
    )
    body = payloads_to_json([payload])
    assert "13800138000" not in body
    decoded = await h.post(
        "/codec/decode",
        content=body,
        headers=keys["audit-zhao"] | {"Content-Type": "application/json", "X-Namespace": "default"},
    )
    assert decoded.status_code == 200
    assert "13800138000" in base64.b64decode(decoded.json()["payloads"][0]["data"]).decode()
    assert (await h.post("/codec/decode", content=body, headers=keys["edu-li"])).status_code == 403
    assert (await h.post("/codec/decode", content=body)).status_code == 401
    assert (await h.post("/codec/decode", content=b"nonsense", headers=keys["sup-wang"])).status_code == 400
    encoded = await h.post("/codec/encode", content=decoded.text, headers=keys["sup-wang"])
    assert encoded.status_code == 200 and "13800138000" not in encoded.text
    preflight = await h.options(
        "/codec/decode",
        headers={
            "Origin": "http://localhost:8233",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:8233"
    elsewhere = await h.options(
        "/codec/decode", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in elsewhere.headers


async def test_every_decode_log_names_its_cases_or_says_why_not(gw):
    from structlog.testing import capture_logs

    h, keys, _ = gw
    converter = data_converter()
    named = await converter.encode(
        [Notice(case_id="codec-case-2", recipient="complainant", kind=NoticeKind.acknowledgement, text="t")]
    )
    unnamed = await converter.encode([{"resolution": "已修复"}])
    with capture_logs() as logged:
        for payloads in (named, unnamed):
            answer = await h.post("/codec/decode", content=payloads_to_json(payloads), headers=keys["sup-wang"])
            assert answer.status_code == 200
    decodes = [e for e in logged if e["event"] == "payloads decoded"]
    assert decodes[0]["case_ids"] == ["codec-case-2"] and "why" not in decodes[0]
    assert decodes[1]["case_ids"] == [] and decodes[1]["naming_no_case"] == 1 and "workflow" in decodes[1]["why"]


async def test_a_dispute_over_http_its_parties_masked_for_whoever_does_not_mediate_it(gw):
    """Issue 25 through /v1: the new updates come from the one table; a dispute's parties are
    personal data, in clear for its mediator, masked for an auditor; another organisation's
    mediator is refused with 403."""
    h, keys, tmp = gw
    store = IdentityStore(identities_url(tmp))
    mediator_id = f"hong-{new_id()}"
    mediator = {"Authorization": f"Bearer {store.add(mediator_id, Role.mediator, department='虹姐调解工作室')}"}
    stranger = {"Authorization": f"Bearer {store.add(f'other-{new_id()}', Role.mediator, department='另一调解委员会')}"}
    case_id = (await file(h, keys)).json()["case_id"]
    parties = [
        {"side": "applicant", "name": "陈女士", "phone": "13900000001"},
        {"side": "respondent", "name": "李先生", "phone": "13900000002"},
    ]
    started = await h.post(
        f"/v1/cases/{case_id}/start_mediation", json={"kind": "tenancy", "parties": parties}, headers=keys["hotline-07"]
    )
    assert started.status_code == 200, started.text
    assert started.json()["status"] == "mediating" and started.json()["dispute"]["parties"][0]["name"] == "陈女士"
    assign = {"mediator": {"id": mediator_id, "name": "虹姐", "organisation": "虹姐调解工作室"}}
    assert (
        await h.post(f"/v1/cases/{case_id}/assign_mediator", json=assign, headers=keys["sup-wang"])
    ).status_code == 200
    audited = (await h.get(f"/v1/cases/{case_id}", headers=keys["audit-zhao"])).json()["dispute"]["parties"]
    assert [(p["name"], p["phone"]) for p in audited] == [("陈**", "139****0001"), ("李**", "139****0002")]
    seen = (await h.get(f"/v1/cases/{case_id}", headers=mediator)).json()["dispute"]["parties"]
    assert seen[1]["phone"] == "13900000002"
    session = {"at": "2030-01-01T10:00:00+08:00", "place": "调解室"}
    refused = problem_of(await h.post(f"/v1/cases/{case_id}/schedule_session", json=session, headers=stranger), 403)
    assert "虹姐调解工作室" in refused["detail"]
    ok = await h.post(f"/v1/cases/{case_id}/schedule_session", json=session, headers=mediator)
    assert ok.status_code == 200, ok.text
    assert [e["kind"] for e in ok.json()["timeline"]] == ["session_scheduled"]
    # GET /v1/cases?kind=dispute: through Temporal visibility (DisputeKind), eventually consistent.
    for _ in range(100):
        listed = await h.get("/v1/cases?kind=dispute&page_size=500", headers=keys["sup-wang"])
        if case_id in listed.text:
            break
        await asyncio.sleep(0.1)
    assert listed.status_code == 200 and case_id in [c["case_id"] for c in listed.json()["cases"]]
    tenancy = await h.get("/v1/cases?kind=tenancy&page_size=500", headers=keys["sup-wang"])
    assert case_id in tenancy.text
    labour = await h.get("/v1/cases?kind=labour&page_size=500", headers=keys["sup-wang"])
    assert labour.status_code == 200 and case_id not in labour.text
    assert "kind" in str(problem_of(await h.get("/v1/cases?kind=quarrel", headers=keys["sup-wang"]), 422))


async def test_a_dispute_filed_as_one_shows_its_parties_only_to_those_who_may_see_them(gw):
    h, keys, _ = gw
    body = filing(complaint(channel="visit"))
    body["complaint"]["dispute"] = {
        "kind": "neighbour",
        "parties": [
            {"side": "applicant", "name": "陈女士", "phone": "13900000001"},
            {"side": "respondent", "name": "李先生", "phone": "13900000002"},
        ],
    }
    filed = await h.post("/v1/cases", json=body, headers=keys["hotline-07"])
    assert filed.status_code == 201 and filed.json()["status"] == "mediating", filed.text
    case_id = filed.json()["case_id"]
    audited = (await h.get(f"/v1/cases/{case_id}", headers=keys["audit-zhao"])).json()
    assert [p["name"] for p in audited["complaint"]["dispute"]["parties"]] == ["陈**", "李**"]
    assert [p["phone"] for p in audited["dispute"]["parties"]] == ["139****0001", "139****0002"]
    seen = (await h.get(f"/v1/cases/{case_id}", headers=keys["sup-wang"])).json()
    assert seen["complaint"]["dispute"]["parties"][1]["phone"] == "13900000002"
    one_sided = filing(complaint(channel="visit"))
    one_sided["complaint"]["dispute"] = {"kind": "neighbour", "parties": body["complaint"]["dispute"]["parties"][:1]}
    refused = problem_of(await h.post("/v1/cases", json=one_sided, headers=keys["hotline-07"]), 422)
    assert "complaint.dispute.parties" in str(refused)


async def test_a_filing_merged_into_an_open_case_answers_merged_into(gw):
    """Issue 37: the contract's "the integrator is told which case now carries it", in the
    filing's own answer: it waits (bounded) for the repeat look-up before it answers."""
    h, keys, _ = gw
    who = {"name": "陈女士", "phone": unique_phone()}
    first = await file(h, keys, complainant=who)
    assert first.status_code == 201, first.text
    second = await file(h, keys, complainant=who, title="楼道仍然堵塞")
    assert second.status_code == 201, second.text
    assert second.json()["status"] == "merged"
    assert second.json()["merged_into"] == first.json()["case_id"]
    assert first.json()["status"] == "received" and first.json()["milestones"]  # accepted, not merged
