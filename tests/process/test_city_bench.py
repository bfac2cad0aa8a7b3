"""`python -m bench.city`, small: the city's benchmark runs end to end on a real PostgreSQL and its
numbers add up. No timing is asserted: the numbers live in docs/benchmark.md, from `make bench`."""

from __future__ import annotations

from tests.support.postgres import fresh_postgres
from tests.support.processes import bench


def test_the_city_bench_measures_each_level_on_postgresql(pg_url):
    result = bench("bench.city", "--cases", "3000", "--rounds", "1", "--pg-url", fresh_postgres(pg_url))
    assert sum(result["districts"].values()) == 3000 and set(result["districts"]) == {"光明区", "罗湖区", "谯城区"}
    for who in ("street supervisor (东门街道)", "city supervisor (深圳市)"):
        assert len(result[who]) == 6 and all(p["bytes"] > 0 for p in result[who].values())
    # The city's supervisor is shown more of the board than one street's.
    street, city = result["street supervisor (东门街道)"], result["city supervisor (深圳市)"]
    assert city["/console/overdue?format=csv"]["bytes"] > street["/console/overdue?format=csv"]["bytes"]
    assert 0 < result["stats_by_street_year"]["cases"] <= result["districts"]["罗湖区"]
    # A street's scope is compared on the street's own column, which its index answers.
    plan = result["plans"]["street supervisor"]["overdue board"]
    assert "street_code" in plan and "city_code" not in plan
    seen = {who: c["admitted"] for who, c in result["scope_check"].items()}
    checks = result["scope_check"]["city supervisor"]["checks"]
    assert 0 < seen["street supervisor"] < seen["city supervisor"] < checks
