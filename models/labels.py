"""The case's words for people, Chinese first and English beside: milestones, timeline events,
statuses, categories and outcomes. One table, read by the notices, Open311, the console and the
CLI; a key missing here shows as itself.

    Labels("zh").milestone("report_in:区水务局")  -> "区水务局报到"
"""

from __future__ import annotations

LANGUAGES = ("zh", "en")

# key -> (中文, English)
MILESTONES: dict[str, tuple[str, str]] = {
    "acknowledge": ("受理告知", "acknowledgement"),
    "dispatch": ("派单", "dispatch"),
    "contact": ("联系诉求人", "contact"),
    "verify": ("核实情况", "verification"),
    "reply": ("答复", "reply"),
    "opinion": ("处理意见书", "handling opinion"),
    "resolve": ("办结", "resolution"),
    "follow_up": ("回访", "follow-up visit"),
    "leader": ("指派包案领导", "leader assignment"),
    "progress_report": ("进展报告", "progress report"),
    "report_in": ("报到", "report-in"),  # one per summoned department: "区水务局报到"
    "mediation": ("调解期限", "mediation term"),
    "session": ("调解会记录", "mediation session record"),
    "confirmation": ("司法确认申请期", "judicial confirmation window"),
    "fulfilment": ("履行回访", "fulfilment check"),  # one per obligation: "履行回访（第1项）"
    "respond": ("领导响应", "leader's response"),  # a red strong signal (强信息)
}

EVENTS: dict[str, tuple[str, str]] = {
    "received": ("受理", "received"),
    "acknowledged": ("受理告知", "acknowledged"),
    "dispatched": ("派单", "dispatched"),
    "transferred": ("转办", "transferred"),
    "placed": ("定位", "placed"),
    "contacted": ("联系诉求人", "contacted"),
    "verified": ("核实", "verified"),
    "replied": ("答复", "replied"),
    "opinion_filed": ("提交处理意见书", "opinion filed"),
    "progress_reported": ("进展报告", "progress reported"),
    "extension_requested": ("申请延期", "extension requested"),
    "extension_approved": ("同意延期", "extension approved"),
    "extension_refused": ("不同意延期", "extension refused"),
    "suspension_requested": ("申请中止计时", "suspension requested"),
    "suspended": ("中止计时", "suspended"),
    "suspension_refused": ("不同意中止", "suspension refused"),
    "resumed": ("恢复计时", "resumed"),
    "resolved": ("办结", "resolved"),
    "followed_up": ("回访", "followed up"),
    "closed": ("关闭", "closed"),
    "reopened": ("重办", "reopened"),
    "warning": ("临期预警", "warning"),
    "breach": ("超时", "breach"),
    "escalation_reason": ("升级原因", "escalation reason"),
    "escalated": ("领导包案", "escalated"),
    "leader_assigned": ("指定包案领导", "leader assigned"),
    "summoned": ("社区吹哨", "summoned"),
    "reported_in": ("部门报到", "reported in"),
    "repeat_complaint": ("重复诉求", "repeat complaint"),
    "repeat_of": ("重复来电", "repeat of"),
    "merged": ("并案", "merged"),
    "notice_failed": ("告知发送失败", "notice failed"),
    "complainant_note": ("诉求人补充说明", "complainant's note"),
    "link_sent": ("发送查询链接", "link sent"),
    "risk_assessed": ("强信息研判", "strong signal assessed"),
    "risk_alert": ("强信息预警", "risk alert"),
    "risk_reassessed": ("调整预警等级", "risk level reset"),
    "risk_responded": ("领导响应", "leader responded"),
    "source_task": ("纳入源头治理", "part of a source task"),
    "attached": ("上传证据", "evidence attached"),
    "photo_published": ("公开照片", "photo made public"),
    "mediation_started": ("转入调解", "mediation started"),
    "mediator_assigned": ("指派调解员", "mediator assigned"),
    "session_scheduled": ("安排调解会", "session scheduled"),
    "session_held": ("调解会", "session held"),
    "mediation_extended": ("延长调解期限", "mediation extended"),
    "agreement_reached": ("达成调解协议", "agreement reached"),
    "confirmation_recorded": ("司法确认", "judicial confirmation recorded"),
    "fulfilment_checked": ("履行回访", "fulfilment checked"),
    "mediation_reopened": ("重新调解", "mediation reopened"),
    "settled": ("纠纷化解", "settled"),
    "referred": ("引导至其他途径", "referred"),
    "withdrawn": ("撤回调解", "withdrawn"),
}

DISPUTE_KINDS: dict[str, tuple[str, str]] = {
    "labour": ("劳动争议", "labour"),
    "tenancy": ("租赁纠纷", "tenancy"),
    "neighbour": ("邻里纠纷", "neighbours"),
    "property_management": ("物业纠纷", "property management"),
    "consumer": ("消费纠纷", "consumer"),
    "family": ("婚姻家庭纠纷", "family"),
    "other": ("其他纠纷", "other"),
}

# Where a dispute goes when mediation ends without an agreement; read after "可依法" / "You may".
ROADS: dict[str, tuple[str, str]] = {
    "labour_arbitration": ("申请劳动争议仲裁", "apply for labour dispute arbitration"),
    "civil_litigation": ("向人民法院提起诉讼", "bring a civil action in a people's court"),
    "administrative_reconsideration": ("申请行政复议", "apply for administrative reconsideration"),
    "other": ("通过其他途径解决", "seek another way to settle it"),
}

CONFIRMATIONS: dict[str, tuple[str, str]] = {
    "applied": ("已申请司法确认", "applied"),
    "not_applied": ("未申请", "not applied"),
    "not_needed": ("无需司法确认", "not needed"),
}

STATUSES: dict[str, tuple[str, str]] = {
    "received": ("已受理", "received"),
    "dispatched": ("已派单", "dispatched"),
    "handling": ("办理中", "handling"),
    "resolved": ("已办结待回访", "resolved"),
    "closed": ("已关闭", "closed"),
    "merged": ("已并案", "merged"),
    "mediating": ("调解中", "mediating"),
    "agreed": ("已达成协议待履行", "agreement being fulfilled"),
    "referred": ("已引导至其他途径", "referred"),
    "withdrawn": ("已撤回", "withdrawn"),
}

# A status as told to the public (Open311's status_notes): who holds the case, where it went.
PUBLIC_STATUSES: dict[str, tuple[str, str]] = {
    "received": ("已受理，待分拨", "received, to be dispatched"),
    "dispatched": ("已派至{department}", "dispatched to {department}"),
    "handling": ("{department}办理中", "being handled by {department}"),
    "resolved": ("已办结，待回访", "resolved, awaiting the follow-up visit"),
    "closed": ("已回访，销号", "followed up and closed"),
    "merged": ("已并入诉求 {merged_into} 一并办理", "handled with request {merged_into}"),
    "mediating": ("调解中", "in mediation"),
    "agreed": ("已达成调解协议，履行中", "agreement reached, being fulfilled"),
    "referred": ("调解未成，已引导至其他途径", "not settled by mediation; referred to other remedies"),
    "withdrawn": ("当事人已撤回", "withdrawn by a party"),
}

CATEGORIES: dict[str, tuple[str, str]] = {
    "urban_management": ("城市管理", "urban management"),
    "property": ("物业管理", "property management"),
    "labour": ("劳动保障", "labour"),
    "education": ("教育", "education"),
    "medical": ("医疗卫生", "medical"),
    "veterans": ("退役军人事务", "veterans"),
    "urban_renewal": ("城市更新", "urban renewal"),
    "environment": ("生态环境", "environment"),
    "traffic": ("交通", "traffic"),
    "housing": ("住房和租赁", "housing"),
    "other": ("其他", "other"),
}

# How a milestone stands (models.case.Milestone.outcome).
OUTCOMES: dict[str, tuple[str, str]] = {
    "met": ("按时", "met"),
    "late": ("超时完成", "late"),
    "BREACHED": ("已超时", "BREACHED"),
    "missed": ("超时未办", "missed"),
    "open": ("进行中", "open"),
    "superseded": ("已转办", "superseded"),
    "not owed": ("无需办理", "not owed"),
}

# Units of a duration (sla.durations.Unit), after a number: "3个工作日", "3 working days".
UNITS: dict[str, tuple[str, str]] = {
    "minutes": ("分钟", "minutes"),
    "hours": ("小时", "hours"),
    "days": ("天", "days"),
    "working_days": ("个工作日", "working days"),
    "months": ("个月", "months"),
}

TRACKS: dict[str, tuple[str, str]] = {
    "routine": ("常态类", "routine"),
    "fast": ("快处类", "fast"),
    "major": ("重大复杂", "major"),
}

ROLES: dict[str, tuple[str, str]] = {
    "dispatcher": ("派单员", "dispatcher"),
    "handler": ("承办人", "handler"),
    "leader": ("包案领导", "leader"),
    "supervisor": ("督办", "supervisor"),
    "community": ("社区", "community"),
    "auditor": ("审计", "auditor"),
    "mediator": ("调解员", "mediator"),
    "complainant": ("诉求人", "complainant"),
}

CHANNELS: dict[str, tuple[str, str]] = {
    "hotline": ("12345热线", "the 12345 hotline"),
    "online": ("书记在线", "the online portal"),
    "mini_program": ("小程序", "the mini-program"),
    "walk_in": ("来访", "a walk-in"),
    "letter": ("来信", "a letter"),
    "grid_patrol": ("网格巡查", "grid patrol"),
    "visit": ("服务窗口来访", "a visit to a service point"),
}

SATISFACTIONS: dict[str, tuple[str, str]] = {
    "satisfied": ("满意", "satisfied"),
    "basically_satisfied": ("基本满意", "basically satisfied"),
    "dissatisfied": ("不满意", "dissatisfied"),
    "unreachable": ("未联系上", "unreachable"),
}

# The clocks a case runs under (sla.policies.POLICIES), as the seeds name them.
POLICIES: dict[str, tuple[str, str]] = {
    "1030": ("1030机制", "the 1030 rule"),
    "13710": ("13710工作制度", "the 13710 rule"),
}

# A strong signal's level (models/risk.py RiskLevel); "none": a supervisor found none.
RISK_LEVELS: dict[str, tuple[str, str]] = {
    "red": ("红色", "red"),
    "orange": ("橙色", "orange"),
    "yellow": ("黄色", "yellow"),
    "none": ("无", "none"),
}

RESPONSE_MODES: dict[str, tuple[str, str]] = {
    "on_site": ("到场", "on site"),
    "phone": ("电话", "by phone"),
    "video": ("视频", "by video"),
}

AGREEMENT_FORMS: dict[str, tuple[str, str]] = {
    "written": ("书面", "written"),
    "oral": ("口头", "oral"),
}

# A policy's duration as written ("10 minutes", "3 working days", "1 day") -> its unit in UNITS.
_SPOKEN_UNITS = {
    "minute": "minutes",
    "minutes": "minutes",
    "hour": "hours",
    "hours": "hours",
    "day": "days",
    "days": "days",
    "working day": "working_days",
    "working days": "working_days",
    "month": "months",
    "months": "months",
}


class Labels:
    """The words of one language (Chinese for any language the table lacks)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else "zh"
        self._i = LANGUAGES.index(self.lang)

    def _of(self, table: dict[str, tuple[str, str]], key: str | None) -> str:
        if key is None:
            return "-"
        return table[key][self._i] if key in table else key

    def milestone(self, key: str | None) -> str:
        """A milestone's name; one owed per department ("report_in:区水务局") names its department."""
        base, sep, who = (key or "").partition(":")
        if not sep:
            return self._of(MILESTONES, key)
        label = self._of(MILESTONES, base)
        if who.isdigit():  # one per agreement obligation, numbered from 1
            return f"{label}（第{who}项）" if self.lang == "zh" else f"{label} #{who}"
        return f"{who}{label}" if self.lang == "zh" else f"{label} of {who}"

    def event(self, key: str | None) -> str:
        return self._of(EVENTS, key)

    def status(self, key: str | None) -> str:
        return self._of(STATUSES, key)

    def public_status(self, key: str, *, department: str | None = None, merged_into: str | None = None) -> str:
        """A status as the public is told it (Open311's status_notes)."""
        return self._of(PUBLIC_STATUSES, key).format(department=department or "-", merged_into=merged_into or "-")

    def category(self, key: str | None) -> str:
        return self._of(CATEGORIES, key)

    def outcome(self, key: str | None) -> str:
        return self._of(OUTCOMES, key)

    def dispute_kind(self, key: str | None) -> str:
        return self._of(DISPUTE_KINDS, key)

    def road(self, key: str | None) -> str:
        return self._of(ROADS, key)

    def confirmation(self, key: str | None) -> str:
        return self._of(CONFIRMATIONS, key)

    def track(self, key: str | None) -> str:
        return self._of(TRACKS, key)

    def role(self, key: str | None) -> str:
        return self._of(ROLES, key)

    def channel(self, key: str | None) -> str:
        return self._of(CHANNELS, key)

    def satisfaction(self, key: str | None) -> str:
        return self._of(SATISFACTIONS, key)

    def policy(self, key: str | None) -> str:
        return self._of(POLICIES, key)

    def agreement_form(self, key: str | None) -> str:
        return self._of(AGREEMENT_FORMS, key)

    def caller(self, first: bool, nth: int) -> str:
        """初信初访 (CaseState.caller): the caller's first case in the district, or their n-th in 90 days."""
        if first:
            return (
                "初信初访（本区首次诉求）"
                if self.lang == "zh"
                else "first complaint (the caller's first in the district)"
            )
        if self.lang == "zh":
            return f"本区曾有诉求，90天内第{nth}次"
        return f"has complained in the district before; case {nth} in 90 days"

    def risk_level(self, key: str | None) -> str:
        return self._of(RISK_LEVELS, key or "none")

    def response_mode(self, key: str | None) -> str:
        return self._of(RESPONSE_MODES, key)

    def spoken(self, duration: str) -> str:
        """A milestone's duration as its policy writes it ("50 working days") in this language
        (50个工作日); a text of another shape as it is."""
        amount, _, unit = duration.strip().partition(" ")
        if not amount.isdigit() or unit not in _SPOKEN_UNITS:
            return duration
        return self.duration(int(amount), _SPOKEN_UNITS[unit])

    def span(self, seconds: float) -> str:
        """A time taken, short and in this language: 45分钟, 3.3小时, 12.5天."""
        if seconds < 3600:
            amount, unit = f"{seconds / 60:.0f}", "minutes"
        elif seconds < 2 * 86400:
            amount, unit = f"{seconds / 3600:.1f}", "hours"
        else:
            amount, unit = f"{seconds / 86400:.1f}", "days"
        return f"{amount}{self._of(UNITS, unit)}" if self.lang == "zh" else f"{amount} {self._of(UNITS, unit)}"

    def duration(self, amount: int, unit: str) -> str:
        word = self._of(UNITS, unit)
        if self.lang == "zh":
            return f"{amount}{word}"
        return f"{amount} {word[:-1] if amount == 1 and word.endswith('s') else word}"
