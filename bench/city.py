"""A city's read model at scale (issue 35): a million synthetic cases across the shipped districts'
places and units, in PostgreSQL, and what each level's supervisor reads of it.

    python -m bench.city                  # 1,000,000 cases on a throwaway PostgreSQL (about 10 minutes)
    python -m bench.city --cases 20000    # a smaller city
    python -m bench.city --pg-url postgresql+psycopg://...   # an existing, empty database

Rows are written as bench/synthetic.py makes them (no workflow runs), filed at the tree's places
and dispatched to its units, received over the last year. Shares by district follow the seeds'
yearly figures (光明 67,667, 罗湖 37,144; 谯城 has none in the seeds and is weighted as 罗湖), and
within a district evenly over its streets; one case in twelve names a community the tree does
not list (待定位, filed at its street).

Measured, as the console serves them (the ASGI app in this process, no network): a street
supervisor's and the city supervisor's overdue board, its CSV, the league of the places under
them and the overview; `stats --by street` for a district over a year; the plans PostgreSQL
chooses for a scoped list (EXPLAIN ANALYZE); and what the "sees" rule costs an update (it runs in
the case's validator, on the state the workflow holds: no read of any database).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from sqlalchemy import func, select, text

from bench.synthetic import Where, cases
from gateway import create_app
from models import Category, Role
from models.actor import Actor
from models.scope import CaseWhere, Seen, sees, within
from models.tree import Level, PlaceCodes, Tree
from readmodel import ReadModel
from readmodel.board import Filters
from readmodel.counting import C, M, owed_now
from readmodel.scope import seen_where
from readmodel.stats import compute
from readmodel.tables import CASES, EVENTS, MILESTONES
from runtime import settings
from starter import jurisdictions
from starter.identities import IdentityStore

DEFAULT_CASES = 1_000_000
YEARLY = {"光明区": 67_667, "罗湖区": 37_144, "谯城区": 37_144}  # seeds 000/004 and 001; 谯城: an assumption
PASSWORD = "bench city password"
CHUNK = 50_000
SERVER = ("shared_buffers=2GB", "work_mem=32MB", "effective_cache_size=12GB")  # of 23 GiB here
UNLISTED = 12  # one case in twelve names a community the tree does not list


def places_of(city: Tree, district: str) -> list[Where]:
    """Every listed community of the district's streets, and per street an unlisted one (its cases
    are filed at the street, 待定位), each with the district's units to dispatch to."""
    units = tuple(u.name for u in city.units_of(district))
    name = city.places[district].name
    found: list[Where] = []
    for street in city.children(district):
        listed = [c for c in city.children(street.code) if c.level == Level.community]
        codes = city.codes_of(street.code).model_dump()
        unlisted = Where(name, street.name, f"{street.name}未列社区", codes, units)
        placed = [Where(name, street.name, c.name, city.codes_of(c.code).model_dump(), units) for c in listed] or [
            Where(name, street.name, f"{street.name}某社区", codes, units)
        ]
        # One unlisted entry among UNLISTED-1 placed ones, so each street's share stays the same.
        found += [unlisted] + [placed[i % len(placed)] for i in range(UNLISTED - 1)]
    return found


def shares(city: Tree, total: int) -> dict[str, int]:
    """Cases per district code, by the seeds' yearly figures."""
    districts = {p.code: p.name for p in city.places.values() if p.level == Level.district}
    weight = sum(YEARLY.get(n, 37_144) for n in districts.values())
    return {code: round(total * YEARLY.get(n, 37_144) / weight) for code, n in districts.items()}


def _copy(read_model: ReadModel, table: Any, rows: list[dict[str, Any]]) -> None:
    """COPY the rows in (PostgreSQL's bulk load): ten times the speed of INSERTs at this size."""
    if not rows:
        return
    # The table's own defaults for what a row leaves out (INSERT fills them in Python; COPY does not).
    defaults = {
        c.name: c.default.arg
        for c in table.columns
        if c.name not in rows[0] and c.default is not None and c.default.is_scalar
    }
    columns = [*rows[0], *defaults]
    json_columns = {c.name for c in table.columns if c.type.__class__.__name__ == "JSON"}
    raw = read_model.engine.raw_connection()
    try:
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for row in rows:
                values = row | defaults
                copy.write_row([json.dumps(values[c]) if c in json_columns else values[c] for c in columns])
        raw.commit()
    finally:
        raw.close()


def fill(read_model: ReadModel, city: Tree, total: int, say: Any) -> dict[str, int]:
    now = datetime.now(timezone.utc)
    counts = shares(city, total)
    for district, n in counts.items():
        where = places_of(city, district)
        for k, start in enumerate(range(0, n, CHUNK)):
            size = min(CHUNK, n - start)
            rows = cases(
                size, now=now, days=365, seed=hash((district, k)) % 2**32, prefix=f"c{district}-{k:03d}", places=where
            )
            for table, chunk in zip((CASES, MILESTONES, EVENTS), rows, strict=True):
                _copy(read_model, table, chunk)
        say(f"  {city.places[district].name}: {n} cases")
    with read_model.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    return {city.places[d].name: n for d, n in counts.items()}


def _summary(times: list[float]) -> dict[str, float]:
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1),
        "max_ms": round(times[-1], 1),
    }


async def pages(app: Any, who: str, paths: list[str], rounds: int) -> dict[str, Any]:
    found: dict[str, Any] = {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://city.bench", timeout=120) as h:
        form = await h.get("/console/login")
        csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
        logged = await h.post("/console/login", data={"identity": who, "password": PASSWORD, "csrf": csrf})
        assert logged.status_code == 303, logged.text
        for path in paths:
            times = []
            for _ in range(rounds):
                t = time.perf_counter()
                answer = await h.get(path)
                times.append((time.perf_counter() - t) * 1000)
                assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
            found[path] = _summary(times) | {"bytes": len(answer.content)}
    return found


def explain(read_model: ReadModel, seen: Seen, now: datetime) -> dict[str, str]:
    """PostgreSQL's plans, with their real times, for a scoped list: the viewer's newest cases, and
    the count of its overdue board."""
    newest = select(C.case_id, C.title, C.status).where(*seen_where(seen)).order_by(C.received_at.desc()).limit(50)
    board = Filters(seen=seen)
    owed = select(C.case_id).distinct().join(CASES, C.case_id == M.case_id).where(owed_now(now), *board.where())
    plans = {}
    with read_model.engine.connect() as conn:
        for name, query in (("newest 50", newest), ("overdue board", owed)):
            compiled = query.compile(read_model.engine, compile_kwargs={"literal_binds": True})
            rows = conn.execute(text(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) {compiled}")).scalars()
            plans[name] = "\n".join(rows)
    return plans


def scope_check(read_model: ReadModel, city: Tree, street: str, unit: str, n: int = 20_000) -> dict[str, Any]:
    """The "sees" rule as an update's validator runs it (models/scope.py sees on the case's
    CaseWhere), timed one call at a time over real rows: a street supervisor, a unit's handler and
    the city supervisor, on cases of every district."""
    with read_model.engine.connect() as conn:
        rows = conn.execute(
            select(C.city_code, C.district_code, C.street_code, C.community_code, C.units)
            .order_by(func.md5(C.case_id))  # a spread over every district, the same each run
            .limit(n)
        ).all()
    wheres = [
        CaseWhere(
            place=PlaceCodes(city=r[0], district=r[1], street=r[2], community=r[3]),
            units=frozenset(u for u in (r[4] or "").split("|") if u),
        )
        for r in rows
    ]
    district = city.district_of(street)
    viewers = {
        "street supervisor": Actor(id="sup-street", role=Role.supervisor, scope=street),
        "unit handler": Actor(
            id="handler", role=Role.handler, department=unit, scope=district.code if district else None
        ),
        "city supervisor": Actor(id="sup-city", role=Role.supervisor, scope=city.path(street)[0].code),
    }
    found: dict[str, Any] = {}
    for name, actor in viewers.items():
        times, admitted = [], 0
        for where in wheres:
            t = time.perf_counter_ns()
            admitted += sees(actor, where)
            times.append((time.perf_counter_ns() - t) / 1000)
        times.sort()
        found[name] = {
            "checks": len(times),
            "admitted": admitted,
            "p50_us": round(statistics.median(times), 2),
            "p99_us": round(times[int(len(times) * 0.99) - 1], 2),
        }
    return found


async def measure(url: str, total: int, say: Any, rounds: int = 15) -> dict[str, Any]:
    city = jurisdictions.tree()
    read_model = ReadModel(url, b"bench" * 8)
    started = time.perf_counter()
    with read_model.engine.connect() as conn:
        held = conn.execute(select(func.count()).select_from(CASES)).scalar_one()
    counts = {city.places[d].name: n for d, n in shares(city, total).items()}
    if held == sum(counts.values()):  # --pg-url again: the same city, measured again
        say(f"The read model holds {held} cases already: measuring them")
    else:
        say(f"Filling the read model with {total} cases ...")
        counts = fill(read_model, city, total, say)
    result: dict[str, Any] = {"cases": total, "districts": counts, "fill_seconds": round(time.perf_counter() - started)}
    luohu = next(p for p in city.places.values() if p.name == "罗湖区")
    dongmen = city.child_named(luohu.code, "东门街道")
    assert dongmen is not None
    shenzhen = city.path(luohu.code)[0]
    store = IdentityStore(url)
    store.add("sup-dongmen", Role.supervisor, password=PASSWORD, scope=dongmen.code)
    store.add("sup-shenzhen", Role.supervisor, password=PASSWORD, scope=shenzhen.code)
    config = dataclasses.replace(settings.load(), identities_url=url, rate_limit=0.0)
    app = create_app(read_model=read_model, config=config)
    year_ago = (datetime.now(timezone.utc) - timedelta(days=365)).date().isoformat()
    paths = [
        "/console/",
        "/console/overdue",
        "/console/overdue?page=20",
        "/console/overdue?format=csv",
        "/console/places",
        f"/console/places?since={year_ago}",
    ]
    async with app.router.lifespan_context(app):
        for who, label in (
            ("sup-dongmen", "street supervisor (东门街道)"),
            ("sup-shenzhen", "city supervisor (深圳市)"),
        ):
            say(f"Console pages, {label} ...")
            result[label] = await pages(app, who, paths, rounds)
    say("stats --by street for 罗湖区 over a year ...")
    until = datetime.now(timezone.utc)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        rows = compute(
            read_model, since=until - timedelta(days=365), until=until, by="street", within=luohu.code, city=city
        )
        times.append((time.perf_counter() - t) * 1000)
    result["stats_by_street_year"] = _summary(times) | {"cases": rows[-1].accepted, "rows": len(rows)}
    say("EXPLAIN ANALYZE of the scoped lists ...")
    result["plans"] = {
        "street supervisor": explain(read_model, within(dongmen.code, city), until),
        "city supervisor": explain(read_model, within(shenzhen.code, city), until),
    }
    unit = city.route(city.codes_of(dongmen.code), Category.housing)
    result["scope_check"] = scope_check(read_model, city, dongmen.code, unit.name if unit else "罗湖区住房和建设局")
    read_model.engine.dispose()
    return result


def lines(r: dict[str, Any]) -> list[str]:
    out = [
        f"city read model: {r['cases']} cases in PostgreSQL ({', '.join(f'{k} {v}' for k, v in r['districts'].items())}), "
        f"filled in {r['fill_seconds']} s",
    ]
    for label in ("street supervisor (东门街道)", "city supervisor (深圳市)"):
        out.append(f"  {label}, server time p50 / p95 / max ms:")
        out += [f"    {path:<44}{p['p50_ms']:>8}{p['p95_ms']:>8}{p['max_ms']:>8}" for path, p in r[label].items()]
    s = r["stats_by_street_year"]
    out.append(
        f"  stats --by street --within 罗湖区, a year ({s['cases']} cases): p50 {s['p50_ms']} ms, max {s['max_ms']} ms"
    )
    for who, plans in r["plans"].items():
        for name, plan in plans.items():
            out.append(f"  EXPLAIN ANALYZE, {who}, {name}:")
            out += [f"    {line}" for line in plan.splitlines()]
    for who, c in r["scope_check"].items():
        out.append(
            f"  the sees rule, {who}: p50 {c['p50_us']} µs, p99 {c['p99_us']} µs ({c['admitted']}/{c['checks']} seen)"
        )
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.city", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=DEFAULT_CASES, help="synthetic cases (default 1,000,000)")
    parser.add_argument("--rounds", type=int, default=15, help="times each page is read")
    parser.add_argument(
        "--pg-url", help="a PostgreSQL database, empty or holding this bench's cases (default: a throwaway server)"
    )
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    def run(url: str) -> None:
        result = asyncio.run(measure(url, args.cases, say, args.rounds))
        print("\n".join(lines(result)))
        print(json.dumps(result, ensure_ascii=False))

    if args.pg_url:
        run(args.pg_url)
        return
    from tests.support.postgres import postgres_server  # the suite's throwaway server, from Debian's binaries

    # A server as production would size it for this machine: a quarter of its memory for buffers.
    with postgres_server(*SERVER) as server:
        if server is None:
            raise SystemExit("no PostgreSQL here: install Debian's postgresql package, or pass --pg-url")
        run(server.url)


if __name__ == "__main__":
    main()
