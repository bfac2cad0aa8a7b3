"""Notices from templates: every kind in both languages, SMS that fits, a broken template named,
and the statistics table lining up with long Chinese names."""

from __future__ import annotations

import pytest

from activities.templates import COMPLAINANT, PARAMS, NoticeTemplates, TemplateError, sms_segments
from readmodel.links import Links, redact
from runtime.keys import Keyring
from tests.support.processes import ROOT

SHIPPED = ROOT / "runtime" / "config" / "notices.toml"


LONG = "房东与租户因租金纠纷切断整栋楼供水已经三天老人小孩无法正常生活多次协商无果" * 4


def _params(name: str) -> dict[str, str]:
    sample = {
        "case_id": "hotline-20261125-0042",
        "title": LONG,
        "into": "hotline-20261120-0007",
        "department": "区城市更新和土地整备局",
        "explanation": LONG,
        "from_department": "区住建局",
        "until": "2026-12-31T18:00:00+08:00",
        "reason": LONG,
        "leader": "张书记",
        "notice_no": "光明〔2026〕7号",
        "community": "塘家社区",
        "milestone": "report_in:区水务局",
        "due_at": "2026-11-26T01:10:00+00:00",
        "repeat_case_id": "hotline-20261126-0001",
        "resolution": LONG,
        "note": "楼道里的水管也漏了",
        "mediator": "虹姐",
        "dispute_kind": "tenancy",
        "at": "2026-11-27T02:00:00+00:00",
        "place": "东门街道虹姐调解工作室",
        "road": "labour_arbitration",
        "limitation_ends": "2027-11-25",
        "reasons": "扬言轻生；群体性事件苗头",
    }
    return {p: sample[p] for p in PARAMS[name]}


PUBLIC = "https://12345.gm.gov.cn"  # as long as a district's own address makes a link
LINKS = Links(Keyring.generate("t-1"), PUBLIC)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_notice_renders_and_a_complainants_fits_the_sms_limit_with_its_link(language):
    templates = NoticeTemplates.load(SHIPPED, language, max_segments=2 if language == "zh" else 3, public_url=PUBLIC)
    link = LINKS.url(LINKS.make("hotline-20261125-0042"))
    assert len(link) == len(PUBLIC) + 3 + 24
    for name in PARAMS:
        text = templates.render(name, _params(name), link if name in COMPLAINANT else "")
        assert "{" not in text and "hotline-20261125-0042" in text, (name, text)
        if name in COMPLAINANT:
            assert sms_segments(text) <= templates.max_segments, (name, len(text), text)
            assert f"{link} " in text  # whole, never shortened, and apart from the words after it
            assert "12345" in text.replace(PUBLIC, "")  # and how to ask by phone
        else:
            assert "/s/" not in text  # a department's or supervisor's notice carries no complainant's link
    zh = NoticeTemplates.load(SHIPPED, "zh")
    assert (
        zh.render("warning", _params("warning"))
        == "【临期预警】案件hotline-20261125-0042的区水务局报到时限为11月26日09:10，尚未完成，请抓紧办理。"
    )
    # A dispute's notices name the road and the kind in words, and the law they cite.
    assert zh.render("referred_labour", _params("referred_labour")) == (
        "【光明区群众诉求服务】案件hotline-20261125-0042调解未达成协议，您可依法申请劳动争议仲裁。"
        "仲裁时效一般至2027-11-25（劳动争议调解仲裁法第二十七条），请及时申请。咨询请致电12345。"
    )
    assert "租赁纠纷" in zh.render("mediator_assigned", _params("mediator_assigned"))
    assert "11月27日10:00" in zh.render("session_reminder", _params("session_reminder"))
    demo = "http://127.0.0.1:8080/s/" + "a" * 24
    short = zh.render("acknowledgement", {"case_id": "demo-school-1", "title": "小孩超龄上学被拒"}, demo)
    assert short == (
        "【光明区群众诉求服务】您反映的“小孩超龄上学被拒”已受理，案件编号demo-school-1。"
        f"查看进度、补充说明：{demo} 或致电12345。"
    )
    assert sms_segments(short) == 2


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_link_too_long_for_the_sms_limit_is_refused_at_start(language):
    with pytest.raises(TemplateError, match="with a one-character title and a link to https://"):
        NoticeTemplates.load(SHIPPED, language, max_segments=1, public_url=PUBLIC)
    host = "x" * (80 if language == "zh" else 250)  # English SMS parts hold 153 characters, Chinese 67
    with pytest.raises(TemplateError, match="link to https://"):
        NoticeTemplates.load(SHIPPED, language, max_segments=2, public_url=f"https://{host}.gov.cn")


def test_a_complainants_template_without_its_link_is_refused(tmp_path):
    path = tmp_path / "notices.toml"
    text = SHIPPED.read_text(encoding="utf-8")
    path.write_text(text.replace("请评价：{link} 或", "请评价或", 1), encoding="utf-8")
    with pytest.raises(TemplateError, match="'resolved' goes to the complainant and must carry {link}"):
        NoticeTemplates.load(path, "zh")
    path.write_text(text.replace("请抓紧办理。", "请抓紧办理：{link}", 1), encoding="utf-8")
    with pytest.raises(TemplateError, match="'warning' uses unknown placeholder"):
        NoticeTemplates.load(path, "zh")


def test_links_are_signed_per_case_and_never_kept_in_a_text_for_logs():
    one, again, other = LINKS.make("c-1"), LINKS.make("c-1"), LINKS.make("c-2")
    assert one == again and one.token != other.token and len(one.token) == 24
    assert LINKS.genuine(one.token, "c-1", one.purpose, one.key_id)
    assert not LINKS.genuine(one.token, "c-2", one.purpose, one.key_id)  # bound to its case
    assert not LINKS.genuine(one.token, "c-1", "party", one.key_id)  # and to its purpose
    changed = ("B" if one.token[5] != "B" else "C").join((one.token[:5], one.token[6:]))
    assert not LINKS.genuine(changed, "c-1", one.purpose, one.key_id)
    rotated = Links(LINKS.keyring.rotated("t-2"), PUBLIC)
    assert rotated.make("c-1").token != one.token and rotated.genuine(one.token, "c-1", one.purpose, "t-1")
    assert redact(f"请评价：{LINKS.url(one)} 或致电12345") == f"请评价：{PUBLIC}/s/… 或致电12345"


def test_sms_segments():
    assert [sms_segments("字" * n) for n in (70, 71, 134, 135)] == [1, 2, 2, 3]
    assert [sms_segments("a" * n) for n in (160, 161, 306, 307)] == [1, 2, 2, 3]


@pytest.mark.parametrize(
    "change, named",
    [
        ('assignment = "【派单】案件{case_id}已派至{department}', "'assignment' is missing"),
        (
            'warning = "【临期预警】案件{case_id}的{milestone}时限为{due_at}',
            "'warning' uses unknown placeholder(s) {phone}",
        ),
        ('breach = "【超时】案件{case_id}的{milestone}', "'breach' is broken"),
        ('merged = "{sign}您的诉求', "'merged' takes"),
    ],
)
def test_a_broken_template_is_named(tmp_path, change, named):
    text = SHIPPED.read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.startswith(change))
    if "missing" in named:
        broken = text.replace(line + "\n", "")
    elif "unknown" in named:
        broken = text.replace(line, line.replace("{due_at}", "{due_at}{phone}"))
    elif "broken" in named:
        broken = text.replace(line, line.replace("{milestone}", "{milestone"))
    else:
        broken = text.replace(line, line.replace("办理。", "办理" + "。" * 140))
    path = tmp_path / "notices.toml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(TemplateError, match=named.replace("(", r"\(").replace(")", r"\)").replace("{", r"\{")):
        NoticeTemplates.load(path, "zh")
    with pytest.raises(TemplateError, match="no language \\[fr\\]"):
        NoticeTemplates.load(SHIPPED, "fr")


def test_the_stats_table_lines_up_with_long_chinese_department_names():
    from rich.cells import cell_len

    from readmodel.stats import Stats
    from starter.cli.reports import stats_table

    rows = [Stats("区城市更新和土地整备局"), Stats("区住建局"), Stats("(none)"), Stats("total")]
    rows[0].accepted, rows[1].accepted = 12, 3
    lines = stats_table(rows, "department").splitlines()

    def ends(line: str) -> list[int]:  # the display cell where each word ends
        found, at = [], 0
        for word in line.split():
            at = line.index(word, at) + len(word)
            found.append(cell_len(line[:at]))
        return found

    data = [ends(line) for line in lines[1:]]
    assert all(d[1:11] == data[0][1:11] for d in data), lines  # the ten numbers end in the same cells
    assert ends(lines[0])[1:10] == data[0][1:10], lines  # and under their headers
    assert data[0][0] < data[0][1] - len("12"), lines  # the longest name fits before the numbers
