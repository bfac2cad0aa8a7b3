"""The console in a real browser: log in, find a known overdue case on the board, open it, see its
timeline and breach, take a supervisor's action (and see a refusal's reason), export a CSV; a
handler's login is refused; no page writes an error to the browser's console."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from tests.support.browser import environment, watch_console
from tests.support.cases import complaint
from tests.support.processes import Gateway, WorkerProcess, add_identity, bearer, cli

PASSWORD = "correct horse battery"
STREETS = [("凤凰街道", "塘家社区"), ("玉塘街道", "田寮社区"), ("光明街道", "碧眼社区"), ("公明街道", "上村社区")]
DEPARTMENTS = ["区教育局", "区住房和建设局", "区城市管理和综合执法局", "区交通运输局"]


class Stack:
    def __init__(self, gateway: Gateway, keys: dict[str, str], overdue_case: str) -> None:
        self.gateway, self.keys, self.overdue_case = gateway, keys, overdue_case

    @property
    def base(self) -> str:
        return self.gateway.base


def set_password(
    environ: dict[str, str], identity: str, role: str, department: str | None = None, *, key: bool = False
) -> str:
    """A console password (and with `key` an API key too, which it returns)."""
    args = ["identity", "add", identity, "--role", role, "--password-stdin", *(["--key"] if key else [])]
    args += ["--department", department] if department else []
    done = cli(environ, *args, stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1] if key else ""


def file_cases(base: str, keys: dict[str, str]) -> str:
    """A dozen cases over four streets and departments, some dispatched, all received hours ago
    (so their first deadlines have passed); the first one is the test's known overdue case."""
    now = datetime.now(timezone.utc)
    first = ""
    with httpx.Client(base_url=base, timeout=30) as h:
        for i in range(12):
            street, community = STREETS[i % 4]
            body = complaint(
                received_at=(now - timedelta(hours=2 + i * 3)).isoformat(),
                category=["property", "education", "urban_management", "traffic"][i % 4],
                title=["楼道堵塞消防通道", "孩子入学被拒", "井盖松动", "公交站牌损坏"][i % 4],
                location={"district": "光明区", "street": street, "community": community},
            )
            filed = h.post("/v1/cases", json={"complaint": body}, headers=bearer(keys["dispatcher"]))
            assert filed.status_code == 201, filed.text
            case_id = filed.json()["case_id"]
            first = first or case_id
            if i % 3 == 1:
                sent = h.post(
                    f"/v1/cases/{case_id}/dispatch",
                    json={"department": DEPARTMENTS[i % 4]},
                    headers=bearer(keys["dispatcher"]),
                )
                assert sent.status_code == 200, sent.text
    return first


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("console-browser")
    environ = environment(tmp)
    worker = WorkerProcess(environ, tmp / "worker.log")
    keys = {
        "dispatcher": add_identity(environ, "hotline-07", "dispatcher", "区群众诉求服务中心"),
        "housing": add_identity(environ, "zj-zhang", "handler", "光明区住房和建设局"),
        "water": add_identity(environ, "sw-chen", "handler", "440311-sw"),
    }
    keys["supervisor"] = set_password(environ, "sup-wang", "supervisor", "区信访局", key=True)
    set_password(environ, "edu-li", "handler", "光明区教育局")
    gateway = Gateway(environ, tmp / "gateway.log")
    try:
        yield Stack(gateway, keys, file_cases(gateway.base, keys))
    finally:
        assert gateway.stop(signal.SIGTERM) == 0
        assert worker.stop(signal.SIGINT) == 0
    log = gateway.log.read_text()
    assert "Traceback" not in log, log[-3000:]


@pytest.fixture
def page(browser, stack) -> Iterator[object]:
    context = browser.new_context(
        base_url=stack.base, accept_downloads=True, locale="zh-CN", viewport={"width": 1360, "height": 900}
    )
    page = context.new_page()
    watch_console(page)
    try:
        yield page
    finally:
        context.close()


def log_in(page, identity: str) -> None:
    page.goto("/console/")
    assert "/console/login" in page.url
    page.fill("input[name=identity]", identity)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def until_on_board(page, case_id: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        page.goto("/console/overdue")
        if page.locator(f"tr[data-case='{case_id}']").count():
            return
        assert time.monotonic() < deadline, f"{case_id} never reached the overdue board"
        time.sleep(0.5)


def test_a_supervisor_works_a_late_case_from_the_board(page, stack, screenshots: Path):
    log_in(page, "sup-wang")
    assert page.url.endswith("/console/")
    assert page.locator("h1").inner_text() == "总览"
    until_on_board(page, stack.overdue_case)
    page.goto("/console/")
    assert int(page.locator("#overdue-now").inner_text()) >= 1
    page.screenshot(path=str(screenshots / "console-overview.png"), full_page=True)

    until_on_board(page, stack.overdue_case)
    row = page.locator(f"tr[data-case='{stack.overdue_case}']")
    assert "派单" in row.inner_text()
    page.screenshot(path=str(screenshots / "console-overdue.png"), full_page=True)

    with page.expect_download() as download:
        page.click("a.csv")
    exported = Path(download.value.path()).read_text(encoding="utf-8")
    assert exported.startswith("\ufeff编号") and stack.overdue_case in exported

    row.locator("a").first.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/console/cases/{stack.overdue_case}")
    assert page.locator("#timeline tr.event-received").count() == 1
    assert page.locator("#milestones tr.outcome-BREACHED").count() >= 1
    assert page.locator("svg.deadlines rect.over").count() >= 1

    # A leader before escalating: the engine refuses, and the page says why.
    page.fill("#form-assign_leader input[name=leader_id]", "leader-zhang")
    page.fill("#form-assign_leader input[name=leader_name]", "张局长")
    page.click("#form-assign_leader button[type=submit]")
    page.wait_for_load_state()
    assert "escalate it first" in page.locator("#refusal").inner_text()

    page.fill("#form-escalate textarea[name=reason]", "派单超时，领导包案督办")
    page.click("#form-escalate button[type=submit]")
    page.wait_for_load_state()
    assert "已办理" in page.locator("p.ok").inner_text()
    assert page.locator("#timeline tr.event-escalated").count() == 1
    assert page.locator("#form-escalate").count() == 0
    page.screenshot(path=str(screenshots / "console-case.png"), full_page=True)

    for path in (
        "/console/departments",
        "/console/trends",
        "/console/hotspots",
        "/console/simulate",
        "/console/?lang=en",
    ):
        page.goto(path)
        assert page.locator("h1").count() == 1, path
    assert page.locator("h1").inner_text() == "Overview"
    page.goto("/console/trends")
    page.screenshot(path=str(screenshots / "console-trends.png"), full_page=True)
    assert page.errors == []

    with httpx.Client(base_url=stack.base, timeout=30) as h:
        state = h.get(f"/v1/cases/{stack.overdue_case}", headers=bearer(stack.keys["dispatcher"])).json()
    assert state["escalated"] is True
    assert [e["actor"]["id"] for e in state["timeline"] if e["kind"] == "escalated"] == ["sup-wang"]


def test_a_handler_is_refused_at_the_door(page, stack):
    log_in(page, "edu-li")
    assert "/console/login" in page.url
    assert "账号或密码不正确" in page.locator("p.error").inner_text()
    page.goto("/console/overdue")
    assert "/console/login" in page.url
    assert page.context.cookies() == [] or all(c["name"] != "console_session" for c in page.context.cookies())


def test_logging_out_ends_the_session(page, stack):
    log_in(page, "sup-wang")
    page.click("header button.link")
    page.wait_for_load_state()
    assert "/console/login" in page.url
    page.goto("/console/")
    assert "/console/login" in page.url
    assert page.errors == []


def _walk(h: httpx.Client, keys: dict[str, str], case_id: str, steps: list[tuple[str, str, dict]]) -> None:
    for who, update, body in steps:
        done = h.post(f"/v1/cases/{case_id}/{update}", json=body, headers=bearer(keys[who]))
        assert done.status_code == 200, (update, done.text)


def _until(h: httpx.Client, keys: dict[str, str], case_id: str, kind: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        state = h.get(f"/v1/cases/{case_id}", headers=bearer(keys["supervisor"])).json()
        if any(e["kind"] == kind for e in state["timeline"]):
            return
        assert time.monotonic() < deadline, f"{case_id} never recorded {kind}"
        time.sleep(0.3)


def cases_with_every_kind_of_event(base: str, keys: dict[str, str]) -> list[str]:
    """The demo's roads over HTTP: a late case warned and breached, suspended and resumed,
    summoned, transferred, extended, reopened and closed, with a repeat merged into it; an
    escalated case with its leader; a dispute mediated to an agreement that is honoured."""
    now = datetime.now(timezone.utc)
    later = (now + timedelta(days=20)).isoformat()
    much_later = (now + timedelta(days=200)).isoformat()  # past any resolve deadline
    phone = "13512345678"
    water = complaint(
        received_at=(now - timedelta(minutes=47)).isoformat(),
        complainant={"name": "黄女士", "phone": phone},
        category="housing",
        title="房东断水",
    )
    with httpx.Client(base_url=base, timeout=30) as h:
        filed = h.post("/v1/cases", json={"complaint": water}, headers=bearer(keys["dispatcher"]))
        assert filed.status_code == 201, filed.text
        w = filed.json()["case_id"]
        _until(h, keys, w, "warning")
        _walk(h, keys, w, [
            ("dispatcher", "dispatch", {"department": "区住建局"}),
            ("housing", "record_contact", {"note": "无人接听", "reached": False}),
            ("housing", "record_contact", {"note": "电话联系黄女士，了解断水情况"}),
            ("housing", "request_suspension", {"reason": "等待法院对租赁纠纷的裁定"}),
            ("supervisor", "decide_suspension", {"approve": True}),
            ("supervisor", "resume", {"note": "裁定已出"}),
            ("supervisor", "summon_departments", {"notice_no": "塘家〔2026〕7号", "departments": ["区水务局", "区城管局"],
                                                  "reason": "断水涉及供水管网，请到场"}),
            ("water", "report_in", {"note": "已到场"}),
            ("housing", "record_verification", {"findings": "房东拖欠水费后切断供水"}),
            ("housing", "request_extension", {"reason": "需协调供水公司", "until": much_later}),
            ("supervisor", "decide_extension", {"approve": True, "note": "同意"}),
            ("dispatcher", "add_note", {"note": "诉求人来电补充：家中有老人"}),
            ("housing", "transfer", {"to_department": "区水务局", "explanation": "属供水管理"}),
            ("water", "record_contact", {"note": "再次联系黄女士"}),
            ("water", "reply", {"message": "已恢复供水"}),
            ("water", "submit_opinion", {"findings": "断水属实", "handling": "恢复供水", "next_steps": "跟踪回访"}),
            ("water", "report_progress", {"note": "供水已恢复"}),
            ("water", "resolve", {"resolution": "供水已恢复"}),
            ("dispatcher", "record_follow_up", {"satisfaction": "dissatisfied", "resolved": False, "note": "水压仍低"}),
        ])  # fmt: skip
        again = h.post(
            "/v1/cases", json={"complaint": {**water, "title": "断水仍未解决"}}, headers=bearer(keys["dispatcher"])
        )
        assert again.status_code == 201, again.text
        _until(h, keys, w, "repeat_complaint")
        _walk(h, keys, w, [
            ("water", "resolve", {"resolution": "更换加压泵，水压正常"}),
            ("dispatcher", "record_follow_up", {"satisfaction": "satisfied", "resolved": True, "note": "满意"}),
        ])  # fmt: skip

        filed = h.post(
            "/v1/cases", json={"complaint": complaint(title="施工噪音扰民")}, headers=bearer(keys["dispatcher"])
        )
        e = filed.json()["case_id"]
        _walk(h, keys, e, [
            ("supervisor", "escalate", {"reason": "多次投诉，领导包案"}),
            ("supervisor", "assign_leader", {"leader": {"id": "ld-zhang", "name": "张副区长"}}),
        ])  # fmt: skip

        filed = h.post(
            "/v1/cases", json={"complaint": complaint(title="房东断水断电")}, headers=bearer(keys["dispatcher"])
        )
        m = filed.json()["case_id"]
        parties = [
            {"side": "applicant", "name": "黄女士", "phone": "13512340000"},
            {"side": "respondent", "name": "房东吴先生", "phone": "13587650000"},
        ]
        _walk(h, keys, m, [
            ("dispatcher", "start_mediation", {"kind": "tenancy", "parties": parties, "amount": 3200}),
            ("supervisor", "assign_mediator", {"mediator": {"id": "hong", "name": "虹姐", "organisation": "虹姐调解工作室"}}),
            ("supervisor", "schedule_session", {"at": (now + timedelta(hours=1)).isoformat(), "place": "塘家社区调解室"}),
            ("supervisor", "record_session", {"attended": [1, 2], "note": "双方到场"}),
            ("supervisor", "extend_mediation", {"days": 5, "parties_consent": True, "note": "双方同意延长"}),
            ("supervisor", "record_agreement", {"form": "written", "terms": "房东当日恢复供水",
                                                "obligations": [{"party": 2, "what": "恢复供水", "due_at": later}]}),
            ("supervisor", "record_confirmation", {"outcome": "not_needed"}),
            ("supervisor", "record_fulfilment", {"obligation": 1, "honoured": True, "note": "已恢复"}),
        ])  # fmt: skip
    return [w, e, m]


def test_the_case_page_reads_in_chinese_sentences(page, stack, screenshots: Path):
    """Issue 37: the zh case page of cases with every kind of event the demo makes shows no
    English label, no raw field name and no True/False/None."""
    from tests.support.words import english_in, recorded

    case_ids = cases_with_every_kind_of_event(stack.base, stack.keys)
    fields = sorted(set().union(*recorded().values()), key=len, reverse=True)
    seen: set[str] = set()
    log_in(page, "sup-wang")
    for case_id in case_ids:
        page.goto(f"/console/cases/{case_id}")
        text = page.locator("main").inner_text()
        seen.update(
            c.removeprefix("event-")
            for c in page.locator("#timeline tr").evaluate_all("rows => rows.map(r => r.className)")
        )
        assert english_in(text) == [], (case_id, english_in(text))
        literals = re.findall(r"(?<![A-Za-z])(True|False|None)(?![A-Za-z])", text)
        assert literals == [], (case_id, literals)
        raw = [f for f in fields if re.search(rf"(?<![A-Za-z_-]){f}(?![A-Za-z_])", text)]
        assert raw == [], (case_id, raw)
        # What is left in Latin letters is ids: the case's, identities', the policy's sign.
        latin = set(re.findall(r"[A-Za-z]{3,}", re.sub(r"c\d{8}-[0-9a-f]+", "", text))) - {
            "English",
            "hotline",
            "sup",
            "wang",
            "zhang",
            "chen",
            "hong",
        }
        assert latin == set(), (case_id, latin)
    expected = {"received", "acknowledged", "warning", "breach", "dispatched", "contacted", "suspended", "resumed",
                "summoned", "reported_in", "verified", "extension_approved", "complainant_note", "transferred",
                "replied", "opinion_filed", "progress_reported", "resolved", "followed_up", "reopened",
                "repeat_complaint", "closed", "escalated", "leader_assigned", "mediation_started",
                "mediator_assigned", "session_scheduled", "session_held", "mediation_extended", "agreement_reached",
                "confirmation_recorded", "fulfilment_checked", "settled"}  # fmt: skip
    assert expected <= seen, expected - seen
    page.goto(f"/console/cases/{case_ids[0]}")
    page.screenshot(path=str(screenshots / "console-case-sentences.png"), full_page=True)
    assert page.errors == []
