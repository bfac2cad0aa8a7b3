"""The console in a real browser: log in, find a known overdue case on the board, open it, see its
timeline and breach, take a supervisor's action (and see a refusal's reason), export a CSV; a
handler's login is refused; no page writes an error to the browser's console."""

from __future__ import annotations

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


def set_password(environ: dict[str, str], identity: str, role: str, department: str | None = None) -> None:
    args = ["identity", "add", identity, "--role", role, "--password-stdin"]
    args += ["--department", department] if department else []
    done = cli(environ, *args, stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr


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
    keys = {"dispatcher": add_identity(environ, "hotline-07", "dispatcher", "区群众诉求服务中心")}
    set_password(environ, "sup-wang", "supervisor", "区信访局")
    set_password(environ, "edu-li", "handler", "区教育局")
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
