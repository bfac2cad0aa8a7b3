"""The console's words, Chinese first, English available (`?lang=en` or Accept-Language)."""

from __future__ import annotations

from models.labels import LANGUAGES, Labels

# key -> (中文, English)
WORDS: dict[str, tuple[str, str]] = {
    "console": ("接诉即办指挥中心", "Complaints command centre"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "identity": ("账号", "Identity"),
    "password": ("密码", "Password"),
    "login_failed": (
        "账号或密码不正确，或该账号无权使用指挥中心。",
        "Wrong identity or password, or the identity may not use the console.",
    ),
    "login_throttled": ("尝试次数过多，请稍后再试。", "Too many attempts; try again later."),
    "csrf_failed": ("表单已过期，请重新提交。", "The form has expired; please send it again."),
    "overview": ("总览", "Overview"),
    "overdue": ("超期督办", "Overdue"),
    "departments": ("部门排名", "Departments"),
    "trends": ("趋势", "Trends"),
    "hotspots": ("类案热点", "Hotspots"),
    "follow_ups": ("待回访", "Callbacks"),
    "callbacks_rule": (
        "办结满两个工作日、诉求人尚未通过短信链接评价的案件，由热线回访员电话回访（回访时限不变）。",
        "Resolved two working days ago or more and no verdict from the complainant's link: the hotline calls them back (the follow-up deadline is unchanged).",
    ),
    "nothing_to_call": ("没有待回访的案件。", "Nobody to call back."),
    "resolved_at": ("办结时间", "Resolved"),
    "follow_up_due": ("回访时限", "Follow-up due"),
    "simulate": ("政策推演", "Policy what-if"),
    "simulate_intro": (
        "用本系统的时限规则和工作日历，模拟一年的诉求在不同政策下的按时率（{source}，{cases} 件/年）。同一随机种子，结果相同。",
        "A year of complaints simulated through the engine's own time limits and calendar, under each policy ({source}, {cases} a year). The same seed gives the same report.",
    ),
    "policies": ("政策", "Policies"),
    "replications": ("重复次数", "Replications"),
    "seed": ("随机种子", "Seed"),
    "run": ("开始推演", "Run"),
    "running": ("推演中…（已 {s} 秒，本页自动刷新）", "Running… ({s} s; this page refreshes itself)"),
    "failed": ("推演失败：", "The simulation failed: "),
    "result": ("结果（均值 ± 95% 置信区间）", "Result (mean ± 95 % interval)"),
    "took": ("用时 {s} 秒", "took {s} s"),
    "all_milestones": ("全部时限", "all milestones"),
    "today": ("今日", "Today"),
    "period": ("本期", "This period"),
    "since": ("起", "From"),
    "until": ("止", "To"),
    "show": ("查询", "Show"),
    "accepted": ("受理", "Accepted"),
    "resolved": ("化解", "Resolved"),
    "open": ("在办", "Open"),
    "open_now": ("当前在办", "Open now"),
    "overdue_now": ("当前超期", "Overdue now"),
    "breaches": ("超时次数", "Breaches"),
    "on_time_rate": ("按时率", "On time"),
    "resolution_rate": ("化解率", "Resolution rate"),
    "satisfaction_rate": ("满意率", "Satisfaction"),
    "solution_rate": ("解决率", "Solved"),
    "verdicts_by": ("回访评价来源", "Who gave the verdicts"),
    "verdict_source": ("评价来源", "Given by"),
    "source_link": ("诉求人短信链接", "Complainant's link"),
    "source_hotline": ("热线回访", "Hotline callback"),
    "source_supervisor": ("督办人员", "Supervisor"),
    "source_department": ("承办部门（旧规则）", "Handling department (old rule)"),
    "unreachable": ("联系不上", "Unreachable"),
    "webhooks": ("部门系统推送", "Pushes to departments' systems"),
    "webhook": ("订阅", "Subscription"),
    "owed": ("待推送", "Owed"),
    "oldest_owed": ("最早待推送", "Oldest owed"),
    "state": ("状态", "State"),
    "paused": ("已暂停", "Paused"),
    "active": ("正常", "Active"),
    "all_departments": ("全部部门", "All departments"),
    "webhooks_rule": (
        "推送失败会自动重试；连续失败三天的订阅暂停，由运维人员修复后恢复（python -m starter webhook resume），期间的事件按顺序补发。",
        "Failed pushes are retried; a subscription failing for three days pauses until an operator resumes it (python -m starter webhook resume), and what it missed is sent in order.",
    ),
    "no_verdicts": ("本期没有回访评价。", "No verdicts in this period."),
    "solution_rule": (
        "解决率 = 答“已解决”÷ 回答了是否解决的回访；满意率 = 满意和基本满意 ÷ 回访（联系不上的不计入）。此前的回访没有问是否解决，只计入满意率。",
        "Solved = “yes, solved” ÷ the verdicts that answered whether it was solved; satisfaction = satisfied and basically satisfied ÷ visits (unreachable apart). Older follow-ups were not asked whether it was solved and count in satisfaction only.",
    ),
    "escalated": ("领导包案", "Escalated"),
    "met": ("按时", "Met"),
    "late": ("超时", "Late"),
    "open_overdue": ("在办超期", "Open and overdue"),
    "visited": ("回访", "Visited"),
    "satisfied": ("满意", "Satisfied"),
    "department": ("责任部门", "Department"),
    "street": ("街道", "Street"),
    "community": ("社区", "Community"),
    "category": ("类别", "Category"),
    "all": ("全部", "All"),
    "case_id": ("编号", "Case"),
    "title": ("诉求", "Complaint"),
    "status": ("状态", "Status"),
    "milestone": ("环节", "Step"),
    "due_at": ("时限", "Due"),
    "hours_late": ("已超(小时)", "Hours late"),
    "overdue_milestones": ("超期环节", "Overdue steps"),
    "leader": ("包案领导", "Leader"),
    "none": ("无", "none"),
    "export_csv": ("导出 CSV", "Export CSV"),
    "page": ("页", "Page"),
    "previous": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "nothing_overdue": ("没有超期的诉求。", "Nothing is overdue."),
    "refreshes": ("每 60 秒自动刷新", "Refreshes every 60 s"),
    "few_cases": (
        "案件少于 {n} 件的部门（比率参考意义有限）",
        "Departments with fewer than {n} cases (their rates say little)",
    ),
    "league_rule": (
        "按时率 = 按时 ÷ (按时 + 超时 + 在办超期)，故近期数据不会虚高为 100%。",
        "On time = met ÷ (met + late + still open and overdue), so a recent period never reads as 100 %.",
    ),
    "weeks": ("周", "Week"),
    "people": ("人数", "People"),
    "first_at": ("首次", "First"),
    "last_at": ("最近", "Last"),
    "cases": ("案件", "Cases"),
    "no_hotspots": ("暂无类案聚集。", "No clusters."),
    "case": ("案件", "Case"),
    "complainant": ("诉求人", "Complainant"),
    "phone": ("电话", "Phone"),
    "received_at": ("受理时间", "Received"),
    "description": ("内容", "Description"),
    "location": ("地点", "Location"),
    "milestones": ("时限节点", "Deadlines"),
    "timeline": ("办理过程", "Timeline"),
    "actor": ("操作人", "By"),
    "at": ("时间", "At"),
    "event": ("事项", "Event"),
    "detail": ("详情", "Detail"),
    "engine": ("系统", "engine"),
    "actions": ("督办操作", "Supervisor actions"),
    "escalate": ("领导包案（升级）", "Escalate"),
    "assign_leader": ("指定包案领导", "Assign a leader"),
    "decide_extension": ("审批延期申请", "Decide the extension"),
    "decide_suspension": ("审批中止计时申请", "Decide the suspension"),
    "reason": ("理由", "Reason"),
    "note": ("意见", "Note"),
    "leader_id": ("领导账号", "Leader id"),
    "leader_name": ("领导姓名", "Leader name"),
    "approve": ("同意", "Approve"),
    "deny": ("不同意", "Deny"),
    "submit": ("提交", "Submit"),
    "done": ("已办理。", "Done."),
    "refused": ("未办理：", "Refused: "),
    "read_only": ("审计账号只读，不能办理。", "Auditors read only; no actions."),
    "requested_until": ("申请延至", "Requested until"),
    "breached": ("超时", "breached"),
    "outcome": ("结果", "Outcome"),
    "not_found": ("未找到", "Not found"),
    "not_found_text": ("没有这个页面或案件。", "There is no such page or case."),
    "unavailable": ("暂不可用", "Unavailable"),
    "unavailable_text": ("流程引擎暂时无法访问，请稍后再试。", "The engine cannot be reached; try again shortly."),
    "masked": ("（已脱敏）", "(masked)"),
    "now": ("现在", "now"),
    "runs": ("运行段", "Runs"),
    "signed_in_as": ("当前账号", "Signed in as"),
    "language": ("English", "中文"),
    "chart_accepted": ("每周受理与化解", "Accepted and resolved per week"),
    "chart_rates": ("每周按时率与满意率 (%)", "On time and satisfaction per week (%)"),
}


class Words(Labels):
    """`t("overview")` in a template: the word in the page's language (the key itself if unknown);
    `t.milestone(...)`, `t.event(...)` and the rest from the case's own labels (models.labels)."""

    def __call__(self, key: str, **params: object) -> str:
        word = WORDS.get(key)
        text = word[self._i] if word else key
        return text.format(**params) if params else text


def choose(query_lang: str | None, cookie_lang: str | None, accept_language: str | None) -> str:
    """?lang= first, then the remembered choice, then the browser's: Chinese unless it prefers English."""
    for lang in (query_lang, cookie_lang):
        if lang in LANGUAGES:
            return lang  # type: ignore[return-value]
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return "zh"
