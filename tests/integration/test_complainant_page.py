"""The complainant closes the loop (issue 23), through the gateway in this process on a real dev
server: the link in every SMS, their page, a note, the verdict that closes or reopens, who may
record a follow-up, and links that open nothing."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import update

from readmodel.tables import CASES, LINKS, OUTBOX
from tests.support.cases import RecordingSender, complaint, new_id
from tests.support.http import app_on, dev_engine, filing, gateway_settings, http, identities_url, make_identities

LINK = re.compile(r"http://127\.0\.0\.1:8080(/s/[A-Za-z0-9_-]{24})")


@pytest.fixture(scope="module")
def sms() -> RecordingSender:
    return RecordingSender()


@pytest.fixture(scope="module")
async def engine(tmp_path_factory, sms):
    async with dev_engine(tmp_path_factory.mktemp("complainant-dev"), sender=sms) as running:
        yield running


@pytest.fixture(scope="module")
async def gw(engine, tmp_path_factory):
    client, read_model, queue = engine
    tmp = tmp_path_factory.mktemp("complainant")
    keys = make_identities(tmp)
    async with http(app_on(client, read_model, gateway_settings(tmp, task_queue=queue))) as h:
        yield h, keys, read_model


async def link_in(sms: RecordingSender, case_id: str, template: str) -> str:
    """The link in the SMS the complainant got (the path: the app is reached in this process)."""
    for _ in range(200):
        for n in sms.notices:
            if n.case_id == case_id and n.recipient == "complainant" and n.template == template:
                found = LINK.search(n.text)
                assert found, n.text
                return found.group(1)
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {template} SMS for {case_id}: {sms.kinds(case_id)}")


def csrf_of(page: httpx.Response) -> dict[str, str]:
    """The hidden fields of the page's forms, as a browser sends them."""
    found = {name: re.search(rf'name="{name}" value="([^"]+)"', page.text) for name in ("csrf", "nonce")}
    assert all(found.values()), page.text
    return {name: match.group(1) for name, match in found.items() if match}


async def act(h: httpx.AsyncClient, keys, who: str, case_id: str, update: str, body: dict) -> httpx.Response:
    return await h.post(f"/v1/cases/{case_id}/{update}", json=body, headers=keys[who])


async def handled(h, keys, case_id: str) -> None:
    """Dispatched to 区教育局, which phones and answers."""
    assert (await act(h, keys, "hotline-07", case_id, "dispatch", {"department": "区教育局"})).status_code == 200
    assert (await act(h, keys, "edu-li", case_id, "record_contact", {"note": "已电话联系"})).status_code == 200
    reply = {"message": "已协调学校，三日内答复入学安排"}
    assert (await act(h, keys, "edu-li", case_id, "reply", reply)).status_code == 200


async def test_the_link_opens_the_complainants_own_page(gw, sms):
    h, keys, _ = gw
    case_id = new_id()
    person = {"name": "刘先生", "phone": "13800138123"}
    filed = await h.put(f"/v1/cases/{case_id}", json=filing(complaint(complainant=person)), headers=keys["hotline-07"])
    assert filed.status_code == 201
    link = await link_in(sms, case_id, "acknowledgement")
    page = await h.get(link)
    assert page.status_code == 200, page.text
    assert case_id in page.text and "小区物业断水" in page.text and "已受理，正在分派" in page.text
    assert "138****8123" in page.text and "13800138123" not in page.text and "刘先生" not in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script" not in csp and "<script" not in page.text
    assert page.headers["referrer-policy"] == "no-referrer" and page.headers["cache-control"] == "no-store"
    for step in ("受理告知", "派单"):
        assert step in page.text
    english = await h.get(link, headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "Accepted; being assigned" in english.text and '<html lang="en">' in english.text
    asked = await h.get(link + "?lang=en")
    assert "Accepted; being assigned" in asked.text and 'action="?lang=en"' in asked.text  # and the forms keep it


async def test_a_note_reaches_the_timeline_and_the_department(gw, sms):
    h, keys, read_model = gw
    case_id = new_id()
    await h.put(f"/v1/cases/{case_id}", json=filing(complaint()), headers=keys["hotline-07"])
    link = await link_in(sms, case_id, "acknowledgement")
    await handled(h, keys, case_id)
    page = await h.get(link)
    sent = await h.post(link, data=csrf_of(page) | {"do": "note", "note": "楼道里的水管也漏了"})
    assert sent.status_code == 303 and sent.headers["location"] == f"{link}?done=note"
    after = await h.get(sent.headers["location"])
    assert "已收到您的补充说明" in after.text and "楼道里的水管也漏了" in after.text
    timeline = (await h.get(f"/v1/cases/{case_id}", headers=keys["sup-wang"])).json()["timeline"]
    note = next(e for e in timeline if e["kind"] == "complainant_note")
    assert note["actor"] == {"id": f"complainant:{case_id}", "role": "complainant", "department": None, "scope": None}
    await sms.wait_for(case_id, "department:光明区教育局", "complainant_note")
    # The page sent twice (a double tap) adds the note once: its nonce is the update id.
    again = await h.post(link, data=csrf_of(page) | {"do": "note", "note": "楼道里的水管也漏了"})
    assert again.status_code == 303
    timeline = (await h.get(f"/v1/cases/{case_id}", headers=keys["sup-wang"])).json()["timeline"]
    assert [e["kind"] for e in timeline].count("complainant_note") == 1


async def test_bad_forms_are_named_and_change_nothing(gw, sms):
    h, keys, _ = gw
    case_id = new_id()
    await h.put(f"/v1/cases/{case_id}", json=filing(complaint()), headers=keys["hotline-07"])
    link = await link_in(sms, case_id, "acknowledgement")
    page = await h.get(link)
    too_long = await h.post(link, data=csrf_of(page) | {"do": "note", "note": "字" * 501})
    assert too_long.status_code == 422 and "note: 不能超过500字" in too_long.text
    no_csrf = await h.post(link, data={"do": "note", "note": "n"})
    assert no_csrf.status_code == 400 and "页面已过期" in no_csrf.text
    early = await h.post(link, data=csrf_of(page) | {"do": "verdict", "resolved": "yes", "satisfaction": "satisfied"})
    assert early.status_code == 409 and "案件状态已变化" in early.text  # nothing to judge before a resolution
    missing = await h.post(link, data=csrf_of(page) | {"do": "verdict", "resolved": "maybe"})
    assert missing.status_code == 422 and "resolved: " in missing.text and "satisfaction: " in missing.text
    timeline = (await h.get(f"/v1/cases/{case_id}", headers=keys["sup-wang"])).json()["timeline"]
    assert not {"complainant_note", "followed_up"} & {e["kind"] for e in timeline}


async def test_the_verdict_reopens_and_then_closes(gw, sms):
    h, keys, read_model = gw
    case_id = new_id()
    await h.put(f"/v1/cases/{case_id}", json=filing(complaint()), headers=keys["hotline-07"])
    await handled(h, keys, case_id)
    resolved = await act(h, keys, "edu-li", case_id, "resolve", {"resolution": "孩子已入学一年级"})
    assert resolved.status_code == 200
    link = await link_in(sms, case_id, "resolved")
    assert "孩子已入学一年级" in next(n.text for n in sms.notices if n.case_id == case_id and n.template == "resolved")
    page = await h.get(link)
    assert "已办结，请您评价" in page.text and "孩子已入学一年级" in page.text and 'name="satisfaction"' in page.text
    # The department may not judge its own work, nor may its leader.
    own = await act(h, keys, "edu-li", case_id, "record_follow_up", {"satisfaction": "satisfied"})
    assert own.status_code == 403 and "never the department that handled it" in own.json()["detail"]
    no = csrf_of(page) | {"do": "verdict", "resolved": "no", "satisfaction": "dissatisfied", "comment": "还没入学"}
    assert (await h.post(link, data=no)).status_code == 303
    state = (await h.get(f"/v1/cases/{case_id}", headers=keys["sup-wang"])).json()
    assert state["status"] == "handling" and state["reopen_count"] == 1
    verdict = next(e for e in state["timeline"] if e["kind"] == "followed_up")
    assert {k: verdict["detail"][k] for k in ("satisfaction", "resolved", "note")} == {
        "satisfaction": "dissatisfied",
        "resolved": False,
        "note": "还没入学",
    }
    reopened = await h.get(link)
    assert "已重新交办理单位办理" in reopened.text and 'name="satisfaction"' not in reopened.text
    assert (await act(h, keys, "edu-li", case_id, "resolve", {"resolution": "已办好入学"})).status_code == 200
    again = await h.get(link)
    assert 'name="satisfaction"' in again.text  # a new resolution asks again
    yes = csrf_of(again) | {"do": "verdict", "resolved": "yes", "satisfaction": "satisfied"}
    assert (await h.post(link, data=yes)).status_code == 303
    closed = (await h.get(f"/v1/cases/{case_id}", headers=keys["sup-wang"])).json()
    assert closed["status"] == "closed" and closed["satisfaction"] == "satisfied"
    final = await h.get(link)
    assert "已办结并回访" in final.text and "（本人）" in final.text and 'name="note"' not in final.text


async def test_the_hotline_calls_back_those_who_did_not_answer(gw, sms):
    """Resolved two working days ago and no verdict from the link: on the callback list (the
    follow_up deadline unchanged) until the hotline's 回访员 records one; the rates say who gave it."""
    h, keys, read_model = gw
    silent, answered = new_id(), new_id()
    for case_id in (silent, answered):
        await h.put(f"/v1/cases/{case_id}", json=filing(complaint()), headers=keys["hotline-07"])
        await handled(h, keys, case_id)
        assert (await act(h, keys, "edu-li", case_id, "resolve", {"resolution": "已入学"})).status_code == 200
    before = (await h.get(f"/v1/cases/{silent}", headers=keys["sup-wang"])).json()
    follow_up_due = next(m["due_at"] for m in before["milestones"] if m["name"] == "follow_up")
    listed = await h.get("/v1/cases?follow_up_due=true&page_size=500", headers=keys["hotline-07"])
    assert listed.status_code == 200 and silent not in listed.text  # resolved just now: the link's turn first
    week_ago = datetime.now(timezone.utc) - timedelta(days=7)
    for case_id in (silent, answered):
        await until_in_read_model(read_model, case_id, "resolved")
        with read_model.engine.begin() as conn:
            conn.execute(update(CASES).where(CASES.c.case_id == case_id).values(resolved_at=week_ago))
    link = await link_in(sms, answered, "resolved")
    page = await h.get(link)
    verdict = csrf_of(page) | {"do": "verdict", "resolved": "yes", "satisfaction": "satisfied"}
    assert (await h.post(link, data=verdict)).status_code == 303
    await until_in_read_model(read_model, answered, "closed")
    listed = (await h.get("/v1/cases?follow_up_due=true&page_size=500", headers=keys["hotline-07"])).json()
    row = next(c for c in listed["cases"] if c["case_id"] == silent)
    assert datetime.fromisoformat(row["next_deadline"]) == datetime.fromisoformat(follow_up_due)  # unchanged
    assert row["resolved_at"]
    assert answered not in [c["case_id"] for c in listed["cases"]]
    mixed = await h.get("/v1/cases?follow_up_due=true&overdue=true", headers=keys["hotline-07"])
    assert mixed.status_code == 422 and "overdue" in mixed.text
    # The hotline phones, the complainant says it is solved but is only basically satisfied.
    call = {"satisfaction": "basically_satisfied", "resolved": True, "note": "电话回访"}
    assert (await act(h, keys, "hotline-07", silent, "record_follow_up", call)).status_code == 200
    await until_in_read_model(read_model, silent, "closed")
    listed = await h.get("/v1/cases?follow_up_due=true&page_size=500", headers=keys["hotline-07"])
    assert silent not in listed.text
    total = (await h.get("/v1/stats", params={"by": "department"}, headers=keys["sup-wang"])).json()["rows"][-1]
    by = total["verdicts_by"]
    assert by["link"]["solved"] >= 1 and by["hotline"]["solved"] >= 1 and by["hotline"]["visited"] >= 1
    assert total["solution_rate"].endswith("%") and total["asked_if_solved"] >= 2


async def until_in_read_model(read_model, case_id: str, status: str) -> None:
    for _ in range(200):
        with read_model.engine.connect() as conn:
            found = conn.execute(CASES.select().where(CASES.c.case_id == case_id)).first()
        if found is not None and found.status == status:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{case_id} never {status} in the read model")


async def test_a_link_that_opens_nothing_is_one_404(gw, sms):
    h, keys, read_model = gw
    case_id = new_id()
    await h.put(f"/v1/cases/{case_id}", json=filing(complaint()), headers=keys["hotline-07"])
    link = await link_in(sms, case_id, "acknowledgement")
    token = link.removeprefix("/s/")
    changed = "/s/" + ("A" if token[0] != "A" else "B") + token[1:]
    unknown = "/s/" + "x" * 24
    odd = ["/s/short", "/s/" + "x" * 25, "/s/%2e%2e"]
    answers = [await h.get(path) for path in (changed, unknown, *odd)]
    assert {a.status_code for a in answers} == {404}
    assert len({a.text for a in answers}) == 1 and "该链接无效或已过期" in answers[0].text
    # A row naming another case, or another purpose, without the engine's key opens nothing either.
    with read_model.engine.begin() as conn:
        conn.execute(update(LINKS).where(LINKS.c.case_id == case_id).values(purpose="party"))
    assert (await h.get(link)).status_code == 404
    with read_model.engine.begin() as conn:
        conn.execute(update(LINKS).where(LINKS.c.case_id == case_id).values(purpose="complainant"))
    assert (await h.get(link)).status_code == 200
    # 30 days after the case closed, the link closes too.
    ended = datetime.now(timezone.utc) - timedelta(days=31)
    with read_model.engine.begin() as conn:
        conn.execute(update(CASES).where(CASES.c.case_id == case_id).values(status="closed", closed_at=ended))
    gone = await h.get(link)
    assert gone.status_code == 404 and gone.text == answers[0].text
    # Posting to a link that opens nothing acts on nothing.
    assert (await h.post(changed, data={"do": "note", "note": "n"})).status_code == 404


async def test_no_link_is_kept_anywhere_but_the_sms(gw, sms):
    h, keys, read_model = gw
    case_id = new_id()
    await h.put(f"/v1/cases/{case_id}", json=filing(complaint()), headers=keys["hotline-07"])
    link = await link_in(sms, case_id, "acknowledgement")
    token = link.removeprefix("/s/")
    with read_model.engine.connect() as conn:
        kept = [r.text for r in conn.execute(OUTBOX.select().where(OUTBOX.c.case_id == case_id))]
        rows = [tuple(r) for r in conn.execute(LINKS.select().where(LINKS.c.case_id == case_id))]
    assert kept and all("/s/…" in text and token not in text for text in kept)
    assert rows and all(token not in str(row) for row in rows)  # only its SHA-256


async def test_identities_cannot_be_complainants(gw, tmp_path):
    from starter.identities import IdentityError, IdentityStore

    with pytest.raises(IdentityError, match="through the link in their SMS"):
        IdentityStore(identities_url(tmp_path)).add("someone", __import__("models").Role.complainant)
