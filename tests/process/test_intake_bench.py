"""`python -m bench.intake`, small: what issue 40 adds to a filing is measured on SQLite and on a
real PostgreSQL, and its numbers add up. No timing is asserted (the numbers live in
docs/benchmark.md, from `make bench`)."""

from __future__ import annotations

from tests.support.postgres import fresh_postgres
from tests.support.processes import bench


def test_the_intake_bench_judges_texts_and_counts_callers_on_both_databases(pg_url):
    r = bench("bench.intake", "--cases", "2000", "--filings", "200", "--pg-url", fresh_postgres(pg_url))
    assert (r["cases"], r["filings"]) == (2000, 200)
    parts = ("judge", "caller_history_sqlite", "caller_history_postgresql")
    assert all(0 < r[p]["p50_ms"] <= r[p]["p99_ms"] <= r[p]["max_ms"] for p in parts), r
    worst = max(r["caller_history_sqlite"]["p99_ms"], r["caller_history_postgresql"]["p99_ms"])
    assert r["added_p99_ms_at_most"] == round(r["judge"]["p99_ms"] + worst, 3)


def test_the_suggestion_bench_trains_asks_and_weighs_three_districts_models():
    """`python -m bench.suggest`, small: trained, kept, asked one at a time, and weighed in a fresh process."""
    r = bench("bench.suggest", "--cases", "400", "--asks", "50")
    assert r["cases"] == 400 and r["accuracy"] > r["routing_accuracy"], r
    assert 0 < r["ask_ms_p50"] <= r["ask_ms_p99"] and r["model_bytes"] > 0 and r["process_rss_mib"] > 0, r


def test_the_evidence_bench_judges_a_phone_photo_and_recordings_at_once():
    """`python -m bench.evidence`, small: a photo judged and kept, recordings judged side by side."""
    r = bench("bench.evidence", "--photos", "2", "--recordings", "2")
    assert r["photos"] == 2 and r["photo_bytes"] > 4 << 20 and 0 < r["photo_ms_p50"] <= r["photo_ms_p99"], r
    assert r["recordings"] == 2 and r["recordings_seconds"] > 0, r
