"""The rules a case runs under, fixed once when it starts.

A case lives for weeks or months, so a change to the rules must not change a case already
running (its history has to replay as it was recorded). Each change that would gets an edition:
the workflow asks `workflow.patched` for the newest edition's patch when a case starts, and the
case keeps that edition for its whole life (continue-as-new included). The case model reads
`CaseState.edition` wherever a rule differs; cases started before an edition keep the older rule.
"""

from __future__ import annotations

from enum import IntEnum


class Edition(IntEnum):
    first = 1  # the stored histories of 2026-11-26: the redesign
    # Issue 23: the complainant's own verdict (link, note, 是否解决); the handling department and
    # its leader never record the follow-up of their own case; the complainant is told of the
    # resolution and asked for a verdict.
    complainant_voice = 2
    # Issue 25: disputes between people: a case may be taken to mediation (start_mediation and the
    # updates after it), with its mediation term, agreement, confirmation window and referral.
    disputes = 3
    # Issue 27: the case keeps a hash chain over its timeline (models/chain.py), sealed as each
    # change is carried out; its head travels with every read-model write and in the result.
    chain = 4
    # Issue 27's leftover: an approved extension moves the resolve deadline's warnings (临期预警)
    # with it, and warns again before the new deadline; before, they stayed at the old times.
    extension_warns_again = 5
    # A change is stamped with the time of what woke the case (its start, an update, a signal, its
    # alarm), never with a local activity's completion, which replay may give back differently
    # (workflows/clock.py, CaseClock); a deadline passed meanwhile is met by a timer of its own.
    stable_clock = 6
    # Issue 35: the case is placed in the city's tree when filed (CaseState.place, station,
    # unplaced; the `place` update), its repeats are matched on place codes, and its search
    # attributes District, Street and Community carry codes.
    city_tree = 7
    # Issue 37: the hotline or a supervisor re-sends a complainant their case's link by SMS (the
    # `send_link` update, recorded as `link_sent`); before, no one could.
    link_on_request = 8
    # Issue 40: the case records the strong signal the edge found in what was said (CaseInput.risk,
    # the `risk_assessed` event); a red one alerts its district's duty leader (`risk_alert`) and owes
    # a `respond` milestone, met by record_response; a supervisor may set the level (reassess_risk).
    strong_signals = 9
    # Issue 40: the case records its caller's history in the district when filed (初信初访: their
    # first? how many cases in the 90 days before?), from the read model (CaseState.caller).
    first_complaints = 10
    # Issue 40: the case records the unit suggested when it was filed (CaseInput.suggestion: the
    # district's model, or its routing table), and its first dispatch whether it took it.
    suggested_unit = 11
    # Issue 38: a category of AFTER_PHOTO_TO_RESOLVE (sla/policies.py: urban management) is resolved
    # only with an `after` photo attached; before, a resolution needed none.
    evidence = 12
    # Issue 40's leftover: a red case's duty leader is told, and the 30-minute response counted,
    # from the moment the engine learns of it (the case's start); before, from when the complaint
    # was taken in, so one entered an hour late was overdue before anyone was told.
    respond_when_told = 13


# Edition -> the id the workflow gives workflow.patched (never change one once released).
PATCHES: dict[Edition, str] = {
    Edition.complainant_voice: "edition-2-complainant-voice",
    Edition.disputes: "edition-3-disputes",
    Edition.chain: "edition-4-chain",
    Edition.extension_warns_again: "edition-5-extension-warns-again",
    Edition.stable_clock: "edition-6-stable-clock",
    Edition.city_tree: "edition-7-city-tree",
    Edition.link_on_request: "edition-8-link-on-request",
    Edition.strong_signals: "edition-9-strong-signals",
    Edition.first_complaints: "edition-10-first-complaints",
    Edition.suggested_unit: "edition-11-suggested-unit",
    Edition.evidence: "edition-12-evidence",
    Edition.respond_when_told: "edition-13-respond-when-told",
}
LATEST = max(Edition)
