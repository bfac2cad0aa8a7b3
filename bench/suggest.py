"""The suggested unit measured (part of `make bench`; `python -m bench.suggest`): training a
district's model on 100,000 closed cases (readmodel/unit_model.py, as the nightly schedule does:
read from the read model, learned, pickled and kept), what asking it adds to a filing, and the
memory three districts' models take in a process.

No public labelled corpus of Chinese complaints is available here: the cases are made for the
tests and the bench (tests/support/units.py: eight units of 光明区, filed under the categories
callers choose), so the accuracy reported is on made-up cases and says nothing of a real district's."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from readmodel import ReadModel
from readmodel.unit_model import train
from starter import jurisdictions
from starter.suggest import Models, suggest
from tests.support.units import DISTRICT, labelled, seed_closed

DISTRICTS = ("440311", "440303", "341602")
TEXTS = ["供水管道爆裂，水流满街", "公司拖欠工资三个月", "孩子入学积分不够学位被拒", "你好", "工地夜间施工噪音很大"]


# Run in a fresh process, so the training's freed memory does not hide what the models take.
MEMORY = """
import json, sys
from pathlib import Path
def rss(): return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20
import sklearn.linear_model, sklearn.feature_extraction.text, sklearn.pipeline
from readmodel.schema import make_engine
from starter.suggest import Models
models = Models(make_engine(sys.argv[1]))
before = rss()
loaded = [models.model(d) for d in sys.argv[2:]]
assert all(m is not None and m.pipeline is not None for m in loaded)
print(json.dumps({"before": round(before, 1), "after": round(rss(), 1)}))
"""


def _memory(url: str) -> dict[str, float]:
    """A worker's or gateway's resident memory (scikit-learn imported), and with three models loaded."""
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", MEMORY, url, *DISTRICTS], capture_output=True, text=True, check=True, cwd=root
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def measure(cases: int, asks: int) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="bench-suggest-"))
    read_model = ReadModel(f"sqlite:///{folder / 'complaints.db'}", b"bench")
    city = jurisdictions.tree()
    made = labelled(cases)
    for district in DISTRICTS:  # each district its own cases (the same made-up words, its own rows)
        seed_closed(read_model.engine, made, district=district, prefix=f"bench-{district}")
    started = time.perf_counter()
    row = train(read_model.engine, DISTRICT, city)
    trained = time.perf_counter() - started
    for district in DISTRICTS[1:]:
        train(read_model.engine, district, city)
    models = Models(read_model.engine, refresh=3600)
    assert all(getattr(models.model(d), "pipeline", None) is not None for d in DISTRICTS)
    memory = _memory(read_model.url)
    times = []
    for i in range(asks):
        text = TEXTS[i % len(TEXTS)]
        t = time.perf_counter()
        suggest(DISTRICT, "光明区城市管理和综合执法局", text, "", found=models)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {
        "cases": cases,
        "train_seconds": round(trained, 1),
        "accuracy": row.figures["accuracy"],
        "routing_accuracy": row.figures["routing_accuracy"],
        "macro_precision": row.figures["macro_precision"],
        "macro_recall": row.figures["macro_recall"],
        "model_bytes": _pickled(read_model),
        "process_rss_mib": memory["before"],
        "three_models_rss_mib": round(memory["after"] - memory["before"], 1),
        "ask_ms_p50": round(statistics.median(times), 2),
        "ask_ms_p99": round(times[int(len(times) * 0.99) - 1], 2),
    }


def _pickled(read_model: ReadModel) -> int:
    from sqlalchemy import func, select

    from readmodel.unit_model import MODELS

    with read_model.engine.connect() as conn:
        size = conn.execute(select(func.length(MODELS.c.model)).where(MODELS.c.district_code == DISTRICT)).scalar()
    return int(size or 0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.suggest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000, help="closed cases per district (default 100,000)")
    parser.add_argument("--asks", type=int, default=2000, help="suggestions asked, one at a time")
    args = parser.parse_args(argv)
    r = measure(args.cases, args.asks)
    print(
        f"suggested unit, {r['cases']} made-up closed cases per district: trained in {r['train_seconds']} s "
        f"(accuracy {r['accuracy']:.1%} held out; the routing table alone {r['routing_accuracy']:.1%}); "
        f"asked in p50 {r['ask_ms_p50']} ms, p99 {r['ask_ms_p99']} ms; a model kept in {r['model_bytes']:,} bytes; "
        f"three districts' models loaded: +{r['three_models_rss_mib']} MiB (a process at {r['process_rss_mib']} MiB)",
        file=sys.stderr,
    )
    print(json.dumps(r, ensure_ascii=False))


if __name__ == "__main__":
    main()
