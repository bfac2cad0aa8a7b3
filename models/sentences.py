"""A timeline event as a sentence a person reads: what happened, in the words of the labels
table, and the promise it met or broke. Never a dump of the event's fields.

    say("dispatched", {"department": "区水务局"}, Labels("zh"))  -> "派单至区水务局"

Each kind has a sentence (SENTENCES) with its fields in braces; the fields it leaves out are
said by a clause of their own when they carry something for a person (CLAUSES), and are left
unsaid when they are for machines (codes, counts said elsewhere: SILENT). A test walks every
field the case records, so a new one cannot reach a page unsaid or raw.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from models.labels import ROADS, STATUSES, Labels
from sla import BUSINESS_TZ

# kind (or kind:variant, see _variant) -> (中文, English); {field} is the field as said by _said.
SENTENCES: dict[str, tuple[str, str]] = {
    "received": (
        "经{channel}受理：“{title}”，地点：{location}",
        "Received through {channel}: “{title}”, at {location}",
    ),
    "acknowledged": ("已向诉求人发送受理告知", "The complainant was told the case was received"),
    "acknowledged:patrol": ("网格巡查发现，无需告知诉求人", "Found on grid patrol: nobody to tell"),
    "dispatched": ("派单至{department}", "Dispatched to {department}"),
    "transferred": (
        "由{from_department}转办至{to_department}，理由：{explanation}",
        "Transferred from {from_department} to {to_department}: {explanation}",
    ),
    "placed": ("定位至{code}", "Placed at {code}"),
    "contacted": ("已联系诉求人：{note}", "The complainant was contacted: {note}"),
    "contacted:unreached": ("联系诉求人未果：{note}", "The complainant could not be reached: {note}"),
    "verified": ("核实情况：{findings}", "Verified: {findings}"),
    "replied": ("答复诉求人：{message}", "Replied to the complainant: {message}"),
    "opinion_filed": (
        "提交处理意见书。查明：{findings}；处理：{handling}；下一步：{next_steps}",
        "Handling opinion filed. Findings: {findings}; handling: {handling}; next: {next_steps}",
    ),
    "progress_reported": ("报告进展：{note}", "Progress reported: {note}"),
    "extension_requested": ("申请延期至{until}，理由：{reason}", "Extension asked until {until}: {reason}"),
    "extension_approved": (
        "同意延期，办结时限由{previous_due_at}延至{due_at}",
        "Extension approved: resolution due {due_at} instead of {previous_due_at}",
    ),
    "extension_refused": ("不同意延期", "Extension refused"),
    "suspension_requested": ("申请中止计时，理由：{reason}", "Suspension asked: {reason}"),
    "suspended": ("同意中止计时", "Suspension approved: the clock stops"),
    "suspension_refused": ("不同意中止计时", "Suspension refused"),
    "resumed": ("恢复计时", "The clock runs again"),
    "resolved": ("办结：{resolution}", "Resolved: {resolution}"),
    "followed_up": ("回访：{satisfaction}", "Follow-up visit: {satisfaction}"),
    "closed": ("关闭，诉求人评价：{satisfaction}", "Closed; the complainant's verdict: {satisfaction}"),
    "closed:outcome": ("结束：{outcome}", "Ended: {outcome}"),
    "reopened": ("诉求人不满意，第{reopen_count}次重办", "The complainant is not satisfied: reopened ({reopen_count})"),
    "warning": ("{milestone}临近时限（{due_at}）", "{milestone} is nearly due ({due_at})"),
    "breach": ("{milestone}已超时（时限{due_at}）", "{milestone} is overdue (due {due_at})"),
    "escalation_reason": ("升级原因：{reason}", "Why it was raised: {reason}"),
    "escalated": ("升级为领导包案：{reason}", "Raised to a leader: {reason}"),
    "leader_assigned": ("指定包案领导：{leader}", "Leader assigned: {leader}"),
    "summoned": (
        "发出第{notice_no}号通知，吹哨{departments}到场：{reason}",
        "Notice {notice_no} summons {departments} on site: {reason}",
    ),
    "reported_in": ("{department}已报到", "{department} reported in"),
    "repeat_complaint": (
        "同一诉求再次来电：案件{case_id}“{title}”（{received_at}受理）",
        "The same complaint again: case {case_id} “{title}” (received {received_at})",
    ),
    "repeat_of": ("重复来电：案件{case_id}已于{closed_at}关闭", "A repeat of case {case_id}, closed {closed_at}"),
    "repeat_of:open": ("重复来电：与案件{case_id}相同", "A repeat of case {case_id}"),
    "merged": ("并入案件{into}", "Merged into case {into}"),
    "notice_failed": (
        "发给{recipient}的告知（{notice_kind}）未能发出：{error}",
        "A notice ({notice_kind}) to {recipient} could not be sent: {error}",
    ),
    "complainant_note": ("诉求人补充说明：{note}", "The complainant adds: {note}"),
    "link_sent": ("已向诉求人重发查询链接短信", "The complainant's link was sent again by SMS"),
    "risk_assessed": ("强信息研判：{level}预警，{reasons}", "Strong signal: {level}, {reasons}"),
    "risk_alert": (
        "{level}强信息预警：已告知区值班领导，请30分钟内响应（{reasons}）",
        "{level} risk alert: the district's duty leader is told and owes a response within 30 minutes ({reasons})",
    ),
    "risk_reassessed": (
        "预警等级由{previous_level}调整为{level}，理由：{reason}",
        "Risk level set from {previous_level} to {level}: {reason}",
    ),
    "risk_responded": ("领导响应：{note}", "A leader responded: {note}"),
    "attached": ("上传{evidence}（{purpose}）", "{evidence} attached ({purpose})"),
    "photo_published": ("照片已公开", "A photo was made public"),
    "photo_published:covered": (
        "照片遮挡部分区域后公开，原图不公开",
        "A photo was made public with a region covered; the original stays private",
    ),
    "source_task": (
        "同类诉求已合并交{department}源头治理（任务{task_id}）",
        "With the complaints like it, handed to {department} to fix at the source (task {task_id})",
    ),
    "mediation_started": (
        "转入调解：{dispute_kind}，申请人{applicants}人，被申请人{respondents}人",
        "Mediation started: {dispute_kind}, {applicants} applicant(s), {respondents} respondent(s)",
    ),
    "mediator_assigned": ("指派调解员：{mediator}", "Mediator assigned: {mediator}"),
    "session_scheduled": (
        "安排第{session}次调解会：{session_at}，{place}",
        "Session {session} scheduled: {session_at}, {place}",
    ),
    "session_held": ("召开第{session}次调解会", "Session {session} held"),
    "mediation_extended": (
        "调解期限延长{days}日，由{previous_due_at}延至{due_at}",
        "Mediation term extended by {days} days: due {due_at} instead of {previous_due_at}",
    ),
    "agreement_reached": (
        "达成第{agreement}份调解协议（{form}），{effective_at}生效：{terms}",
        "Agreement {agreement} reached ({form}), effective {effective_at}: {terms}",
    ),
    "confirmation_recorded": ("司法确认：{outcome}", "Judicial confirmation: {outcome}"),
    "confirmation_recorded:lapsed": (
        "司法确认申请期届满，未申请",
        "The judicial confirmation window ran out: not applied",
    ),
    "fulfilment_checked": ("履行回访：第{obligation}项已履行", "Fulfilment check: obligation {obligation} honoured"),
    "fulfilment_checked:not": (
        "履行回访：第{obligation}项未履行",
        "Fulfilment check: obligation {obligation} not honoured",
    ),
    "mediation_reopened": ("第{obligation}项未履行，重新调解", "Obligation {obligation} not honoured: mediation again"),
    "settled": ("纠纷化解：第{agreement}份协议已履行", "Settled: agreement {agreement} fulfilled"),
    "referred": ("调解未成，引导当事人可依法{road}", "No agreement: the parties may {road}"),
    "withdrawn": ("{side}（第{party}位当事人）撤回调解：{reason}", "The {side} (party {party}) withdrew: {reason}"),
}

# field -> (中文, English), said after the sentence when the event has it and the sentence does not.
CLAUSES: dict[str, tuple[str, str]] = {
    "unplaced": ("待定位", "to be placed"),
    "station": ("站点：{station}", "station: {station}"),
    "previous": ("原定位：{previous}", "placed before at {previous}"),
    "note": ("备注：{note}", "note: {note}"),
    "reason": ("理由：{reason}", "reason: {reason}"),
    "why": ("原因：{why}", "why: {why}"),
    "department": ("承办单位：{department}", "department: {department}"),
    "resolved": ("问题{resolved}", "problem {resolved}"),
    "replaces": ("接替{replaces}", "replacing {replaces}"),
    "meet_at": ("到场时间：{meet_at}", "on site at {meet_at}"),
    "amount": ("涉及金额{amount}元", "amount {amount} yuan"),
    "attended": ("到会当事人：{attended}", "parties present: {attended}"),
    "obligations": ("履行事项{obligations}项", "{obligations} obligation(s)"),
    "limitation_ends": ("时效届满：{limitation_ends}", "limitation ends {limitation_ends}"),
    "known_since": ("知道权利受侵害之日：{known_since}", "known since {known_since}"),
    "filed_as_dispute": ("立案即为纠纷", "filed as a dispute"),
    "moved": ("{moved}", "{moved}"),
    "milestones": ("{milestones}", "{milestones}"),
    "settled": ("{settled}", "{settled}"),
    "mode": ("方式：{mode}", "{mode}"),
    "repeat_case_id": ("见重复来电{repeat_case_id}", "said in repeat complaint {repeat_case_id}"),
    "took_suggestion": ("{took_suggestion}", "{took_suggestion}"),
    "members": ("源头治理任务，含{members}", "a source task of {members}"),
    "duration_seconds": ("时长{duration_seconds}秒", "{duration_seconds} s long"),
}

# Fields kept for machines: codes and counts a sentence already says another way.
SILENT = frozenset(
    {
        "to", "place", "reached", "honoured", "lapsed", "satisfaction", "outcome", "notice_kind", "suggested",
        # evidence's facts, for machines and the audit: the page shows the file itself
        "digest", "media_type", "size", "thumbnail", "original", "box",
    }
)  # fmt: skip

# The reasons the engine itself writes (recorded so, in the signed chain): said in Chinese.
ENGINE_REASONS: list[tuple[re.Pattern[str], tuple[str, str]]] = [
    (
        re.compile(r"^(?P<milestone>\S+) deadline (?P<due_at>\S+) passed$"),
        ("{milestone}时限{due_at}已过", "{milestone} was due {due_at}"),
    ),
    (
        re.compile(r"^dissatisfied follow-up number (?P<n>\d+)$"),
        ("第{n}次回访不满意", "dissatisfied at follow-up {n}"),
    ),
    (
        re.compile(r"^repeats case (?P<case_id>\S+), closed (?P<when>\S+)$"),
        ("重复案件{case_id}（{when}关闭）", "repeats case {case_id}, closed {when}"),
    ),
    (
        re.compile(r"^the resolve deadline passed before the decision$"),
        ("决定前办结时限已过", "the resolution deadline passed before the decision"),
    ),
]

EVIDENCE_KINDS = {"photo": ("照片", "photo"), "document": ("文件", "document"), "recording": ("录音", "recording")}
EVIDENCE_PURPOSES = {
    "problem": ("问题现场", "the problem"),
    "before": ("整改前", "before"),
    "after": ("整改后", "after"),
    "agreement": ("调解协议", "the agreement"),
    "call": ("来电录音", "the call"),
    "other": ("其他", "other"),
}
_SIDES = {"applicant": ("申请人", "applicant"), "respondent": ("被申请人", "respondent")}
_RECIPIENTS = {"complainant": ("诉求人", "the complainant")}
_YES_NO = {
    "resolved": (("已解决", "solved"), ("未解决", "not solved")),
    "took_suggestion": (
        ("采纳了建议单位", "took the suggested unit"),
        ("未采纳建议单位", "chose another than the suggested unit"),
    ),
}


def say(kind: str, detail: Mapping[str, Any], labels: Labels) -> str:
    """The event as one sentence, its clauses after it; a kind the table lacks by its label."""
    key = _variant(kind, detail)
    template = SENTENCES.get(key) or SENTENCES.get(kind)
    used: set[str] = set()
    parts = []
    if template is not None:
        parts.append(_fill(template[labels._i], detail, labels, used))
    else:
        parts.append(labels.event(kind))
    for name, value in detail.items():
        if name in used or name in SILENT or value in (None, [], ""):
            continue
        clause = CLAUSES.get(name)
        if clause is not None:
            used.add(name)
            parts.append(_fill(clause[labels._i], detail, labels, used))
    joiner = "；" if labels.lang == "zh" else "; "
    return joiner.join(p for p in parts if p)


def _variant(kind: str, detail: Mapping[str, Any]) -> str:
    """The sentence's variant where one field turns its meaning."""
    if kind == "acknowledged" and str(detail.get("to", "")).startswith("nobody"):
        return "acknowledged:patrol"
    if kind == "contacted" and detail.get("reached") is False:
        return "contacted:unreached"
    if kind == "closed" and "satisfaction" not in detail:
        return "closed:outcome"
    if kind == "repeat_of" and not detail.get("closed_at"):
        return "repeat_of:open"
    if kind == "confirmation_recorded" and detail.get("lapsed"):
        return "confirmation_recorded:lapsed"
    if kind == "fulfilment_checked" and detail.get("honoured") is False:
        return "fulfilment_checked:not"
    if kind == "photo_published" and detail.get("original"):
        return "photo_published:covered"
    return kind


def _fill(template: str, detail: Mapping[str, Any], labels: Labels, used: set[str]) -> str:
    def field(match: re.Match[str]) -> str:
        name = match.group(1)
        used.add(name)
        return _said(name, detail.get(name), labels)

    return re.sub(r"\{(\w+)\}", field, template)


def moment(value: Any) -> str:
    """An ISO moment as Beijing time reads it (2026-11-25 14:05); anything else as it is."""
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M")
    return str(value)


def _list(values: list[str], labels: Labels) -> str:
    return ("、" if labels.lang == "zh" else ", ").join(values)


def _promises(items: list[dict[str, Any]], labels: Labels) -> str:
    """The milestones an event completed: met, or done late."""
    met = [labels.milestone(m["name"]) for m in items if m.get("met")]
    late = [labels.milestone(m["name"]) for m in items if not m.get("met")]
    zh = labels.lang == "zh"
    said = []
    if met:
        said.append(("按时完成：" if zh else "met: ") + _list(met, labels))
    if late:
        said.append(("超时完成：" if zh else "done late: ") + _list(late, labels))
    return ("；" if zh else "; ").join(said)


def _settled(items: list[dict[str, Any]], labels: Labels) -> str:
    """The milestones an end settled: done by the resolution, no longer owed, or missed."""
    zh = labels.lang == "zh"
    words = {
        "resolution": ("随办结完成", "done with the resolution"),
        "missed": ("超时未办", "missed"),
    }
    said = []
    for m in items:
        how = words.get(m.get("how") or "", ("不再需要", "no longer owed"))
        said.append(f"{labels.milestone(m['name'])}{'' if zh else ' '}{how[labels._i]}")
    return _list(said, labels)


def _moves(items: list[dict[str, Any]], labels: Labels) -> str:
    zh = labels.lang == "zh"
    return _list(
        [
            f"{labels.milestone(m['milestone'])}时限由{moment(m['from'])}顺延至{moment(m['to'])}"
            if zh
            else f"{labels.milestone(m['milestone'])} due {moment(m['to'])} instead of {moment(m['from'])}"
            for m in items
        ],
        labels,
    )


def _reason(text: str, labels: Labels) -> str:
    for pattern, words in ENGINE_REASONS:
        match = pattern.match(text)
        if match:
            found = match.groupdict()
            if "milestone" in found:
                found["milestone"] = labels.milestone(found["milestone"])
            if "due_at" in found:
                found["due_at"] = moment(found["due_at"])
            return words[labels._i].format(**found)
    return text


def _person(value: Mapping[str, Any]) -> str:
    name, ident, org = value.get("name"), value.get("id"), value.get("organisation")
    said = f"{name}（{ident}）" if name and ident else str(name or ident or "")
    return f"{said} · {org}" if org else said


def _place(value: Mapping[str, Any]) -> str:
    names = [value.get(k) for k in ("district", "street", "community", "grid", "address")]
    return " ".join(str(n) for n in names if n) or _list([str(v) for v in value.values()], Labels("zh"))


_SAY: dict[str, Callable[[Any, Labels], str]] = {
    "channel": lambda v, t: t.channel(v),
    "milestone": lambda v, t: t.milestone(v),
    "satisfaction": lambda v, t: t.satisfaction(v),
    "dispute_kind": lambda v, t: t.dispute_kind(v),
    "form": lambda v, t: t.agreement_form(v),
    "road": lambda v, t: ROADS[v][t._i] if v in ROADS else v,
    "outcome": lambda v, t: t.confirmation(v) if v not in STATUSES else t.status(v),
    "side": lambda v, t: _SIDES[v][t._i] if v in _SIDES else v,
    "recipient": lambda v, t: _RECIPIENTS[v][t._i] if v in _RECIPIENTS else v,
    "notice_kind": lambda v, t: t.event(v),
    "location": lambda v, t: _place(v),
    "leader": lambda v, t: _person(v),
    "mediator": lambda v, t: _person(v),
    "milestones": _promises,
    "settled": _settled,
    "moved": _moves,
    "reason": lambda v, t: _reason(v, t),
    "why": lambda v, t: _reason(v, t),
    "obligations": lambda v, t: str(len(v)),
    "level": lambda v, t: t.risk_level(v),
    "previous_level": lambda v, t: t.risk_level(v),
    "reasons": lambda v, t: _list([_risk_reason(r, t) for r in v], t),
    "mode": lambda v, t: t.response_mode(v),
    "evidence": lambda v, t: EVIDENCE_KINDS[v][t._i] if v in EVIDENCE_KINDS else v,
    "purpose": lambda v, t: EVIDENCE_PURPOSES[v][t._i] if v in EVIDENCE_PURPOSES else v,
}


def _risk_reason(reason: Mapping[str, Any], labels: Labels) -> str:
    """A rule's reason and the words that fired it: 扬言轻生（“跳楼”）; a supervisor's as written."""
    text = str(reason.get("reason" if labels.lang == "zh" else "reason_en") or reason.get("reason") or "")
    matched = reason.get("matched")
    return f"{text}（“{matched}”）" if matched and labels.lang == "zh" else f"{text} (“{matched}”)" if matched else text


def _said(name: str, value: Any, labels: Labels) -> str:
    if value is None:
        return "-"
    if name in _SAY:
        return _SAY[name](value, labels)
    if isinstance(value, bool):
        yes, no = _YES_NO.get(name, (("是", "yes"), ("否", "no")))
        return (yes if value else no)[labels._i]
    if isinstance(value, list):
        return _list([_said(name, v, labels) for v in value], labels)
    if isinstance(value, dict):
        return _place(value)
    if isinstance(value, float):
        return f"{value:.2f}"
    return moment(value) if name.endswith("_at") or name in ("until", "limitation_ends", "known_since") else str(value)
