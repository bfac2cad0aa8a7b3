"""Open311 GeoReport v2, checked against JSON schemas written from the specification
(wiki.open311.org/GeoReport_v2), in JSON and in XML, on a real dev server and worker."""

from __future__ import annotations

import asyncio
from xml.etree import ElementTree

import jsonschema
import pytest

from tests.support.cases import unique_phone
from tests.support.http import app_on, dev_engine, gateway_settings, http, make_identities

DATETIME = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d)$"}  # with an offset
TEXT = {"type": "string"}
MAYBE = {"type": ["string", "null"]}
ERRORS = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["code", "description"],
        "properties": {"code": {"type": "integer"}, "description": TEXT},
    },
}
DISCOVERY = {
    "type": "object",
    "required": ["changeset", "contact", "key_service", "endpoints"],
    "properties": {
        "changeset": DATETIME,
        "contact": TEXT,
        "key_service": TEXT,
        "endpoints": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["specification", "url", "changeset", "type", "formats"],
                "properties": {
                    "specification": TEXT,
                    "url": TEXT,
                    "changeset": DATETIME,
                    "type": {"enum": ["production", "test"]},
                    "formats": {"type": "array", "items": TEXT},
                },
            },
        },
    },
}
SERVICES = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"],
        "properties": {
            "service_code": TEXT,
            "service_name": TEXT,
            "description": TEXT,
            "metadata": {"type": "boolean"},
            "type": {"enum": ["realtime", "batch", "blackbox"]},
            "keywords": TEXT,
            "group": TEXT,
        },
    },
}
DEFINITION = {
    "type": "object",
    "required": ["service_code", "attributes"],
    "properties": {
        "service_code": TEXT,
        "attributes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "variable",
                    "code",
                    "datatype",
                    "required",
                    "datatype_description",
                    "order",
                    "description",
                ],
                "properties": {
                    "variable": {"type": "boolean"},
                    "code": TEXT,
                    "datatype": {"enum": ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]},
                    "required": {"type": "boolean"},
                    "datatype_description": MAYBE,
                    "order": {"type": "integer"},
                    "description": TEXT,
                    "values": {"type": "array", "items": {"type": "object", "required": ["key", "name"]}},
                },
            },
        },
    },
}
CREATED = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["service_request_id", "service_notice"],
        "properties": {"service_request_id": TEXT, "service_notice": TEXT, "account_id": MAYBE, "token": MAYBE},
    },
}
REQUESTS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["service_request_id", "status", "service_code", "requested_datetime"],
        "properties": {
            "service_request_id": TEXT,
            "status": {"enum": ["open", "closed"]},
            "status_notes": MAYBE,
            "service_name": TEXT,
            "service_code": TEXT,
            "description": MAYBE,
            "agency_responsible": MAYBE,
            "service_notice": MAYBE,
            "requested_datetime": DATETIME,
            "updated_datetime": DATETIME,
            "expected_datetime": {"anyOf": [DATETIME, {"type": "null"}]},
            "address": MAYBE,
            "address_id": MAYBE,
            "zipcode": MAYBE,
            "lat": {"type": ["number", "null"]},
            "long": {"type": ["number", "null"]},
            "media_url": MAYBE,
        },
    },
}
TOKENS = {"type": "array", "items": {"type": "object", "required": ["service_request_id", "token"]}}


@pytest.fixture(scope="module")
async def o311(tmp_path_factory):
    folder = tmp_path_factory.mktemp("open311")
    async with dev_engine(folder) as (client, read_model, queue):
        keys = make_identities(folder)
        async with http(app_on(client, read_model, gateway_settings(folder, task_queue=queue))) as h:
            yield h, keys


def form(key: str | None, phone: str, **changes: str) -> dict[str, str]:
    body = {
        "service_code": "urban_management",
        "lat": "22.7712",
        "long": "113.9425",
        "description": "塘家路12号门口井盖松动，晚上有人踩空。",
        "first_name": "女士",
        "last_name": "陈",
        "phone": phone,
        "email": "chen@example.cn",
        "attribute[district]": "光明区",
        "attribute[street]": "凤凰街道",
        "attribute[community]": "塘家社区",
        "attribute[grid]": "网格07",
    }
    if key:
        body["api_key"] = key
    return body | changes


def xml_items(text: str, root: str, item: str) -> list[dict[str, str | None]]:
    tree = ElementTree.fromstring(text)
    assert tree.tag == root
    return [{child.tag: child.text for child in element} for element in tree.findall(item)]


async def test_discovery_services_and_definitions_as_the_spec_says(o311):
    h, _ = o311
    jsonschema.validate((await h.get("/open311/v2/discovery.json")).json(), DISCOVERY)
    services = (await h.get("/open311/v2/services.json")).json()
    jsonschema.validate(services, SERVICES)
    assert {s["service_code"] for s in services} >= {"urban_management", "education", "medical", "housing"}
    xml = await h.get("/open311/v2/services.xml")
    assert xml.headers["content-type"].startswith("text/xml")  # as discovery advertises
    assert [s["service_code"] for s in xml_items(xml.text, "services", "service")] == [
        s["service_code"] for s in services
    ]
    definition = (await h.get("/open311/v2/services/education.json")).json()
    jsonschema.validate(definition, DEFINITION)
    required = {a["code"] for a in definition["attributes"] if a["required"]}
    assert required == {"district", "street", "community"}
    assert {a["code"] for a in definition["attributes"]} >= {"grid", "track"}
    tree = ElementTree.fromstring((await h.get("/open311/v2/services/education.xml")).text)
    assert tree.tag == "service_definition" and len(tree.findall("attributes/attribute")) == len(
        definition["attributes"]
    )
    missing = await h.get("/open311/v2/services/noise.json")
    assert missing.status_code == 404
    jsonschema.validate(missing.json(), ERRORS)


async def test_post_a_request_then_read_it_back_without_personal_data(o311):
    h, keys = o311
    phone = unique_phone()
    created = await h.post("/open311/v2/requests.json", data=form(keys.by_id["hotline-07"], phone))
    assert created.status_code == 200, created.text
    jsonschema.validate(created.json(), CREATED)
    [answer] = created.json()
    request_id = answer["service_request_id"]
    # GeoReport v2 "POST Service Request": the token is "only returned if service_request_id is
    # not available"; it is, so the answer carries the id alone.
    assert "token" not in answer
    assert "10分钟" in answer["service_notice"] and "1小时" in answer["service_notice"]
    for _ in range(100):  # the read model is written right behind the case
        listed = (await h.get("/open311/v2/requests.json", params={"service_request_id": request_id})).json()
        if listed and listed[0]["expected_datetime"]:  # its deadlines are fixed a moment after acceptance
            break
        await asyncio.sleep(0.05)
    jsonschema.validate(listed, REQUESTS)
    [request] = listed
    assert request["status"] == "open" and request["service_code"] == "urban_management"
    assert request["lat"] == pytest.approx(22.7712) and "塘家社区" in request["address"]
    assert request["description"] == "塘家路12号门口井盖松动，晚上有人踩空。"[:40]
    assert request["expected_datetime"] and request["requested_datetime"].endswith("+08:00")
    one = await h.get(f"/open311/v2/requests/{request_id}.json")
    jsonschema.validate(one.json(), REQUESTS)
    xml = await h.get(f"/open311/v2/requests/{request_id}.xml")
    [item] = xml_items(xml.text, "service_requests", "request")
    assert item["service_request_id"] == request_id and item["status"] == "open"
    token = (await h.get(f"/open311/v2/tokens/{request_id}.json")).json()
    jsonschema.validate(token, TOKENS)
    assert token[0]["service_request_id"] == request_id
    for text in (one.text, xml.text, (await h.get("/open311/v2/requests.json")).text):
        assert phone not in text and "陈" not in text and "chen@example.cn" not in text
    # The native API, for those who may, shows the complainant as given.
    native = (await h.get(f"/v1/cases/{request_id}", headers=keys["sup-wang"])).json()
    assert native["complaint"]["complainant"] == {
        "name": "陈女士",
        "phone": phone,
        "email": "chen@example.cn",
        "masked": False,
    }
    assert native["complaint"]["channel"] == "online"


async def test_post_refusals_are_the_specs_error_list(o311):
    h, keys = o311
    for key in (None, "not-a-key"):
        refused = await h.post("/open311/v2/requests.json", data=form(key, unique_phone()))
        assert refused.status_code == 403
        jsonschema.validate(refused.json(), ERRORS)
    refused = await h.post("/open311/v2/requests.xml", data=form(None, unique_phone()))
    assert refused.status_code == 403 and ElementTree.fromstring(refused.text).tag == "errors"
    auditor = await h.post("/open311/v2/requests.json", data=form(keys.by_id["audit-zhao"], unique_phone()))
    assert auditor.status_code == 403
    bad = await h.post(
        "/open311/v2/requests.json",
        data=form(keys.by_id["hotline-07"], "123", **{"attribute[community]": "", "lat": "95"}),
    )
    assert bad.status_code == 400
    jsonschema.validate(bad.json(), ERRORS)
    named = {e["description"].split(":")[0] for e in bad.json()}
    assert named == {"attribute[community]", "phone", "lat"}, bad.json()
    unknown = await h.post(
        "/open311/v2/requests.json", data=form(keys.by_id["hotline-07"], unique_phone(), service_code="noise")
    )
    assert unknown.status_code == 404
    nowhere = form(keys.by_id["hotline-07"], unique_phone())
    del nowhere["lat"], nowhere["long"]
    assert (await h.post("/open311/v2/requests.json", data=nowhere)).status_code == 400
    # With an address instead of coordinates, and raw UTF-8 as curl -d sends it.
    raw = "&".join(f"{k}={v}" for k, v in (nowhere | {"address_string": "塘家路12号"}).items()).encode()
    made = await h.post(
        "/open311/v2/requests.json", content=raw, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert made.status_code == 200, made.text


async def test_get_requests_filters_and_the_90_day_limit(o311):
    h, keys = o311
    assert (await h.get("/open311/v2/requests.json", params={"status": "open"})).status_code == 200
    too_long = await h.get(
        "/open311/v2/requests.json",
        params={"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-06-01T00:00:00+08:00"},
    )
    assert too_long.status_code == 400
    jsonschema.validate(too_long.json(), ERRORS)
    assert (await h.get("/open311/v2/requests.json", params={"status": "lost"})).status_code == 400
    assert (await h.get("/open311/v2/requests.json", params={"start_date": "yesterday"})).status_code == 400
    assert (await h.get("/open311/v2/requests.json", params={"service_code": "noise"})).status_code == 404
    closed = (
        await h.get("/open311/v2/requests.json", params={"status": "closed", "service_code": "urban_management"})
    ).json()
    jsonschema.validate(closed, REQUESTS)
    assert all(r["status"] == "closed" for r in closed)
    assert (await h.get("/open311/v2/requests/no-such-request.json")).status_code == 404
    assert (await h.get("/open311/v2/tokens/no-such-token.xml")).status_code == 404


async def test_service_code_takes_a_list_as_the_spec_allows(o311):
    """GeoReport v2 "GET Service Requests": service_code, like service_request_id and status, may
    be several; comma-separated or repeated, they are one list."""
    h, keys = o311
    made = {}
    for code in ("urban_management", "labour", "education"):
        created = await h.post(
            "/open311/v2/requests.json", data=form(keys.by_id["hotline-07"], unique_phone(), service_code=code)
        )
        assert created.status_code == 200, created.text
        made[code] = created.json()[0]["service_request_id"]
    for params in (
        {"service_code": "urban_management,labour"},
        [("service_code", "urban_management"), ("service_code", "labour")],
    ):
        found: set[str] = set()
        for _ in range(100):
            answer = await h.get("/open311/v2/requests.json", params=params)
            assert answer.status_code == 200, answer.text
            found = {r["service_request_id"] for r in answer.json()}
            if {made["urban_management"], made["labour"]} <= found:
                break
            await asyncio.sleep(0.05)
        assert {made["urban_management"], made["labour"]} <= found and made["education"] not in found
        assert {r["service_code"] for r in answer.json()} <= {"urban_management", "labour"}
    refused = await h.get("/open311/v2/requests.json", params={"service_code": "labour,noise"})
    assert refused.status_code == 404 and "noise" in refused.text


async def test_an_api_key_in_the_query_string_is_told_where_it_goes(o311):
    """GeoReport v2 "POST Service Request": api_key is a field of the POSTed form."""
    h, keys = o311
    body = form(None, unique_phone())
    refused = await h.post("/open311/v2/requests.json", params={"api_key": keys.by_id["hotline-07"]}, data=body)
    assert refused.status_code == 403
    jsonschema.validate(refused.json(), ERRORS)
    [error] = refused.json()
    assert error["description"].startswith("api_key") and "form body" in error["description"]


async def test_a_request_merged_into_an_open_case_says_so_in_its_answer(o311):
    """Issue 37: the same complainant about the same thing while their first request is open: the
    second is merged, and its POST answer says into which case at once (the filing waits, bounded,
    for the repeat look-up), not 已受理 with a fresh id that a later GET contradicts."""
    h, keys = o311
    phone = unique_phone()
    first = await h.post("/open311/v2/requests.json", data=form(keys.by_id["hotline-07"], phone))
    assert first.status_code == 200, first.text
    [carrier] = first.json()
    second = await h.post(
        "/open311/v2/requests.json", data=form(keys.by_id["hotline-07"], phone, description="井盖还是松的，没人来修。")
    )
    assert second.status_code == 200, second.text
    [merged] = second.json()
    assert merged["service_request_id"] != carrier["service_request_id"]
    assert merged["service_notice"] == f"已并入诉求 {carrier['service_request_id']} 一并办理"
    assert "已受理" in carrier["service_notice"]
