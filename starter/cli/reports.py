"""Supervisors' reports in the terminal: statistics as a table or CSV, and the what-if's table."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from readmodel.stats import Stats
from simulation.report import MILESTONE_ORDER
from simulation.run import TOTAL
from starter.cli.columns import pad, table


def stats_table(rows: list[Stats], by: str | None) -> str:
    headers = [
        by or "all",
        "accepted",
        "resolved",
        "化解率",
        "办结率",
        "解决率",
        "满意率",
        "repeats",
        "escal.",
        "open",
        "overdue",
        "median h",
        "on time",
    ]
    body = []
    for r in rows:
        j = r.as_json()
        on_time = ", ".join(f"{n} {v['rate']}" for n, v in j["on_time"].items() if not n.startswith("report_in:"))
        median = "-" if r.median_hours_to_resolve is None else f"{r.median_hours_to_resolve}"
        body.append(
            [
                r.group,
                r.accepted,
                r.resolved,
                j["resolution_rate"],
                j["completion_rate"],
                j["solution_rate"],
                j["satisfaction_rate"],
                r.repeats,
                r.escalations,
                r.open,
                r.overdue,
                median,
                on_time,
            ]
        )
    lines = table(headers, body, right=range(1, 12))
    total = rows[-1]
    if total.verdicts:  # who gave the verdicts behind 解决率 and 满意率
        lines += ["", "verdicts (回访) by who gave them: 解决率 (solved ÷ asked), 满意率 (satisfied ÷ reached)"]
        lines += table(
            ["by", "reached", "解决率", "满意率", "unreachable"],
            [
                [source, v.visited, v.as_json()["solution_rate"], v.as_json()["satisfaction_rate"], v.unreachable]
                for source, v in sorted(total.verdicts.items())
            ],
            right=range(1, 5),
        )
    first = total.as_json()["first_complaints"]
    if first["accepted"]:  # 初信初访: the callers' first cases in their district
        lines += [
            "",
            f"初信初访 (first complaints): {first['accepted']} accepted, {first['resolved']} resolved "
            f"(化解率 {first['resolution_rate']}); resolved and never reopened {first['resolved_never_reopened']} "
            f"({first['resolved_never_reopened_rate']})",
        ]
    kept = total.as_json().get("kept_at_level") or {}
    words = {"community": "小事不出社区 (community)", "street": "大事不出街道 (street)", "district": "district"}
    shown = [
        f"{words.get(level, level)} {k['rate']} ({k['kept']} of {k['resolved']})" for level, k in sorted(kept.items())
    ]
    if shown:  # the resolved cases kept at the level of the unit they started at
        lines += ["", "resolved at the level they started: " + "; ".join(shown)]
    taken = total.as_json()["suggestions"]
    if taken["dispatched_with_one"]:  # 智能派单: the suggested unit's use
        lines += [
            "",
            f"建议派单 (suggested units): {taken['dispatched_with_one']} dispatched with one, {taken['taken']} took it "
            f"({taken['taken_rate']}); transferred later: {taken['taken_then_transferred']} of those that took it, "
            f"{taken['other_unit_then_transferred']} of those that chose another unit",
        ]
    return "\n".join(lines)


def stats_json(rows: list[Stats]) -> str:
    return json.dumps([r.as_json() for r in rows], ensure_ascii=False)


def stats_csv(rows: list[Stats]) -> str:
    out = io.StringIO()
    names = sorted({n for r in rows for n in r.on_time})
    writer = csv.writer(out)
    fixed = [
        "group",
        "accepted",
        "resolved",
        "resolution_rate",
        "closed",
        "completion_rate",
        "visited",
        "satisfied",
        "satisfaction_rate",
        "asked_if_solved",
        "solved",
        "solution_rate",
        "unreachable",
        "repeats",
        "escalations",
        "open",
        "overdue",
        "median_hours_to_resolve",
        "median_working_days_to_resolve",
    ]
    firsts = ["accepted", "resolved", "resolution_rate", "resolved_never_reopened", "resolved_never_reopened_rate"]
    suggested = ["dispatched_with_one", "taken", "taken_rate", "taken_then_transferred", "other_unit_then_transferred"]
    writer.writerow(
        fixed + [f"first_{k}" for k in firsts] + [f"suggested_{k}" for k in suggested] + [f"on_time_{n}" for n in names]
    )
    for r in rows:
        j = r.as_json()
        writer.writerow(
            [j[k] if j[k] is not None else "" for k in fixed]
            + [j["first_complaints"][k] for k in firsts]
            + [j["suggestions"][k] for k in suggested]
            + [j["on_time"].get(n, {}).get("rate", "-") for n in names]
        )
    return out.getvalue()


def _pct(e: dict[str, float | None]) -> str:
    if e["mean"] is None:
        return "-"
    ci = e["ci95"] or 0.0
    return f"{e['mean'] * 100:.1f}±{ci * 100:.1f}%"


def _num(e: dict[str, float | None]) -> str:
    if e["mean"] is None:
        return "-"
    return f"{e['mean']:.0f}±{(e['ci95'] or 0):.0f}"


def simulation_table(report: dict[str, Any], *, departments: bool = True) -> str:
    """The report for people: per policy, on-time rate per milestone (met ÷ (met + late + open and
    overdue at the end)), late deadlines and escalations, with 95 % intervals; then the work."""
    policies = list(report["policies"])
    lines = [
        f"{report['replications']} replications of {report['source']} (seed {report['seed']}), "
        f"{_num(report['cases'])} complaints each; mean ± 95 % interval",
        "",
    ]
    total = {p: report["policies"][p][TOTAL] for p in policies}
    names = [m for m in MILESTONE_ORDER if any(m in total[p]["on_time"] for p in policies)]
    width = max(16, *(len(p) + 2 for p in policies))
    lines.append(f"{'on time (total)':<18}" + "".join(f"{p:>{width}}" for p in policies))
    for m in names:
        cells = [_pct(total[p]["on_time"][m]) if m in total[p]["on_time"] else "" for p in policies]
        lines.append(f"{m:<18}" + "".join(f"{c:>{width}}" for c in cells))
    lines.append(f"{'all milestones':<18}" + "".join(f"{_pct(total[p]['on_time_all']):>{width}}" for p in policies))
    lines.append(f"{'late deadlines':<18}" + "".join(f"{_num(total[p]['late']):>{width}}" for p in policies))
    lines.append(f"{'escalations':<18}" + "".join(f"{_num(total[p]['escalations']):>{width}}" for p in policies))
    for q in ("p50", "p90"):
        cells = [f"{_num(total[p]['resolution_hours'][q])} h" for p in policies]
        lines.append(f"{'resolved, ' + q:<18}" + "".join(f"{c:>{width}}" for c in cells))
    if departments:
        lines += ["", f"{'on time, all milestones, by department':<40}" + "".join(f"{p:>{width}}" for p in policies)]
        groups = [g for g in report["policies"][policies[0]] if g != TOTAL]
        for g in groups:
            cells = [_pct(report["policies"][p][g]["on_time_all"]) for p in policies]
            lines.append(pad(g, 40) + "".join(f"{c:>{width}}" for c in cells))
    if report.get("disputes"):
        d = report["disputes"]
        lines += ["", f"{'disputes (mediated)':<18}" + "".join(f"{p:>{width}}" for p in d)]
        for label, key in (("mediations", "mediations"), ("agreed in term", "agreed"), ("referred", "referred"),
                           ("settled", "settled")):  # fmt: skip
            lines.append(f"{label:<18}" + "".join(f"{_num(d[p][key]):>{width}}" for p in d))
        lines.append(f"{'调解成功率':<13}" + "".join(f"{_pct(d[p]['success_rate']):>{width}}" for p in d))
        for q in ("p50", "p90"):
            cells = [f"{_num(d[p]['days_to_agreement'][q])} d" for p in d]
            lines.append(f"{'agreed, ' + q:<18}" + "".join(f"{c:>{width}}" for c in cells))
    w = report["work"]
    lines += [
        "",
        "the work (the same under every policy: a deadline does not make anyone faster; an escalated",
        "case only waits for its leader, who alone may resolve it)",
        "  utilisation: "
        + ", ".join(
            f"{pool} {_pct(e)}" for pool, e in sorted(w["utilisation"].items(), key=lambda kv: kv[0] != "dispatch")
        ),
        "  open cases, weekly mean: "
        + " ".join(_num(e) for e in w["backlog_by_week"][:: max(1, len(w["backlog_by_week"]) // 12)]),
    ]
    return "\n".join(lines)
