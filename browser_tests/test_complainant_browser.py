"""The complainant's own page on a phone (issue 23), in a real browser against real processes:
`python worker.py` (its embedded dev server) sending SMS to an SMS gateway over HTTP, and
`python -m gateway` serving the link. The link is read from the SMS the gateway received; on a
390 × 844 screen in zh-CN the complainant reads their case, adds a detail, is not satisfied twice
(the case reopens, then goes to a leader) and then is; the department may not judge itself; a
changed link shows the one 404 page; no page writes an error to the browser's console."""

from __future__ import annotations

import json
import re
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.support.browser import environment, watch_console
from tests.support.cases import complaint
from tests.support.processes import Gateway, WorkerProcess, add_identity, bearer, free_port

PHONE = "13912345678"


@dataclass
class Outbox:
    """What the SMS gateway was asked to send."""

    messages: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, case_id: str, recipient: str, kind: str, after: int = 0) -> dict:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with self.lock:
                found = [
                    m
                    for m in self.messages[after:]
                    if m["case_id"] == case_id and m["recipient"] == recipient and m["kind"] == kind
                ]
            if found:
                return found[0]
            time.sleep(0.1)
        raise AssertionError(f"no {kind} SMS to {recipient} for {case_id}: {self.messages}")


@pytest.fixture(scope="module")
def outbox() -> Iterator[tuple[Outbox, int]]:
    box = Outbox()

    class SmsGateway(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with box.lock:
                box.messages.append(body)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), SmsGateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield box, server.server_address[1]
    finally:
        server.shutdown()


@dataclass
class Stack:
    gateway: Gateway
    keys: dict[str, str]
    outbox: Outbox


@pytest.fixture(scope="module")
def stack(tmp_path_factory, outbox) -> Iterator[Stack]:
    box, sms_port = outbox
    tmp = tmp_path_factory.mktemp("complainant-browser")
    port = free_port()
    environ = environment(
        tmp,
        COMPLAINTS_SMS_URL=f"http://127.0.0.1:{sms_port}/send",
        COMPLAINTS_PUBLIC_URL=f"http://127.0.0.1:{port}",
    )
    worker = WorkerProcess(environ, tmp / "worker.log")
    keys = {
        "hotline": add_identity(environ, "hotline-07", "dispatcher", "区群众诉求服务中心"),
        "handler": add_identity(environ, "edu-li", "handler", "光明区教育局"),
        "supervisor": add_identity(environ, "sup-wang", "supervisor", "区信访局"),
        "leader": add_identity(environ, "ld-chen", "leader"),
    }
    gateway = Gateway(environ, tmp / "gateway.log", port=port)
    try:
        yield Stack(gateway, keys, box)
    finally:
        assert gateway.stop(signal.SIGTERM) == 0
        assert worker.stop(signal.SIGINT) == 0
    log = gateway.log.read_text() + (tmp / "worker.log").read_text()
    assert "Traceback" not in log, log[-3000:]
    assert PHONE not in log and "/s/" not in log  # neither the phone nor a link is ever logged


@pytest.fixture
def phone(browser, stack) -> Iterator[object]:
    context = browser.new_context(
        base_url=stack.gateway.base,
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    watch_console(page)
    try:
        yield page
    finally:
        context.close()


class Api:
    def __init__(self, stack: Stack) -> None:
        self.h = httpx.Client(base_url=stack.gateway.base, timeout=30)
        self.keys = stack.keys

    def act(self, who: str, case_id: str, update: str, body: dict) -> httpx.Response:
        return self.h.post(f"/v1/cases/{case_id}/{update}", json=body, headers=bearer(self.keys[who]))

    def ok(self, who: str, case_id: str, update: str, body: dict) -> dict:
        answer = self.act(who, case_id, update, body)
        assert answer.status_code == 200, (update, answer.text)
        return answer.json()

    def case(self, case_id: str) -> dict:
        return self.h.get(f"/v1/cases/{case_id}", headers=bearer(self.keys["supervisor"])).json()


def link_in(sms: dict, base: str) -> str:
    found = re.search(re.escape(base) + r"(/s/[A-Za-z0-9_-]{1,24})(?![A-Za-z0-9_-])", sms["text"])
    assert found, sms["text"]
    return found.group(1)


def fits_the_screen(page) -> None:
    """Readable without zooming: nothing wider than the phone's screen."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    assert page.evaluate("window.innerWidth") == 390


def _photo_with_gps() -> bytes:
    import io

    from PIL import Image

    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (22.0, 46.0, 12.0), 3: "E", 4: (113.0, 56.0, 2.0)}
    out = io.BytesIO()
    Image.new("RGB", (1200, 900), (180, 60, 20)).save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_the_complainant_follows_and_judges_their_case_on_a_phone(phone, stack, screenshots: Path):
    api = Api(stack)
    body = complaint(
        title="孩子入学被拒",
        category="education",
        complainant={"name": "李女士", "phone": PHONE},
        location={"district": "光明区", "street": "凤凰街道", "community": "塘家社区"},
    )
    filed = api.h.post("/v1/cases", json={"complaint": body}, headers=bearer(stack.keys["hotline"]))
    assert filed.status_code == 201, filed.text
    case_id = filed.json()["case_id"]
    ack = stack.outbox.wait_for(case_id, "complainant", "acknowledgement")
    assert ack["to"] == PHONE
    link = link_in(ack, stack.gateway.base)

    # The page: the case, its status in plain words, its steps against their promises.
    api.ok("hotline", case_id, "dispatch", {"department": "区教育局"})
    phone.goto(link)
    assert phone.locator("h1").inner_text() == "孩子入学被拒"
    assert case_id in phone.locator("#summary").inner_text()
    assert "区教育局" in phone.locator("#department").inner_text()
    steps = phone.locator("#steps li")
    names = [steps.nth(i).get_attribute("data-step") for i in range(steps.count())]
    assert names[:2] == ["acknowledge", "dispatch"] and "resolve" in names and "follow_up" in names
    assert "承诺" in phone.locator("#steps").inner_text()
    assert PHONE not in phone.content() and "139****5678" in phone.content()
    fits_the_screen(phone)

    # A detail added: on the timeline, and the department is told by SMS.
    sent = len(stack.outbox.messages)
    phone.fill("textarea[name=note]", "学校说要补交居住证明，我已经交了")
    phone.click("#add-note button[type=submit]")
    phone.wait_for_load_state()
    assert "学校说要补交居住证明" in phone.locator("#notes").inner_text()
    told = stack.outbox.wait_for(case_id, "department:光明区教育局", "complainant_note", after=sent)
    assert "学校说要补交居住证明" in told["text"]
    timeline = api.h.get(f"/v1/cases/{case_id}/timeline", headers=bearer(stack.keys["supervisor"])).json()
    noted = [e for e in timeline["timeline"] if e["kind"] == "complainant_note"]
    assert noted and noted[0]["actor"]["role"] == "complainant" and noted[0]["actor"]["id"] == f"complainant:{case_id}"

    # A photo from the phone (issue 38): a plain file input, no script; kept without its GPS, on
    # the page, and the department sees it.
    photo = Path(tempfile.mkdtemp()) / "upload.jpg"
    photo.write_bytes(_photo_with_gps())
    phone.set_input_files("#add-photo input[type=file]", str(photo))
    phone.click("#add-photo button[type=submit]")
    phone.wait_for_load_state()
    assert "已收到您的照片" in phone.content() and phone.locator("#photos img").count() == 1
    assert phone.locator("#photos img").evaluate("img => img.complete && img.naturalWidth > 0")
    listed = api.h.get(f"/v1/cases/{case_id}/attachments", headers=bearer(stack.keys["handler"])).json()
    [seen] = listed["attachments"]
    assert seen["kind"] == "photo" and seen["purpose"] == "problem" and seen["url"]
    kept = api.h.get(seen["url"])
    assert kept.status_code == 200 and kept.headers["content-type"] == "image/jpeg"
    assert b"GPS" not in kept.content and b"Exif" not in kept.content[:64]

    # The department answers and resolves; its reply and resolution reach the page.
    api.ok("handler", case_id, "record_contact", {"note": "已电话联系家长"})
    api.ok("handler", case_id, "reply", {"message": "已协调学校，三日内答复入学安排"})
    sent = len(stack.outbox.messages)
    api.ok("handler", case_id, "resolve", {"resolution": "已安排就近入学"})
    resolved = stack.outbox.wait_for(case_id, "complainant", "follow_up_due", after=sent)
    link = link_in(resolved, stack.gateway.base)
    # The department being measured may not record its own verdict.
    own = api.act("handler", case_id, "record_follow_up", {"satisfaction": "satisfied"})
    assert own.status_code == 403 and "never the department" in own.json()["detail"]

    phone.goto(link)
    assert "已安排就近入学" in phone.locator("#answers").inner_text()
    assert "已协调学校" in phone.locator("#answers").inner_text()
    fits_the_screen(phone)
    phone.screenshot(path=str(screenshots / "complainant-phone.png"))  # the first screen, as the phone shows it

    def verdict(resolved: str, satisfaction: str, comment: str = "") -> None:
        phone.check(f"input[name=resolved][value={resolved}]")
        phone.check(f"input[name=satisfaction][value={satisfaction}]")
        if comment:
            phone.fill("textarea[name=comment]", comment)
        phone.click("#verdict button[type=submit]")
        phone.wait_for_load_state()

    # Not solved, not satisfied: the case reopens.
    verdict("no", "dissatisfied", "学校还是没有接收")
    assert phone.locator("#verdict").count() == 0 and "重新" in phone.locator("#verdict-given").inner_text()
    again = api.case(case_id)
    assert again["status"] == "handling" and again["reopen_count"] == 1 and not again["escalated"]

    # Resolved again, dissatisfied again: a leader takes the case over (领导包案).
    api.ok("handler", case_id, "resolve", {"resolution": "已与学校再次沟通"})
    phone.goto(link)
    verdict("no", "dissatisfied")
    escalated = api.case(case_id)
    assert escalated["reopen_count"] == 2 and escalated["escalated"]
    api.ok("supervisor", case_id, "assign_leader", {"leader": {"id": "ld-chen", "name": "陈局长"}})
    api.ok("leader", case_id, "resolve", {"resolution": "局长协调，孩子已入学"})

    # Satisfied: the case closes, and the page shows the verdict given, and no more forms.
    phone.goto(link)
    assert "局长协调，孩子已入学" in phone.locator("#answers").inner_text()
    verdict("yes", "satisfied")
    closed = api.case(case_id)
    assert closed["status"] == "closed" and closed["satisfaction"] == "satisfied"
    assert phone.locator("#verdict-given").count() == 1 and phone.locator("form").count() == 0
    assert "已办结" in phone.locator("#status").inner_text()

    assert phone.errors == []
    # A changed token opens nothing: the one 404 page. Chromium reports the document's own 404 status
    # as a console line; that is the answer asked for, and the only line allowed.
    token = link.removeprefix("/s/")
    changed = phone.goto("/s/" + ("A" if token[0] != "A" else "B") + token[1:])
    assert changed is not None and changed.status == 404
    assert "该链接无效或已过期" in phone.content()
    fits_the_screen(phone)
    assert phone.errors == ["error: Failed to load resource: the server responded with a status of 404 (Not Found)"]
