"""The policies as data: which promises each anchor starts, how long each runs, what a breach does.

Anchors (when a clock starts):
  acceptance       the complaint is taken in (its received_at)
  assignment       each dispatch or transfer to a department
  resolution       the department resolves the case
  reopen           a dissatisfied follow-up reopens it
  escalation       the case goes to leadership case-handling (领导包案)
  resolve_overdue  a major 13710 case missed its month: reports become monthly
  progress_cycle   one monthly report's due time: the next month's report starts
  summons          a community's numbered notice summons departments (社区吹哨、部门报到)
  mediation        a dispute is taken to mediation (its application received), or back to it
  agreement        a mediation agreement takes effect
  dispute_filed    a dispute filed as one is accepted: acknowledged, and straight to mediation
  risk_red         the case is found red (a strong signal: a life or the public in danger)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sla.durations import Duration, days, hours, minutes, months, working_days

ESCALATE = "escalate"
REFER = "refer"  # a dispute whose mediation term runs out is referred (see DISPUTE_RULES)


@dataclass(frozen=True)
class MilestoneRule:
    name: str
    anchors: tuple[str, ...]
    duration: Duration
    by_track: dict[str, Duration] = field(default_factory=dict)  # wins over by_category (fast means fast)
    by_category: dict[str, Duration] = field(default_factory=dict)  # category targets
    by_dispute: dict[str, Duration] = field(default_factory=dict)  # a dispute's kind: wins over the rest
    tracks: tuple[str, ...] | None = None  # None: every track
    # What a breach does besides notifying the supervisor and the department:
    # "escalate", or "anchor:<name>" to start the clocks that anchor starts.
    on_breach: tuple[str, ...] = ()
    # When it is done or breached, this anchor happens at its due time (recurring reports).
    repeat_anchor: str | None = None
    owed_by_department: bool = False  # the assigned department owes it (named on the milestone)
    per_department: bool = False  # one milestone per department named by the anchor: "<name>:<department>"
    # Warned this long before the deadline instead of at the policy's fractions (a reminder
    # whose lead time the law or the practice fixes: 7 days before judicial confirmation closes).
    warn_before: timedelta | None = None
    window: bool = False  # a right's window (司法确认), not a promise: passing it is recorded, not breached

    def duration_for(self, track: str, category: str = "", dispute: str = "") -> Duration:
        return (
            self.by_dispute.get(dispute) or self.by_track.get(track) or self.by_category.get(category) or self.duration
        )

    def applies(self, anchor: str, track: str) -> bool:
        return anchor in self.anchors and (self.tracks is None or track in self.tracks)


LEADER = MilestoneRule("leader", ("escalation",), working_days(1))
FOLLOW_UP = MilestoneRule("follow_up", ("resolution",), working_days(5))
# A red strong signal (强信息, seed 001: 第一时间): a leader of the district responds within 30
# minutes. 30 minutes is a LOCAL DEFAULT of this engine; the seeds name no figure for it.
RESPOND = MilestoneRule("respond", ("risk_red",), minutes(30))
# 社区吹哨、部门报到: every summoned department reports within 24 hours (2 on the fast track).
REPORT_IN = MilestoneRule("report_in", ("summons",), hours(24), by_track={"fast": hours(2)}, per_department=True)

# The department's own steps toward a resolution: each is an update that records its payload and
# meets its milestone, and a resolution settles those still owed. (Contact is never among them in
# practice: resolve is refused until the complainant has been contacted.)
DEPARTMENT_STEPS = ("contact", "verify", "reply", "opinion", "progress_report")

# ---- what escalates a case (领导包案) ---------------------------------------------------------
# A case escalates once, to a leader who alone may then resolve it, when:
#   - a milestone whose rule says ESCALATE in its on_breach runs past due (see breach_actions);
#   - a supervisor sends `escalate`;
#   - a follow-up reopens it for the REOPENS_TO_ESCALATE-th time (see reopen_escalates);
#   - it repeats a case closed within REPEAT_WINDOW (below).
# The case model (models/case.py) and the simulator both ask these, never restate them.

# A case reopened this many times by dissatisfied follow-ups escalates to a leader.
REOPENS_TO_ESCALATE = 2


@dataclass(frozen=True)
class BreachActions:
    """What a breach does besides notifying the supervisor and the department."""

    escalates: bool
    starts: tuple[str, ...]  # anchors whose clocks the breach starts (at the missed deadline)
    refers: bool = False  # a dispute's mediation term ran out: it goes to arbitration or a court


def breach_actions(on_breach: Sequence[str]) -> BreachActions:
    """A milestone rule's on_breach, read: ESCALATE, REFER, and "anchor:<name>" for each clock it starts."""
    return BreachActions(
        escalates=ESCALATE in on_breach,
        starts=tuple(a.removeprefix("anchor:") for a in on_breach if a.startswith("anchor:")),
        refers=REFER in on_breach,
    )


def reopen_escalates(reopen_count: int) -> bool:
    """Whether the reopen that brought the count to `reopen_count` escalates the case."""
    return reopen_count >= REOPENS_TO_ESCALATE


# Repeats: a complaint repeating a case closed within REPEAT_WINDOW escalates from the start;
# grid-patrol finds of one category in one grid within PATROL_WINDOW are one problem, one case.
REPEAT_WINDOW = timedelta(days=180)
# 初信初访: a caller's earlier cases are counted over this window (issue 40 names 90 days; a local
# default, no seed gives one). A first complaint is one with no earlier case in the district at all.
CALLER_WINDOW = timedelta(days=90)
# 类案预警 (readmodel/similar.py): complaints of the last SIMILAR_WINDOW that say the same thing
# (cosine similarity of their words at least SIMILARITY), from at least SIMILAR_PEOPLE people in
# two communities or more. Issue 40 names 14 days and 5 people; the similarity is this engine's
# LOCAL DEFAULT, measured on labelled cases (python -m bench.similar).
SIMILAR_WINDOW = timedelta(days=14)
SIMILAR_PEOPLE = 5
SIMILARITY = 0.04  # average cosine of char 2-3-gram TF-IDF: chosen on labelled cases (bench/similar.py)
# 整改 evidence (issue 38): the categories a department resolves only with an `after` photo on the
# case (a fixed street, a cleared pavement is shown, not said). Urban management in the sample: a
# LOCAL DEFAULT of this engine, for cases started in edition 12 or later.
AFTER_PHOTO_TO_RESOLVE: frozenset[str] = frozenset({"urban_management"})

# The complainant's link (in every SMS to them) opens their case page until this long after it
# closed: time to read the outcome, never a lasting door.
LINK_OPEN_AFTER_CLOSE = timedelta(days=30)

# A case resolved this long ago without a verdict (the complainant did not answer their link) is
# on the hotline centre's callback list: its 回访员 phone the complainant. The follow_up deadline
# itself (FOLLOW_UP) does not change.
CALLBACK_AFTER = working_days(2)
PATROL_WINDOW = timedelta(days=7)

# ---- disputes (矛盾纠纷化解): mediation and its agreement ---------------------------------------
DISPUTE_RULES = (
    # The mediation term. 劳动争议调解仲裁法 第十四条: no agreement within 15 days of the labour
    # mediation organisation receiving the application, and a party may apply for arbitration.
    # Other kinds: 30 days, a LOCAL DEFAULT of this district, not a national rule (人民调解法 sets
    # no term); a supervisor may extend it once with the parties' consent (ExtendMediation).
    # Run out without an agreement, the dispute is referred (REFER: labour to arbitration).
    MilestoneRule(
        "mediation", ("mediation", "dispute_filed"), days(30), by_dispute={"labour": days(15)}, on_breach=(REFER,)
    ),
    # 人民调解法 第三十三条: the parties may jointly apply to a court for judicial confirmation
    # (司法确认) within 30 days of the agreement taking effect; reminded 7 days before it closes.
    MilestoneRule("confirmation", ("agreement",), days(30), warn_before=timedelta(days=7), window=True),
)
# A mediation session: each party is reminded the day before; the mediator records it by the day after.
SESSION_REMINDER = timedelta(days=1)
SESSION_RECORD_WITHIN = timedelta(days=1)
# How long a supervisor may extend the mediation term, once (ExtendMediation.days caps it too).
MEDIATION_EXTENSION_MAX_DAYS = 30
# The road a dispute takes when its mediation term runs out without an agreement.
ROAD_WHEN_TERM_RUNS_OUT = {"labour": "labour_arbitration"}  # else civil_litigation


def arbitration_limitation_ends(applied_on: date, known_since: date | None) -> date:
    """劳动争议调解仲裁法 第二十七条: one year from when the party knew or should have known of the
    infringement (¶1); asking a mediation organisation for relief interrupts it and it runs
    afresh from then (¶2). Told to the applicant as information, not as legal advice."""
    restarted = _a_year_after(applied_on)
    if known_since is None:
        return restarted
    first = _a_year_after(known_since)
    return first if first < applied_on else restarted  # already run out before mediation: not revived


def _a_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


# 临期预警: the department is warned at these fractions of each milestone's time.
WARN_AT: dict[str, tuple[float, ...]] = {"1030": (0.75,), "13710": (0.75,)}

POLICIES: dict[str, tuple[MilestoneRule, ...]] = {
    # 接诉即办 (Dongmen 1030, with Guangming's 10-minute acknowledgement)
    "1030": (
        MilestoneRule("acknowledge", ("acceptance", "dispute_filed"), minutes(10)),
        MilestoneRule("dispatch", ("acceptance",), hours(1)),
        MilestoneRule("contact", ("assignment",), minutes(10), owed_by_department=True),
        MilestoneRule("verify", ("assignment",), minutes(30), owed_by_department=True),
        MilestoneRule("reply", ("assignment",), hours(72), owed_by_department=True),
        MilestoneRule("opinion", ("assignment",), working_days(3), owed_by_department=True),
        MilestoneRule(
            "resolve",
            ("acceptance", "reopen"),
            working_days(50),
            by_track={"fast": hours(24)},
            by_category={"medical": working_days(15)},
            on_breach=(ESCALATE,),
        ),
        FOLLOW_UP,
        LEADER,
        RESPOND,
        REPORT_IN,
        *DISPUTE_RULES,
    ),
    # Qiaocheng 13710: 1 day to assign, 3 to report, 7 to solve, 1 month for major cases, 0 dropped
    "13710": (
        MilestoneRule("acknowledge", ("acceptance", "dispute_filed"), minutes(10)),
        MilestoneRule("dispatch", ("acceptance",), days(1)),
        MilestoneRule("progress_report", ("acceptance",), days(3)),
        MilestoneRule(
            "resolve",
            ("acceptance", "reopen"),
            days(7),
            by_track={"major": months(1)},
            on_breach=(ESCALATE, "anchor:resolve_overdue"),
        ),
        MilestoneRule(
            "progress_report",
            ("resolve_overdue", "progress_cycle"),
            months(1),
            tracks=("major",),
            repeat_anchor="progress_cycle",
        ),
        FOLLOW_UP,
        LEADER,
        RESPOND,
        REPORT_IN,
        *DISPUTE_RULES,
    ),
}


def rules_for(policy: str, anchor: str, track: str) -> list[MilestoneRule]:
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}")
    return [r for r in POLICIES[policy] if r.applies(anchor, track)]
