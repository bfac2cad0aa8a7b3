"""The demo: boots the embedded dev server, the worker and the HTTP gateway, files complaints from
the source documents, walks one through the whole closed loop, shows one breaching its clock, and
files and acts on one over plain HTTP with API keys, as a Java or Go backend would, and ends with
an auditor's audit of every case it filed (replayed, hash chains checked, the report signed and
verified).

    make demo        (or: python demo.py)
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from models import Actor, CaseState, Role
from models.audit import AuditRequest
from readmodel import ReadModel, links_of
from readmodel.privacy import load_key
from runtime import devserver, logs, process, settings, telemetry
from sla import BUSINESS_TZ
from starter import Rejected, act, audits, data_converter, file_complaint, state
from starter.cli.columns import pad
from starter.cli.show import render, suggestion_line
from worker import create_audit_worker, create_worker
from workflows.search_attributes import KEYS

GUANGMING_SCHOOL: dict[str, Any] = {  # 000: a child refused school for being over age, heard at 新羌社区
    "channel": "walk_in",
    "complainant": {"name": "刘先生", "phone": "13800138000"},
    "category": "education",
    "title": "小孩超龄上学被拒",
    "description": "孩子超过入学年龄几个月,学校拒绝办理一年级入学,家长请求协调。",
    "location": {"district": "光明区", "street": "新湖街道", "community": "新羌社区"},
}
DONGMEN_SHOP: dict[str, Any] = {  # 002: a grid leader on patrol finds a shop taken over by a new property company
    "channel": "grid_patrol",
    "category": "property",
    "title": "商铺被物业私自改造经营",
    "description": "东门社区03综合网格巡查发现,商场内一商铺被新入驻的物业公司私自改造并用作经营。",
    "location": {"district": "罗湖区", "street": "东门街道", "community": "东门社区", "grid": "03综合网格"},
}
GUANGMING_FACTORY: dict[str, Any] = {  # 004: workers gathering at a mask-equipment factory gate
    "channel": "hotline",
    "complainant": {"name": "李先生", "phone": "0755-27400000"},
    "category": "labour",
    "track": "major",
    "title": "口罩设备工厂门前多人聚集讨薪",
    "description": "多人在口罩生产设备工厂门前聚集,双方情绪激动,涉及工资结算纠纷。",
    "location": {"district": "光明区", "street": "光明街道", "community": "东周社区"},
}

ROOFTOP: dict[str, Any] = {  # 004: an employee in a wage dispute, about to jump from a roof
    "channel": "hotline",
    "complainant": {"name": "周先生", "phone": "13612345678"},
    "category": "labour",
    "title": "工资拖欠半年",
    "description": "公司拖欠我半年工资，找了多次没人管，再不解决我就从楼上跳下去。",
    "location": {"district": "光明区", "street": "光明街道", "community": "东周社区"},
}
DUTY_LEADER = {"id": "duty-gm-day", "role": "leader", "scope": "440311"}  # 光明区's (the tree's roster)

WATER_CUT: dict[str, Any] = {  # the brief's example: a landlord who cut the water
    "channel": "mini_program",
    "complainant": {"name": "陈女士", "phone": "13912345678"},
    "category": "housing",
    "title": "房东切断整栋楼供水",
    "description": "房东与租户发生租金纠纷后切断了整栋楼的供水, 已三天。",
    "location": {"district": "光明区", "street": "凤凰街道", "community": "塘家社区"},
}
HOUSING = {"id": "housing-zhang", "role": "handler", "department": "光明区住房和建设局"}
SECRETARY = {"id": "secretary-tj", "role": "community", "department": "塘家社区"}
DISPATCHER = {"id": "hotline-07", "role": "dispatcher", "department": "区群众诉求服务中心"}
EDUCATION = {"id": "edu-li", "role": "handler", "department": "光明区教育局"}
SUPERVISOR = {"id": "sup-wang", "role": "supervisor", "department": "区信访局"}


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


async def _show_metrics(url: str) -> None:
    """The engine's own counters as Prometheus scrapes them (the SDK's temporal_* beside them)."""
    async with httpx.AsyncClient() as http:
        text = (await http.get(url, timeout=10)).text
    lines = [line for line in text.splitlines() if line.startswith("complaints_") and "_bucket{" not in line]
    print(
        f"Metrics at {url} ({sum(line.startswith('temporal_') for line in text.splitlines())} lines of the SDK's; "
        "the engine's:"
    )
    for line in lines[:12]:
        print(f"  {line}")
    print()


def _summary(s: CaseState) -> str:
    open_ = [m.name for m in s.milestones if m.open]
    return f"status={s.status.value:<10} open={','.join(open_) or '-'}  breaches={','.join(s.breaches) or '-'}"


async def walk_closed_loop(client: Client, case_id: str) -> None:
    steps = [
        ("dispatch", {"actor": DISPATCHER, "department": "光明区教育局"}),
        ("record_contact", {"actor": EDUCATION, "note": "电话联系刘先生,了解孩子出生日期和学籍情况"}),
        ("record_verification", {"actor": EDUCATION, "findings": "孩子超龄4个月,符合特殊情况入学条件"}),
        ("reply", {"actor": EDUCATION, "message": "已协调学校按特殊情况办理入学,三日内通知"}),
        (
            "submit_opinion",
            {"actor": EDUCATION, "findings": "超龄4个月", "handling": "协调学位", "next_steps": "学校办理入学手续"},
        ),
        ("resolve", {"actor": EDUCATION, "resolution": "孩子已入学一年级"}),
        ("record_follow_up", {"actor": DISPATCHER, "satisfaction": "satisfied", "note": "家长表示满意"}),
    ]
    for update, payload in steps:
        s = await act(client, case_id, update, payload)
        print(f"  {update:<20} -> {_summary(s)}")


async def walk_strong_signal(client: Client, read_model: ReadModel, case_id: str) -> None:
    """强信息 (001, 004): the words of the complaint make it red; the district's duty leader is
    texted at once and a leader of the district responds within 30 minutes."""
    print(f"{case_id}: a threat to life in what the caller said (强信息预警, docs/supervisors.md)")
    await file_complaint(client, case_id, {"complaint": ROOFTOP})
    for _ in range(100):  # accepted: its deadlines planned, the respond milestone among them
        s = await state(client, case_id)
        if s.accepted():
            break
        await asyncio.sleep(0.05)
    assert s.risk is not None and s.risk.level is not None
    reasons = "; ".join(f"{r.reason} “{r.matched}”" for r in s.risk.reasons)
    print(f"  risk: {s.risk.level.value} ({reasons}); events {[e.kind for e in s.timeline]}")
    for _ in range(50):
        alert = [o for o in read_model.outbox(case_id) if o.kind == "risk_alert" and o.sent_at]
        if alert:
            print(f"  alert to {alert[0].recipient}: {alert[0].text}")
            break
        await asyncio.sleep(0.1)
    respond = next(m for m in s.milestones if m.name == "respond")
    print(f"  a leader of the district owes a response by {respond.due_at.astimezone(BUSINESS_TZ):%H:%M}")
    s = await act(
        client,
        case_id,
        "record_response",
        {"actor": DUTY_LEADER, "note": "已电话稳住情绪，人社局和街道到场", "mode": "on_site"},
    )
    print(
        f"  record_response by {DUTY_LEADER['id']} -> respond {next(m for m in s.milestones if m.name == 'respond').outcome}\n"
    )


async def walk_similar(client: Client, read_model: ReadModel, prefix: str) -> None:
    """类案 (001's 弱信号): twelve people trapped in lifts in five communities of 凤凰街道, each in
    their own words and under their own category, are one 类案预警 for the street's supervisor."""
    from models.scope import seen_by
    from readmodel.similar import similar_alerts
    from starter import jurisdictions
    from tests.support.similar import LIFTS

    print(f"{prefix}-*: the same thing said in five communities (类案预警, docs/supervisors.md)")
    communities = ["塘家社区", "凤凰社区", "塘尾社区", "东坑社区", "凤凰新村"]
    categories = ["property", "housing", "urban_management", "other"]
    filed = []
    for i, text in enumerate(LIFTS):
        case_id = f"{prefix}-{i + 1:02d}"
        where = {"district": "光明区", "street": "凤凰街道", "community": communities[i % 5]}
        person = {"name": f"业主{i + 1}", "phone": f"1371234{i:04d}"}
        body = {"channel": "hotline", "complainant": person, "category": categories[i % 4], "title": text[:12],
                "description": text, "location": where}  # fmt: skip
        await file_complaint(client, case_id, {"complaint": body})
        filed.append(case_id)
    for _ in range(100):  # written to the read model
        if all(read_model.case(c) is not None for c in filed):
            break
        await asyncio.sleep(0.1)
    street = seen_by(Actor(id="fh-sup", role=Role.supervisor, scope="440311004"), jurisdictions.tree())
    now = datetime.now(timezone.utc)
    for alert in similar_alerts(
        read_model, since=now - timedelta(days=14), until=now + timedelta(minutes=1), seen=street
    ):
        print(f"  类案预警: {alert.people} people in {alert.communities} communities, saying {'、'.join(alert.words)}")
        print(f"  {'; '.join(f'{place} x{n}' for place, n in alert.places.items())}")
    first = await state(client, filed[0])
    why = first.suggestion.why if first.suggestion else None
    print(f"  {filed[0]}: {suggestion_line(first)}: {why}\n")


MEDIATOR = {"id": "hong", "role": "mediator", "department": "虹姐调解工作室"}


async def walk_mediation(client: Client, case_id: str) -> None:
    """现调、现决 (002): a tenant whose landlord cut the water, mediated on the spot the same day to
    an oral agreement (人民调解法 第二十八条), water back within 24 hours, checked: settled."""
    print(f"{case_id}: a dispute between people, mediated to an oral agreement and honoured (docs/disputes.md)")
    filing = {**WATER_CUT, "complainant": {"name": "黄女士", "phone": "13512340000"}, "title": "房东断水断电"}
    await file_complaint(client, case_id, {"complaint": filing})
    now = datetime.now(timezone.utc)
    parties = [
        {"side": "applicant", "name": "黄女士", "phone": "13512340000"},
        {"side": "respondent", "name": "房东吴先生", "phone": "13587650000"},
    ]
    steps: list[tuple[str, dict[str, Any]]] = [
        ("start_mediation", {"actor": SECRETARY, "kind": "tenancy", "parties": parties}),
        ("assign_mediator", {"actor": SECRETARY,
                             "mediator": {"id": "hong", "name": "虹姐", "organisation": "虹姐调解工作室"}}),
        ("schedule_session", {"actor": MEDIATOR, "at": (now + timedelta(hours=1)).isoformat(),
                              "place": "塘家社区党群服务中心调解室"}),
        ("record_session", {"actor": MEDIATOR, "attended": [1, 2], "note": "双方到场, 房东同意恢复供水"}),
        ("record_agreement", {"actor": MEDIATOR, "form": "oral", "terms": "房东当日恢复供水供电; 租户七日内补交租金",
                              "obligations": [{"party": 2, "what": "恢复供水供电",
                                               "due_at": (now + timedelta(hours=24)).isoformat()}]}),
        ("record_fulfilment", {"actor": MEDIATOR, "obligation": 1, "honoured": True, "note": "已恢复, 回访租户确认"}),
    ]  # fmt: skip
    for update, payload in steps:
        s = await act(client, case_id, update, payload)
        print(f"  {update:<20} -> {_summary(s)}")
    print(f"  timeline: {[e.kind for e in s.timeline][-4:]}\n")


def _curl(method: str, path: str, key_name: str, body: dict | None = None, form: bool = False) -> str:
    data = ""
    if body is not None:
        data = (
            " " + " ".join(f"--data-urlencode '{k}={v}'" for k, v in body.items())
            if form
            else f" -H 'Content-Type: application/json' -d '{json.dumps(body, ensure_ascii=False)}'"
        )
    auth = f' -H "Authorization: Bearer ${key_name}"' if key_name else ""
    return f"curl -X {method} $GATEWAY{path}{auth}{data}"


DEMO_SUPERVISOR, DEMO_PASSWORD = "sup-demo", "demo-supervisor-2026"
DEMO_STREET_SUPERVISOR = "dongmen-chen"


async def over_http(client: Client, read_model: ReadModel, folder, port: int) -> tuple[str, Any]:
    """The gateway beside the worker: identities with keys, and the calls any language can make;
    then the console, as a supervisor at the command centre sees it. Returns the gateway's address
    and what stops it."""
    import dataclasses

    import httpx

    from gateway import create_app
    from runtime.serve import server, start_serving
    from starter.identities import IdentityStore

    store = IdentityStore(read_model.url)  # beside the read model, as in production
    keys: dict[str, str | None] = {
        "DISPATCHER_KEY": store.add("hotline-07", Role.dispatcher, department="区群众诉求服务中心", name="热线话务员"),
        "HANDLER_KEY": store.add("housing-zhang", Role.handler, department="光明区住房和建设局", name="张工"),
    }
    store.add(DEMO_SUPERVISOR, Role.supervisor, department="区指挥中心", name="王督办", password=DEMO_PASSWORD)
    # 东门街道's command centre: its scope is its street (city-contract.md); it sees only its own.
    store.add(DEMO_STREET_SUPERVISOR, Role.supervisor, name="陈主任", password=DEMO_PASSWORD, scope="440303003")
    config = dataclasses.replace(settings.load(), identities_url=read_model.url, rate_limit=0.0)
    running = server(create_app(client=client, read_model=read_model, config=config), "127.0.0.1", port)
    serving = await start_serving(running)
    base = f"http://127.0.0.1:{port}"
    print(f"demo-http-6: over HTTP, through the gateway at {base} (OpenAPI: {base}/docs)")
    print(f"  identities in {store.where}: hotline-07 (dispatcher), housing-zhang (handler of 光明区住房和建设局);")
    print("  keys are shown once and stored only as hashes (python -m starter identity add ...)")
    receiver = _subscribe_housing_bureau(read_model)
    filing: dict[str, Any] = {
        "complaint": {
            **WATER_CUT,
            "complainant": {"name": "周先生", "phone": "13688889999"},
            "title": "出租屋被断水",
            "location": {**WATER_CUT["location"], "community": "凤凰社区"},
        }
    }
    calls: list[tuple[str, str, str, dict[str, Any] | None]] = [
        ("PUT", "/v1/cases/demo-http-6", "DISPATCHER_KEY", filing),
        ("POST", "/v1/cases/demo-http-6/dispatch", "DISPATCHER_KEY", {"department": "区住建局"}),
        ("POST", "/v1/cases/demo-http-6/record_contact", "HANDLER_KEY", {"note": "已电话联系周先生, 约定上门"}),
        # A handler's system claims to be a supervisor: the caller's identity is the actor, always.
        (
            "POST",
            "/v1/cases/demo-http-6/escalate",
            "HANDLER_KEY",
            {"reason": "我是督办", "actor": {"id": "sup-wang", "role": "supervisor"}},
        ),
        ("GET", "/open311/v2/requests/demo-http-6.json", "", None),
    ]
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as h:
            for method, path, key_name, body in calls:
                headers = {"Authorization": f"Bearer {keys[key_name]}"} if key_name else {}
                answer = await h.request(method, path, json=body, headers=headers)
                shown = answer.json()
                if isinstance(shown, list):  # Open311: a list of requests
                    summary = f"{shown[0]['status']}: {shown[0]['status_notes']}, {shown[0]['agency_responsible']}"
                elif "version" in shown:
                    summary = f"status {shown['status']}, version {shown['version']} (ETag {answer.headers['etag']})"
                else:
                    summary = shown["detail"]
                print(f"  {_curl(method, path, key_name, body)[:150]}")
                print(f"    -> {answer.status_code} {summary}")
            await _evidence(h, keys["HANDLER_KEY"] or "", "demo-http-6")
            await _console(h, base)
            await _city_and_street(h, base)
            await _complainant(h, config, "demo-http-6")
            await _show_received(receiver, "demo-http-6", read_model)
    except BaseException:
        running.should_exit = True
        await serving
        raise
    finally:
        receiver.terminate()
    print()

    async def stop() -> None:
        running.should_exit = True
        await serving

    return base, stop


async def _evidence(h: httpx.AsyncClient, key: str, case_id: str) -> None:
    """整改 evidence (issue 38): the unit's before and after photos, uploaded and attached; each
    kept as the engine re-encoded it (no EXIF, a thumbnail), its digest in the case's chain."""
    from PIL import Image

    headers = {"Authorization": f"Bearer {key}"}
    for purpose, colour in (("before", (120, 80, 40)), ("after", (40, 160, 220))):
        photo = io.BytesIO()
        Image.new("RGB", (1600, 1200), colour).save(photo, "JPEG")
        up = await h.post(
            f"/v1/cases/{case_id}/attachments", files={"file": (f"{purpose}.jpg", photo.getvalue())}, headers=headers
        )
        digest = up.json()["id"]
        body = {"attachment": digest, "kind": "photo", "purpose": purpose}
        attached = await h.post(f"/v1/cases/{case_id}/attach", json=body, headers=headers)
        print(
            f"  curl -F file=@{purpose}.jpg .../v1/cases/{case_id}/attachments, then POST .../attach {body | {'attachment': digest[:12] + '…'}}"
        )
        print(
            f"    -> {up.status_code} {up.json()['media_type']} {up.json()['width']}x{up.json()['height']}, thumbnail; {attached.status_code}"
        )
    listed = (await h.get(f"/v1/cases/{case_id}/attachments", headers=headers)).json()["attachments"]
    print(f"  the case's evidence: {', '.join(a['purpose'] for a in listed)}, each with a signed url (10 minutes)")


def _subscribe_housing_bureau(read_model: ReadModel) -> subprocess.Popen[str]:
    """光明区住房和建设局's own system, told of its cases as they change: the Python receiver of examples/
    as a process, subscribed with housing-zhang's eyes (python -m starter webhook add ...)."""
    from readmodel.webhooks import Webhooks
    from starter.codec import keyring_from_settings

    port = next(p for p in range(8091, 8191) if _free(p))
    hooks = Webhooks(read_model.engine, keyring_from_settings())
    handler = Actor(id="housing-zhang", role=Role.handler, department="光明区住房和建设局")
    secret = hooks.add(
        "housing-bureau", handler, f"http://127.0.0.1:{port}/hooks", ["*"], department="光明区住房和建设局"
    )
    receiver = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "examples" / "webhook-receiver-python" / "receiver.py")],
        env={**os.environ, "WEBHOOK_SECRET": secret, "PORT": str(port)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert receiver.stdout is not None
    receiver.stdout.readline()  # {"listening": port}
    print(f"  webhook housing-bureau: every event of 光明区住房和建设局's cases, signed, to a receiver on port {port}")
    return receiver


async def _show_received(receiver: subprocess.Popen[str], case_id: str, read_model: ReadModel) -> None:
    """What the housing bureau's system received of the case, each signature verified."""
    assert receiver.stdout is not None
    wanted, lines = len(read_model.events(case_id)), []
    os.set_blocking(receiver.stdout.fileno(), False)
    for _ in range(100):
        lines += [json.loads(line) for line in receiver.stdout.readlines()]
        if sum(1 for line in lines if line.get("case_id") == case_id) >= wanted:
            break
        await asyncio.sleep(0.1)
    print(f"光明区住房和建设局's system received (webhook housing-bureau, {len(lines)} events, signatures verified):")
    for line in lines[:8]:
        print(f"  {line['id']} {line['case_id']} #{line['seq']:<2} {line['type']:<14} verified={line['verified']}")


def _late(hours: str) -> str:
    """The board's hours late as a person says it: minutes under an hour (never "0.0 hours")."""
    late = float(hours)
    return f"{max(1, round(late * 60))} minutes" if late < 1 else f"{late:.1f} hours"


async def _console(h: httpx.AsyncClient, base: str) -> None:
    """The supervisors' console on the same gateway: log in, and the overdue board."""
    form = await h.get("/console/login")
    csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
    await h.post("/console/login", data={"identity": DEMO_SUPERVISOR, "password": DEMO_PASSWORD, "csrf": csrf})
    board = await h.get("/console/overdue?format=csv")
    rows = list(csv.reader(io.StringIO(board.text.lstrip("\ufeff"))))[1:]  # titles may hold commas
    print(f"console: {base}/console/ ({DEMO_SUPERVISOR}, password {DEMO_PASSWORD}); the overdue board:")
    for row in rows[:5]:
        print(f"  {row[0]:<15} {row[6]:<10} {_late(row[8])} late ({row[4] or 'not dispatched'})")
    page = await h.get("/console/cases/demo-http-6")
    shown = page.text.count('class="evidence"')
    print(f"  {base}/console/cases/demo-http-6 shows {shown} evidence thumbnails on its timeline (整改前、整改后)")


async def _login(h: httpx.AsyncClient, identity: str) -> None:
    h.cookies.clear()
    form = await h.get("/console/login")
    csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
    await h.post("/console/login", data={"identity": identity, "password": DEMO_PASSWORD, "csrf": csrf})


async def _city_and_street(h: httpx.AsyncClient, base: str) -> None:
    """The city supervisor's league of districts, and what 东门街道's own centre sees: its street only."""
    await _login(h, DEMO_SUPERVISOR)
    league = await h.get("/console/places?within=440300&format=csv")
    rows = list(csv.reader(io.StringIO(league.text.lstrip("\ufeff"))))
    print(f"the city's league of districts ({base}/console/places, as {DEMO_SUPERVISOR}):")
    for row in rows[1:]:
        print(f"  {row[0]:<12} accepted {row[1]:>3}, 化解率 {row[3]:>6}, on time {row[7]:>6}, overdue now {row[-1]}")
    await _login(h, DEMO_STREET_SUPERVISOR)
    board = await h.get("/console/overdue?format=csv")
    shown = list(csv.reader(io.StringIO(board.text.lstrip("\ufeff"))))[1:]
    streets = sorted({row[3] for row in shown})
    print(
        f"{DEMO_STREET_SUPERVISOR} (scope 440303003, 东门街道) logs in to the same console: its overdue board "
        f"lists {len(shown)} case(s), of {', '.join(streets) or 'no street'} only"
    )
    h.cookies.clear()


async def _complainant(h: httpx.AsyncClient, config: settings.Settings, case_id: str) -> None:
    """The complainant's own page: the link their SMS carried (the log keeps only /s/…, so the demo
    signs it again with the same key), opened, and a detail added through it."""
    links = links_of(config)
    url = links.url(links.make(case_id))
    path = url.removeprefix(links.public_url)
    page = await h.get(path)
    status = re.search(r'id="status"[^>]*>([^<]+)<', page.text)
    print(f"complainant of {case_id}: their SMS carried {url}")
    print(f"  GET  /s/… -> {page.status_code} 办理状态: {status.group(1) if status else '?'}")
    form = {name: re.search(rf'name="{name}" value="([^"]+)"', page.text) for name in ("csrf", "nonce")}
    body = {k: m.group(1) for k, m in form.items() if m} | {"do": "note", "note": "晚上八点后家里有人"}
    added = await h.post(path, data=body)
    print(f"  POST /s/… note -> {added.status_code} (补充说明 on the timeline; 光明区住房和建设局 is told by SMS)")


async def walk_audit(client: Client, since: datetime, folder: Path) -> None:
    """What an auditor runs over a period (`python -m starter audit ... --wait`), here over every
    case the demo filed: the Audit workflow on the audit queue replays each case, checks its hash
    chain against the read model, and signs its report, which anyone checks with the public key."""
    from readmodel import audit_keys_of
    from readmodel.anchors import verify

    request = AuditRequest(since=since, until=datetime.now(timezone.utc) + timedelta(minutes=1), status="all")
    audit_id = await audits.start(client, request, task_queue="audit")
    report = await audits.wait(client, audit_id)
    out = folder / f"{audit_id}.json"
    out.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    print(f"An auditor's audit of every case the demo filed ({audit_id}, on the audit queue):")
    print("  " + report.summary().replace("\n", "\n  "))
    public = audit_keys_of().public_keys()
    ok = verify(public, report.key_id, report.signed_bytes(), report.signature)
    print(f"  signed report {out}: signature {'verifies' if ok else 'DOES NOT VERIFY'} with the public key alone")
    print(f"  (the same from a shell: python -m starter audit verify {out})\n")


async def _wait_on_a_terminal(base: str) -> None:
    """On a terminal, keep everything up so the console can be looked at, until Enter or Ctrl-C."""
    if not sys.stdin.isatty():
        return
    print(f"The console is at {base}/console/ : log in as {DEMO_SUPERVISOR}, password {DEMO_PASSWORD}.")
    print("The complainant's page of demo-http-6 is at the link printed above (a phone-sized window shows it best).")
    print("(Temporal Web UI and the API stay up too.) Press Enter to stop the demo.\n")
    loop = asyncio.get_running_loop()
    pressed: asyncio.Future[None] = loop.create_future()

    def enter() -> None:
        if not pressed.done():
            pressed.set_result(None)

    loop.add_reader(sys.stdin, enter)
    try:
        await pressed
    finally:
        loop.remove_reader(sys.stdin)


async def main() -> None:
    config = settings.load()
    started = datetime.now(timezone.utc)
    folder = config.data_dir / "demo"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    log_file = (folder / "engine.log").open("w", encoding="utf-8")
    logs.configure(stream=log_file)
    ui_port = config.dev_ui_port if _free(config.dev_ui_port) else None
    print(f"Booting the embedded Temporal dev server (SQLite: {folder / 'temporal.db'}) ...")
    metrics = config.metrics_address
    if metrics and not _free(int(metrics.rpartition(":")[2])):
        metrics = None  # a worker already serves them there
    env = await devserver.start_dev_server(
        data_converter(),
        search_attributes=KEYS,
        db_file=folder / "temporal.db",
        ui_port=ui_port,
        runtime=telemetry.runtime_with_metrics(metrics),
    )
    client = env.client
    if ui_port:
        print(f"  Temporal Web UI: http://localhost:{ui_port}")
    if metrics:
        print(f"  Metrics (Prometheus): {telemetry.metrics_url(metrics)}")
    read_model = ReadModel(f"sqlite:///{folder / 'complaints.db'}", load_key(config.phone_key, config.phone_key_file))
    # The gateway's port is chosen now: the links in the complainants' SMS point at it.
    port = next(p for p in (8080, 18080, 28080) if _free(p))
    os.environ.setdefault("COMPLAINTS_PUBLIC_URL", f"http://127.0.0.1:{port}")
    # The demo's department receiver listens on loopback, over plain http (production: https only).
    os.environ.setdefault("COMPLAINTS_WEBHOOK_ALLOW_HTTP_HOSTS", "127.0.0.1")
    try:
        async with (
            create_worker(client, task_queue="complaints", read_model=read_model),
            create_audit_worker(client, task_queue="audit", read_model=read_model),
        ):
            print("Workers running on task queues 'complaints' and 'audit'.\n")
            hour_ago = (datetime.now(timezone.utc) - timedelta(minutes=61)).isoformat()
            cases: list[tuple[str, dict[str, Any]]] = [
                ("demo-school-1", {"complaint": GUANGMING_SCHOOL}),
                # Found on patrol an hour ago and entered only now: its 1-hour dispatch clock has run out.
                ("demo-shop-2", {"complaint": {**DONGMEN_SHOP, "received_at": hour_ago}}),
                ("demo-factory-3", {"complaint": GUANGMING_FACTORY, "policy": "13710"}),
            ]
            for case_id, case_input in cases:
                await file_complaint(client, case_id, case_input)
                print(f"Filed {case_id} ({case_input['complaint']['title']})")
            again = await file_complaint(client, "demo-school-1", cases[0][1])
            print(f"Filed demo-school-1 again: created={again.created} (the case id is the idempotency key)\n")

            print("demo-school-1: the whole closed loop (1030)")
            await walk_closed_loop(client, "demo-school-1")
            closed = await client.get_workflow_handle("demo-school-1", result_type=CaseState).result()
            print(render(closed), "\n")

            print("demo-shop-2: received 61 minutes ago, never dispatched")
            for _ in range(50):
                shop = await state(client, "demo-shop-2")
                if "dispatch" in shop.breaches:
                    break
                await asyncio.sleep(0.2)
            print(render(shop), "\n")

            print("demo-factory-3: a major 13710 case; an update the case refuses")
            try:
                await act(client, "demo-factory-3", "resolve", {"actor": EDUCATION, "resolution": "已处理"})
            except Rejected as err:
                print(f"  rejected: {err}")
            print(render(await state(client, "demo-factory-3")), "\n")

            print("demo-factory-4: 李先生 calls again about the same dispute while demo-factory-3 is open")
            await file_complaint(
                client, "demo-factory-4", {"complaint": {**GUANGMING_FACTORY, "title": "讨薪仍未解决"}}
            )
            merged = await client.get_workflow_handle("demo-factory-4", result_type=CaseState).result()
            print(f"  demo-factory-4 ended {merged.status.value}, carried by {merged.merged_into}")
            for _ in range(50):
                carrier = await state(client, "demo-factory-3")
                if any(e.kind == "repeat_complaint" for e in carrier.timeline):
                    break
                await asyncio.sleep(0.1)
            print(f"  demo-factory-3 timeline: {[e.kind for e in carrier.timeline]}\n")

            print("demo-water-5: 临期预警, 中止计时 and 社区吹哨 on one case")
            taken_in = (datetime.now(timezone.utc) - timedelta(minutes=47)).isoformat()
            await file_complaint(client, "demo-water-5", {"complaint": {**WATER_CUT, "received_at": taken_in}})
            # 47 of the 60 dispatch minutes are gone: past 75 %, so the department is warned now.
            for _ in range(50):
                water = await state(client, "demo-water-5")
                if any(e.kind == "warning" for e in water.timeline):
                    break
                await asyncio.sleep(0.1)
            warning = next(e for e in water.timeline if e.kind == "warning")
            print(f"  warning: {warning.detail['milestone']} due {warning.detail['due_at']}")
            await act(client, "demo-water-5", "dispatch", {"actor": DISPATCHER, "department": "光明区住房和建设局"})
            await act(
                client,
                "demo-water-5",
                "request_suspension",
                {"actor": HOUSING, "reason": "等待法院对房屋租赁纠纷的裁定"},
            )
            s = await act(client, "demo-water-5", "decide_suspension", {"actor": SUPERVISOR, "approve": True})
            print(f"  suspended: {s.suspended}; the resolve clock stands still")
            await asyncio.sleep(1)
            s = await act(client, "demo-water-5", "resume", {"actor": SUPERVISOR, "note": "裁定已出"})
            moved = next(e for e in s.timeline if e.kind == "resumed").detail["moved"][0]
            print(
                f"  resumed: resolve deadline {moved['from']} -> {moved['to']} "
                f"(stopped {next(m for m in s.milestones if m.name == 'resolve').paused_seconds:.0f}s; a working-day "
                "deadline moves by the working days the stop covered, none within one day)"
            )
            s = await act(
                client,
                "demo-water-5",
                "summon_departments",
                {
                    "actor": SECRETARY,
                    "notice_no": "塘家〔2026〕7号",
                    "departments": ["区水务局", "区城管局"],
                    "reason": "断水涉及供水管网和占道施工, 请到场",
                },
            )
            s = await act(
                client,
                "demo-water-5",
                "report_in",
                {"actor": {"id": "water-1", "role": "handler", "department": "区水务局"}, "note": "已到场"},
            )
            owed = {
                m.name: ("reported" if m.done_at else f"due {m.due_at.astimezone(BUSINESS_TZ):%m-%d %H:%M}")
                for m in s.milestones
                if m.name.startswith("report_in:")
            }
            print(f"  whistle 塘家〔2026〕7号: {owed}")
            # Taken in 47 minutes ago: its 10-minute acknowledgement was overdue the moment it was filed.
            print(f"  breaches: {', '.join(sorted(s.breaches)) or 'none'} (filed 47 minutes after it was taken in)\n")

            await walk_mediation(client, "demo-mediation-7")
            await walk_strong_signal(client, read_model, "demo-rooftop-8")
            await walk_similar(client, read_model, "demo-lift")

            base, stop_gateway = await over_http(client, read_model, folder, port)

            print(f"Read model ({read_model.url}):")
            for case_id, *_ in cases + [
                ("demo-factory-4",),
                ("demo-water-5",),
                ("demo-http-6",),
                ("demo-mediation-7",),
                ("demo-rooftop-8",),
            ]:
                row = read_model.case(case_id)
                if row:
                    print(
                        f"  {row.case_id:<15} {row.status:<10} {row.category:<10} {pad(row.community, 8)} "
                        f"complainant {row.complainant_masked or '-':<14} breaches {row.breach_count} "
                        f"events {len(read_model.events(case_id))}"
                    )
            print()
            await walk_audit(client, started, folder)
            if metrics:
                await _show_metrics(telemetry.metrics_url(metrics))
            try:
                await _wait_on_a_terminal(base)
            finally:
                await stop_gateway()
    finally:
        await env.shutdown()
        log_file.close()
    notices = [
        json.loads(line)
        for line in (folder / "engine.log").read_text(encoding="utf-8").splitlines()
        if '"notice"' in line
    ]
    shown = notices[:6]
    print(
        f"Notices sent: {len(notices)}, the first {len(shown)} below "
        f"(every one is a JSON log line in {folder / 'engine.log'}):"
    )
    for n in shown:
        print(f"  {n['case_id']:<15} -> {pad(n['recipient'], 22)} {n['kind']:<16} {n['text'][:60]}")
    print("\nDone: the dev server and the worker shut down cleanly.")


if __name__ == "__main__":
    process.run(main)
