"""What issue 40 adds to a filing, measured apart (part of `make bench`; `python -m bench.intake`):
the strong-signal judgement the edge makes of every complaint's words (models/risk.py, the shipped
rules), and the caller's history the workflow counts when the case is filed (readmodel/callers.py)
on a read model of synthetic cases whose callers come back, on SQLite and on PostgreSQL.

Each runs once per filing, one after the other, so the sum of their p99s bounds what they add to
a filing's p99. Measured here rather than as the difference of two HTTP runs: on this machine two
runs of the same code differ by more than 20 ms (docs/benchmark.md, the gateway's part)."""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from bench.synthetic import cases
from models.records import CallerQuery
from readmodel import ReadModel
from readmodel.callers import caller_history
from readmodel.privacy import phone_hash
from readmodel.tables import CASES
from starter import risk

KEY = b"bench-intake"
CALLERS = 20_000  # distinct phones among the synthetic cases: most callers come back several times
TEXTS = [
    "讨薪无果，几十名工人准备明天去区政府门口拉横幅",
    "再不解决我就从楼上跳下去",
    "社区开展防止轻生宣传活动，宣传栏的玻璃碎了没人修",
    "小区路灯坏了一个月，晚上很黑",
    "楼上住户装修噪音扰民，每天早上七点开始",
    "閣樓漏水，物業不處理，我要找媒體曝光",  # traditional characters
    "１２名业主聚集在售楼处讨说法",  # full-width digits
]


def _summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
    }


def _timed(n: int, call: Callable[[int], Any]) -> list[float]:
    times = []
    for i in range(n):
        began = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - began)
    return times


def judge(n: int) -> dict[str, float]:
    """The rules over texts of every kind and length (short, the issue's, a 5,000-character one)."""
    rules = risk.rules()
    rng = random.Random(3)
    texts = TEXTS + ["。".join(rng.choices(TEXTS, k=k)) for k in (5, 20, 80)] + ["漏水" * 2500]
    rules.assess(texts[0])  # OpenCC's tables load once, at the first text
    return _summary(_timed(n, lambda i: rules.assess("标题", texts[i % len(texts)])))


def fill(read_model: ReadModel, n: int) -> list[str]:
    """n synthetic cases, each a caller's of CALLERS phones, in one district; the phones."""
    phones = [f"139{i:08d}" for i in range(CALLERS)]
    rng = random.Random(11)
    case_rows, _, _ = cases(n, days=365)
    for row in case_rows:
        row["complainant_hash"] = phone_hash(rng.choice(phones), KEY)
        row["district_code"] = "440311"
    with read_model.engine.begin() as conn:
        for start in range(0, len(case_rows), 5000):
            conn.execute(CASES.insert(), case_rows[start : start + 5000])
    return phones


def count(read_model: ReadModel, phones: list[str], n: int) -> dict[str, float]:
    """The caller's history of n filings: nine in ten by a phone the read model knows."""
    now = datetime.now(timezone.utc)
    rng = random.Random(5)

    def query(i: int) -> None:
        phone = rng.choice(phones) if i % 10 else f"138{i:08d}"
        q = CallerQuery(case_id=f"new-{i}", phone=phone, district_code="440311", received_at=now)
        caller_history(read_model.engine, KEY, q)

    query(0)
    return _summary(_timed(n, query))


def measure(cases_n: int, n: int, pg_url: str | None, say: Callable[[str], None]) -> dict[str, Any]:
    result: dict[str, Any] = {"cases": cases_n, "filings": n, "judge": judge(n)}
    say(f"judged {n} texts: {result['judge']}")
    urls = {"sqlite": f"sqlite:///{tempfile.mkdtemp(prefix='bench-intake-')}/rm.db"}
    if pg_url:
        urls["postgresql"] = pg_url
    for name, url in urls.items():
        read_model = ReadModel(url, KEY)
        began = time.perf_counter()
        phones = fill(read_model, cases_n)
        say(f"{name}: {cases_n} cases written in {time.perf_counter() - began:.0f} s")
        result[f"caller_history_{name}"] = count(read_model, phones, n)
        say(f"{name}: {result[f'caller_history_{name}']}")
        read_model.engine.dispose()
    worst = max(v["p99_ms"] for k, v in result.items() if k.startswith("caller_history"))
    result["added_p99_ms_at_most"] = round(result["judge"]["p99_ms"] + worst, 3)
    return result


def lines(r: dict[str, Any]) -> list[str]:
    out = [f"intake (issue 40): {r['filings']} filings, a read model of {r['cases']} cases; p50 / p99 / max ms"]
    for key, value in r.items():
        if isinstance(value, dict):
            out.append(f"  {key:<28} {value['p50_ms']:>8} {value['p99_ms']:>8} {value['max_ms']:>8}")
    out.append(f"  added to a filing's p99, at most: {r['added_p99_ms_at_most']} ms (target < 20)")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.intake", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=200_000, help="synthetic cases in the read model")
    parser.add_argument("--filings", type=int, default=5_000, help="texts judged and histories counted")
    parser.add_argument("--pg-url", help="an empty PostgreSQL database (default: a throwaway server, if any)")
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    def run(url: str | None) -> None:
        result = measure(args.cases, args.filings, url, say)
        print("\n".join(lines(result)))
        print(json.dumps(result, ensure_ascii=False))

    if args.pg_url:
        return run(args.pg_url)
    from tests.support.postgres import postgres_server

    with postgres_server() as server:
        run(server.url if server is not None else None)


if __name__ == "__main__":
    main()
