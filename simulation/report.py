"""The report: per policy and department, each rate with its 95 % interval over replications; as
data (one JSON line for machines) and an SVG chart. The terminal's table is the CLI's
(starter/cli/reports.py)."""

from __future__ import annotations

import math
from html import escape
from typing import Any

from simulation.run import TOTAL, Estimate, quantiles

MILESTONE_ORDER = [
    "acknowledge",
    "dispatch",
    "contact",
    "verify",
    "reply",
    "progress_report",
    "opinion",
    "resolve",
    "follow_up",
    "leader",
]


def _rate(met_late: list[int] | None) -> float:
    if not met_late or not sum(met_late):
        return math.nan
    return met_late[0] / (met_late[0] + met_late[1])


def summarise(results: list[dict[str, Any]], *, seed: int, source: str) -> dict[str, Any]:
    """Means and 95 % intervals over the replications."""
    policies = list(results[0]["policies"])
    groups = sorted({g for r in results for p in policies for g in r["policies"][p]["on_time"]} - {TOTAL})
    report: dict[str, Any] = {
        "source": source,
        "seed": seed,
        "replications": len(results),
        "cases": Estimate.of([r["cases"] for r in results]).as_json(1),
        "policies": {},
        "work": {},
    }
    for policy in policies:
        by_group: dict[str, Any] = {}
        for group in [TOTAL, *groups]:
            entries = [r["policies"][policy] for r in results]
            names = sorted(
                {m for e in entries for m in e["on_time"].get(group, {})},
                key=lambda m: MILESTONE_ORDER.index(m) if m in MILESTONE_ORDER else 99,
            )
            counts = [e["counts"].get(group, [0, 0, 0]) for e in entries]
            overall = [
                _rate(
                    [
                        sum(v[0] for v in e["on_time"].get(group, {}).values()),
                        sum(v[1] for v in e["on_time"].get(group, {}).values()),
                    ]
                )
                for e in entries
            ]
            found = [e["resolution_hours"][group] for e in entries if group in e["resolution_hours"]]
            by_group[group] = {
                "resolution_hours": {
                    "p50": Estimate.of([f[0] for f in found]).as_json(1),
                    "p90": Estimate.of([f[1] for f in found]).as_json(1),
                },
                "on_time": {
                    m: Estimate.of([_rate(e["on_time"].get(group, {}).get(m)) for e in entries]).as_json()
                    for m in names
                },
                "on_time_all": Estimate.of(overall).as_json(),
                "late": Estimate.of([c[0] for c in counts]).as_json(1),
                "escalations": Estimate.of([c[1] for c in counts]).as_json(1),
                "open_overdue_at_end": Estimate.of([c[2] for c in counts]).as_json(1),
            }
        report["policies"][policy] = by_group
        if "disputes" in results[0]["policies"][policy]:
            report.setdefault("disputes", {})[policy] = _disputes([r["policies"][policy]["disputes"] for r in results])
    work: dict[str, Any] = {"utilisation": {}}
    for pool in results[0]["utilisation"]:
        work["utilisation"][pool] = Estimate.of([r["utilisation"][pool] for r in results]).as_json()
    days = len(results[0]["backlog"])
    work["backlog_by_week"] = [
        Estimate.of([sum(r["backlog"][d : d + 7]) / len(r["backlog"][d : d + 7]) for r in results]).as_json(1)
        for d in range(0, days, 7)
    ]
    report["work"] = work
    return report


def _disputes(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """调解成功率 (agreements within the term ÷ mediations concluded), referrals, days to agreement."""

    def success(e: dict[str, Any]) -> float:
        concluded = e["agreed"] + e["referred"]
        return e["agreed"] / concluded if concluded else math.nan

    found = [quantiles(list(e["days_to_agreement"])) for e in entries if e["days_to_agreement"]]
    return {
        "mediations": Estimate.of([e["mediations"] for e in entries]).as_json(1),
        "agreed": Estimate.of([e["agreed"] for e in entries]).as_json(1),
        "referred": Estimate.of([e["referred"] for e in entries]).as_json(1),
        "settled": Estimate.of([e["settled"] for e in entries]).as_json(1),
        "success_rate": Estimate.of([success(e) for e in entries]).as_json(),
        "days_to_agreement": {
            "p50": Estimate.of([f[0] for f in found]).as_json(1),
            "p90": Estimate.of([f[1] for f in found]).as_json(1),
        },
    }


COLOURS = ("#1f5fa8", "#d9822b", "#2e8b57", "#b03a48")


def chart(report: dict[str, Any]) -> str:
    """On-time rate per milestone, a bar per policy with its 95 % interval, as SVG."""
    policies = list(report["policies"])
    total = {p: report["policies"][p][TOTAL]["on_time"] for p in policies}
    names = [m for m in MILESTONE_ORDER if any(m in total[p] for p in policies)]
    group_w, bar_w, left, top, height = 70, 22, 56, 48, 220
    width = left + group_w * len(names) + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + top + 60}" '
        f'font-family="sans-serif" font-size="11">',
        f'<text x="{left}" y="18" font-size="13" font-weight="bold">On time per milestone '
        f"({report['replications']} replications, 95 % intervals)</text>",
    ]
    for k in range(0, 101, 25):
        y = top + height - height * k / 100
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y}" y2="{y}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4}" text-anchor="end" fill="#555">{k}%</text>')
    for n, p in enumerate(policies):
        parts.append(f'<rect x="{left + n * 140}" y="26" width="10" height="10" fill="{COLOURS[n % 4]}"/>')
        parts.append(f'<text x="{left + 14 + n * 140}" y="35">{escape(p)}</text>')
    for i, m in enumerate(names):
        x0 = left + i * group_w + 6
        for n, p in enumerate(policies):
            e = total[p].get(m)
            if not e or e["mean"] is None:
                continue
            x = x0 + n * (bar_w + 2)
            h = height * e["mean"]
            parts.append(
                f'<rect x="{x}" y="{top + height - h:.1f}" width="{bar_w}" height="{h:.1f}" fill="{COLOURS[n % 4]}">'
                f"<title>{escape(p)} {escape(m)}: {e['mean'] * 100:.1f}%</title></rect>"
            )
            ci = (e["ci95"] or 0) * height
            if ci:
                cy = top + height - h
                parts.append(
                    f'<line x1="{x + bar_w / 2}" x2="{x + bar_w / 2}" y1="{cy - ci:.1f}" y2="{cy + ci:.1f}" stroke="#000"/>'
                )
        parts.append(
            f'<text x="{x0 + group_w / 2 - 6}" y="{top + height + 16}" text-anchor="middle">{escape(m)}</text>'
        )
    parts.append(_backlog(report["work"]["backlog_by_week"], left, top + height + 40, width - left - 10))
    parts.append("</svg>")
    return "".join(parts).replace(
        f'viewBox="0 0 {width} {height + top + 60}"', f'viewBox="0 0 {width} {height + top + 250}"'
    )


def _backlog(weeks: list[dict[str, float | None]], left: int, top: int, width: int) -> str:
    """Open cases, weekly mean (the same under every policy), as a line below the bars."""
    values = [w["mean"] or 0.0 for w in weeks]
    if not values:
        return ""
    height, peak = 130, max(values) or 1.0
    step = width / max(1, len(values) - 1)
    points = " ".join(
        f"{left + i * step:.1f},{top + 30 + height - v / peak * height:.1f}" for i, v in enumerate(values)
    )
    return (
        f'<text x="{left}" y="{top + 12}" font-size="13" font-weight="bold">Open cases, weekly mean '
        f"(the same under every policy)</text>"
        f'<line x1="{left}" x2="{left + width}" y1="{top + 30 + height}" y2="{top + 30 + height}" stroke="#999"/>'
        f'<text x="{left - 6}" y="{top + 34}" text-anchor="end" fill="#555">{peak:.0f}</text>'
        f'<text x="{left - 6}" y="{top + 34 + height}" text-anchor="end" fill="#555">0</text>'
        f'<polyline points="{points}" fill="none" stroke="#555" stroke-width="2"/>'
        f'<text x="{left}" y="{top + height + 48}" fill="#555">week 1</text>'
        f'<text x="{left + width}" y="{top + height + 48}" text-anchor="end" fill="#555">week {len(values)}</text>'
    )
