"""Scope is security (city-contract.md "Scopes"): over HTTP, on a real dev server and worker, each
identity sees exactly its part of the city on every read path, and a case outside it answers as
an unknown id does. The expected answers are generated from the one rule (models/scope.py), never
written by hand: for every identity x every case, GET, its timeline, an update, the list and the
statistics must agree with `sees`."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest

from activities.similar_watch import SimilarWatch
from activities.webhooks import Timing
from models import Actor, CaseState, Role
from models.scope import seen_by, sees
from readmodel import board
from readmodel.similar import similar_alerts
from readmodel.webhooks import Webhooks
from starter import jurisdictions
from starter.codec import keyring_from_settings
from starter.identities import IdentityStore
from tests.support.cases import RecordingSender, complaint, new_id, unique_phone
from tests.support.http import Keys, app_on, dev_engine, gateway_settings, http, identities_url

# id -> (role, department, scope): two districts, and each level of one of them.
PEOPLE: dict[str, tuple[Role, str | None, str | None]] = {
    "city-sup": (Role.supervisor, None, None),
    "city-hotline": (Role.dispatcher, "市12345", None),
    "gm-sup": (Role.supervisor, "光明区信访局", "440311"),
    "fh-sup": (Role.supervisor, "凤凰街道", "440311004"),  # a street's command centre
    "tj-secretary": (Role.community, "塘家社区", "440311004001"),  # a community
    "gm-housing": (Role.handler, "住建局", "440311"),  # a district bureau's handler
    "gm-water": (Role.handler, "区水务局", "440311"),  # gets a Luohu case by transfer; an alias
    "lh-housing": (Role.handler, "区住建局", "440303"),  # the alias three districts use, read in its own
    "lh-auditor": (Role.auditor, "罗湖区审计局", "440303"),  # an auditor scoped to one district
    "lh-hotline": (Role.dispatcher, "罗湖区诉求中心", "440303"),
}
PLACES = {
    "gm-tangjia": {"district": "光明区", "street": "凤凰街道", "community": "塘家社区"},
    "gm-dongzhou": {"district": "光明区", "street": "光明街道", "community": "东周社区"},
    "lh-dongmen": {"district": "罗湖区", "street": "东门街道", "community": "东门社区"},
    "lh-yucun": {"district": "罗湖区", "street": "南湖街道", "community": "渔邨社区"},
}


@pytest.fixture(scope="module")
async def city(tmp_path_factory):
    """Cases in two districts, one of them transferred to the other district's unit."""
    folder = tmp_path_factory.mktemp("scope-matrix")
    sender = RecordingSender()
    async with dev_engine(folder, sender) as (client, read_model, queue):
        store = IdentityStore(identities_url(folder))
        keys = Keys({i: store.add(i, role, department=d, scope=s) or "" for i, (role, d, s) in PEOPLE.items()})
        STORED.update({i: found.actor for i, found in store.identities().items()})
        app = app_on(client, read_model, gateway_settings(folder, task_queue=queue))
        async with http(app) as h:
            cases = {}
            for name, where in PLACES.items():
                case_id = f"{name}-{new_id()}"
                # Every one red (a threat in its words): the red alerts are a read path too.
                body = {"complaint": complaint(location=where, description="再不解决我就从楼上跳下去")}
                filed = await h.put(f"/v1/cases/{case_id}", json=body, headers=keys["city-hotline"])
                assert filed.status_code == 201, filed.text
                cases[name] = case_id
            moved = cases["lh-dongmen"]
            dispatched = await h.post(
                f"/v1/cases/{moved}/dispatch", json={"department": "440303-zj"}, headers=keys["city-hotline"]
            )
            assert dispatched.status_code == 200, dispatched.text
            transfer = {"to_department": "440311-sw", "explanation": "供水管网属光明区水务局管辖"}
            moved_on = await h.post(f"/v1/cases/{moved}/transfer", json=transfer, headers=keys["lh-housing"])
            assert moved_on.status_code == 200, moved_on.text
            states = {}
            for case_id in cases.values():
                answer = await h.get(f"/v1/cases/{case_id}", headers=keys["city-sup"])
                states[case_id] = CaseState.model_validate(answer.json())
            yield h, keys, states, sender, read_model


# Each identity as stored (its unit by the unit's own name, however PEOPLE named it): the rule's input.
STORED: dict[str, Actor] = {}


def _actor(identity: str) -> Actor:
    return STORED[identity]


def _expected(identity: str, states: dict[str, CaseState]) -> set[str]:
    return {case_id for case_id, s in states.items() if sees(_actor(identity), s.where())}


def test_the_rule_gives_each_identity_its_own_part(city):
    """Not a tautology: the matrix below is only as good as the cases cover the rule."""
    _, _, states, _, _ = city
    assert len(_expected("city-sup", states)) == 4
    assert len(_expected("gm-sup", states)) == 2  # its district's; a unit's transfer is its handlers'
    assert len(_expected("fh-sup", states)) == 1 and len(_expected("tj-secretary", states)) == 1
    assert len(_expected("lh-auditor", states)) == 2 and len(_expected("lh-housing", states)) == 2
    assert len(_expected("gm-water", states)) == 3  # its district's two, and the one transferred to it


@pytest.mark.parametrize("identity", sorted(PEOPLE))
async def test_a_case_read_its_timeline_and_an_update_answer_by_the_rule(city, identity):
    h, keys, states, _, _ = city
    seen = _expected(identity, states)
    unknown = await h.get(f"/v1/cases/{new_id()}", headers=keys[identity])
    assert unknown.status_code == 404
    for case_id in states:
        read = await h.get(f"/v1/cases/{case_id}", headers=keys[identity])
        timeline = await h.get(f"/v1/cases/{case_id}/timeline", headers=keys[identity])
        # An update that changes nothing for anyone who sees the case: a version long gone.
        stale = {"If-Match": '"99999"'} | keys[identity]
        update = await h.post(f"/v1/cases/{case_id}/escalate", json={"reason": "r"}, headers=stale)
        # Evidence (issue 38): the case's list, and an upload to it (a file the rule's stranger never sends).
        evidence = await h.get(f"/v1/cases/{case_id}/attachments", headers=keys[identity])
        upload = await h.post(
            f"/v1/cases/{case_id}/attachments", files={"file": ("x.bin", b"not a photo")}, headers=keys[identity]
        )
        if case_id in seen:
            assert read.status_code == 200 and timeline.status_code == 200, (case_id, read.text)
            assert update.status_code in (403, 409, 412), update.text
            assert evidence.status_code == 200 and upload.status_code == 415, (evidence.text, upload.text)
        else:
            for answer in (read, timeline, update, evidence, upload):
                assert answer.status_code == 404, (case_id, answer.text)
                assert answer.json()["detail"] == f"no case {case_id}"  # as an unknown id's


async def _listed(h: httpx.AsyncClient, headers: dict[str, str], ours: set[str]) -> set[str]:
    answer = await h.get("/v1/cases", params={"page_size": 500}, headers=headers)
    assert answer.status_code == 200, answer.text
    return {c["case_id"] for c in answer.json()["cases"]} & ours


@pytest.mark.parametrize("identity", sorted(PEOPLE))
async def test_lists_and_statistics_by_the_rule(city, identity):
    h, keys, states, _, read_model = city
    seen, ours = _expected(identity, states), set(states)
    for _ in range(100):  # visibility and the read model follow the cases within moments
        if await _listed(h, keys["city-sup"], ours) == ours and len(read_model.milestones(max(ours))) > 0:
            break
        await asyncio.sleep(0.1)
    for _ in range(50):
        listed = await _listed(h, keys[identity], ours)
        if listed == seen:
            break
        await asyncio.sleep(0.1)
    assert listed == seen
    stats = await h.get("/v1/stats", params={"by": "district", "since": "2020-01-01"}, headers=keys[identity])
    assert stats.status_code == 200, stats.text
    total = stats.json()["rows"][-1]
    assert total["accepted"] == len(seen), stats.json()
    # The overview's red alerts (readmodel/board.py red_cases), as the console asks for them.
    red = {r.case_id for r in board.red_cases(read_model, seen_by(_actor(identity), jurisdictions.tree()))}
    assert red & ours == seen
    # 类案 (readmodel/similar.py): the matrix's cases all say the same, so what the viewer is shown
    # of them is one cluster of exactly the cases it sees (none when it sees one community's).
    at = [s.received_at for s in states.values()]
    alerts = similar_alerts(
        read_model, since=min(at) - timedelta(hours=1), until=max(at) + timedelta(hours=1),
        seen=seen_by(_actor(identity), jurisdictions.tree()), people=1,
    )  # fmt: skip
    shown = {c.case_id for a in alerts for c in a.cases} & ours
    communities = {states[c].place.community if states[c].place else None for c in seen}
    assert shown == (seen if len(communities) > 1 else set()), identity
    # The cluster_alert webhook (activities/similar_watch.py): a subscription with this identity's
    # eyes is owed the same alerts, of the same cases, and no other.
    store, name = Webhooks(read_model.engine, keyring_from_settings()), f"alerts-{identity}"
    store.add(name, _actor(identity), "https://alerts.example.gov.cn/hook", ["cluster_alert"])
    try:
        watch = SimilarWatch(read_model, store, jurisdictions.tree, "complaints", Timing(), people=1)
        assert {owed for owed, _ in watch.owe(max(at) + timedelta(minutes=1))} <= {name}
        told = {c for key in _owed_alerts(read_model, name) for c in store.alert(name, key).alert["case_ids"]}  # type: ignore[union-attr]
        assert told & ours == (seen if len(communities) > 1 else set()), identity
    finally:
        store.remove(name)


def _owed_alerts(read_model, name: str) -> list[str]:
    from sqlalchemy import select

    from readmodel.webhooks import ALERTS

    with read_model.engine.connect() as conn:
        return list(conn.execute(select(ALERTS.c.key).where(ALERTS.c.webhook == name)).scalars())


async def test_a_place_outside_the_scope_is_unknown_and_filing_outside_it_refused(city):
    h, keys, states, _, _ = city
    inside = await h.get("/v1/cases", params={"within": "440311004"}, headers=keys["gm-sup"])
    assert inside.status_code == 200
    assert {c["case_id"] for c in inside.json()["cases"]} & set(states) == {
        c for c, s in states.items() if s.place and s.place.street == "440311004"
    }
    outside = await h.get("/v1/cases", params={"within": "440303"}, headers=keys["gm-sup"])
    assert outside.status_code == 404
    stats = await h.get("/v1/stats", params={"within": "440303"}, headers=keys["fh-sup"])
    assert stats.status_code == 404
    body = {"complaint": complaint(location=PLACES["gm-tangjia"])}
    refused = await h.put(f"/v1/cases/{new_id()}", json=body, headers=keys["lh-hotline"])
    assert refused.status_code == 403 and "complaint.location" in refused.json()["detail"]


async def test_the_same_phone_category_and_community_name_in_two_districts_are_two_cases(city):
    h, keys, _, _, _ = city
    phone = unique_phone()
    ids = []
    for district, street in (("光明区", "凤凰街道"), ("罗湖区", "东门街道")):
        where = {"district": district, "street": street, "community": "新村社区"}  # in neither's tree
        body = {"complaint": complaint(location=where, complainant={"name": "陈女士", "phone": phone})}
        case_id = new_id()
        filed = await h.put(f"/v1/cases/{case_id}", json=body, headers=keys["city-hotline"])
        assert filed.status_code == 201, filed.text
        assert filed.json()["unplaced"] is True and filed.json()["place"]["street"]
        ids.append(case_id)
    await asyncio.sleep(1.0)  # the repeat look-up runs as the case starts
    for case_id in ids:
        answer = await h.get(f"/v1/cases/{case_id}", headers=keys["city-sup"])
        assert answer.json()["status"] != "merged" and answer.json()["merged_into"] is None


async def test_a_luohu_case_is_signed_luohu_and_an_unplaced_one_is_placed(city):
    h, keys, states, sender, _ = city
    yucun = next(c for c, s in states.items() if s.place and s.place.street == "440303005")
    await sender.wait_for(yucun, "complainant", "acknowledgement")
    [ack] = [n for n in sender.notices if n.case_id == yucun and n.kind.value == "acknowledgement"]
    assert ack.text.startswith("【罗湖区群众诉求服务】"), ack.text
    where = {"district": "罗湖区", "street": "东门街道", "community": "新开社区"}
    case_id = new_id()
    filed = await h.put(
        f"/v1/cases/{case_id}", json={"complaint": complaint(location=where)}, headers=keys["lh-hotline"]
    )
    assert filed.status_code == 201 and filed.json()["unplaced"] is True
    assert "湖贝社区" in filed.json()["nearest_places"] or filed.json()["nearest_places"]
    elsewhere = await h.post(f"/v1/cases/{case_id}/place", json={"code": "440311004001"}, headers=keys["lh-hotline"])
    assert elsewhere.status_code == 422 and "outside your scope" in elsewhere.text
    placed = await h.post(f"/v1/cases/{case_id}/place", json={"code": "440303003002"}, headers=keys["lh-hotline"])
    assert placed.status_code == 200, placed.text
    assert placed.json()["place"]["community"] == "440303003002" and placed.json()["unplaced"] is False
    again = await h.post(f"/v1/cases/{case_id}/place", json={"code": "440303003003"}, headers=keys["lh-hotline"])
    assert again.status_code == 409 and "already placed" in again.json()["detail"]


async def test_a_district_outside_the_tree_is_422_naming_the_field(city):
    h, keys, _, _, _ = city
    where = {"district": "不存在区", "street": "随便街道", "community": "某社区"}
    refused = await h.put(
        f"/v1/cases/{new_id()}", json={"complaint": complaint(location=where)}, headers=keys["city-hotline"]
    )
    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert error["field"] == "complaint.location.district" and "光明区" in error["message"]


def _form(key: str, **fields: str) -> dict[str, str]:
    return {
        "api_key": key,
        "service_code": "property",
        "description": "小区停水三天",
        "phone": unique_phone(),
        "first_name": "陈",
        "address_string": "东门街道湖贝社区",
        "attribute[street]": "东门街道",
        "attribute[community]": "湖贝社区",
    } | fields


async def test_open311_serves_each_district_by_its_jurisdiction_id(city):
    h, keys, _, _, _ = city
    discovery = (await h.get("/open311/v2/discovery.json")).json()
    assert {j["jurisdiction_id"] for j in discovery["jurisdictions"]} == {"440311", "440303", "341602"}
    qiaocheng = (await h.get("/open311/v2/services.json", params={"jurisdiction_id": "341602"})).json()
    assert all("谯城区按13710时限办理" in s["description"] for s in qiaocheng)
    unknown = await h.get("/open311/v2/services.json", params={"jurisdiction_id": "999999"})
    assert unknown.status_code == 404
    definition = await h.get("/open311/v2/services/property.json", params={"jurisdiction_id": "440303"})
    assert next(a for a in definition.json()["attributes"] if a["code"] == "district")["required"] is False
    created = await h.post(
        "/open311/v2/requests.json", data=_form(keys.by_id["city-hotline"], jurisdiction_id="440303")
    )
    assert created.status_code == 200, created.text
    [request] = created.json()
    case = await h.get(f"/v1/cases/{request['service_request_id']}", headers=keys["lh-auditor"])
    assert case.status_code == 200 and case.json()["place"]["community"] == "440303003002"
    contradicting = _form(keys.by_id["city-hotline"], jurisdiction_id="440303", **{"attribute[district]": "光明区"})
    refused = await h.post("/open311/v2/requests.json", data=contradicting)
    assert refused.status_code == 400 and "attribute[district]" in refused.text
    # The one filing rule, as on /v1: inside the caller's scope only; never a handler.
    outside = await h.post(
        "/open311/v2/requests.json", data=_form(keys.by_id["tj-secretary"], jurisdiction_id="440303")
    )
    assert outside.status_code == 403 and "complaint.location" in outside.text, outside.text
    handler = await h.post("/open311/v2/requests.json", data=_form(keys.by_id["gm-housing"], jurisdiction_id="440303"))
    assert handler.status_code == 403 and "may not take complaints in" in handler.text, handler.text
    inside = await h.post("/open311/v2/requests.json", data=_form(keys.by_id["lh-hotline"], jurisdiction_id="440303"))
    assert inside.status_code == 200, inside.text


def _csrf(page: str) -> str:
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


async def _console(h: httpx.AsyncClient, store_path, identity: str) -> None:
    """Logs `identity` in to the console (a password beside its key, as an operator gives one)."""
    role, department, scope = PEOPLE[identity]
    IdentityStore(store_path).add(identity, role, department=department, scope=scope, password="console-pass-1")
    h.cookies.clear()
    form = await h.get("/console/login")
    answer = await h.post(
        "/console/login",
        data={"identity": identity, "password": "console-pass-1", "csrf": _csrf(form.text), "next": ""},
    )
    assert answer.status_code == 303, answer.text


async def test_the_console_shows_each_supervisor_its_own_part(city, tmp_path_factory):
    h, keys, states, _, _ = city
    store = identities_url(next(iter(tmp_path_factory.getbasetemp().glob("scope-matrix*"))))
    try:
        for identity in ("fh-sup", "city-sup"):
            await _console(h, store, identity)
            seen = _expected(identity, states)
            for case_id in states:
                page = await h.get(f"/console/cases/{case_id}")
                assert page.status_code == (200 if case_id in seen else 404), (identity, case_id)
            board = await h.get("/console/overdue", params={"format": "csv"})
            assert board.status_code == 200
            assert not any(c in board.text for c in set(states) - seen)
            overview = await h.get("/console/")  # its red alerts: every case here is red
            assert overview.status_code == 200 and all(c in overview.text for c in seen), identity
            assert not any(c in overview.text for c in set(states) - seen)
        # The city's league of districts, then down to a district's streets: rows add up.
        top = await h.get("/console/places", params={"within": "440300"})
        assert top.status_code == 200 and "光明区" in top.text and "罗湖区" in top.text
        streets = await h.get("/console/places", params={"within": "440311", "format": "csv"})
        assert streets.status_code == 200 and "凤凰街道" in streets.text
        await _console(h, store, "fh-sup")
        assert (await h.get("/console/places", params={"within": "440303"})).status_code == 404
        mine = await h.get("/console/places")
        assert mine.status_code == 200 and "塘家社区" in mine.text and "罗湖区" not in mine.text
    finally:
        h.cookies.clear()


@pytest.mark.parametrize("identity", sorted(PEOPLE))
async def test_the_tree_each_identity_is_shown_is_its_own_part(city, identity):
    """GET /v1/jurisdictions: the caller's place and what lies under it, never a sibling's."""
    from starter import jurisdictions

    h, keys, _, _, _ = city
    answer = await h.get("/v1/jurisdictions", headers=keys[identity])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    tree = jurisdictions.tree()
    scope = PEOPLE[identity][2]
    expected = {p.code for p in tree.below(scope)} | ({scope} if scope else set())
    assert {p["code"] for p in body["places"]} == expected
    assert all(tree.contains(scope, u["place"]) for u in body["units"])
    assert all(tree.contains(scope, s["place"]) for s in body["stations"])
    if scope is None:
        assert {"440311", "440303", "341602"} <= expected
    elif scope.startswith("440311"):
        assert not any(p["code"].startswith("440303") for p in body["places"])


@pytest.mark.parametrize("identity", ["city-sup", "gm-sup", "lh-auditor"])
async def test_stats_by_unit_and_level_read_the_tree_and_the_scope(city, identity):
    """by=unit groups by the tree's unit codes (a department filed by name or alias is its unit;
    one across a district line too), by=level by the unit's level; both inside the scope only."""
    h, keys, states, _, _ = city
    seen = _expected(identity, states)
    moved = next(c for c in states if c.startswith("lh-dongmen"))
    whole = await h.get("/v1/stats", params={"since": "2020-01-01"}, headers=keys[identity])
    accepted = whole.json()["rows"][-1]["accepted"]  # other tests of this module file cases too
    for by in ("unit", "level"):
        answer = await h.get("/v1/stats", params={"by": by, "since": "2020-01-01"}, headers=keys[identity])
        assert answer.status_code == 200, answer.text
        rows = {r["group"]: r for r in answer.json()["rows"]}
        assert rows["total"]["accepted"] == accepted >= len(seen), (by, rows)
        assert sum(r["accepted"] for g, r in rows.items() if g != "total") == accepted
        held = "440311-sw" if by == "unit" else "district"  # 光明区水务局 holds the transferred case
        assert (held in rows) == (moved in seen), (by, rows)
