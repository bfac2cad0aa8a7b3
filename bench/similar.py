"""类案 clustering measured (part of `make bench`; `python -m bench.similar`): TF-IDF of character
n-grams with average-linkage clustering (readmodel/similar.py, what the engine uses) against
MinHash with LSH (datasketch), on the same labelled complaints, at a district's fortnight.

No public labelled corpus of Chinese complaints is available here, so the cases are made: topics
a district hears every fortnight, each in several phrasings people use, with their own details
(a building, a time, a count) and an opening of their own; the label is the topic. A good
clustering puts each topic's complaints together and none of two topics; it is scored on pairs
(precision, recall, F1), and timed."""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import sys
import time
from datetime import datetime, timezone
from typing import Any

from models.risk import normalise
from readmodel.similar import Said, cluster
from tests.support.similar import OTHERS, SETS

OPENINGS = ["", "你好，", "我要反映，", "投诉：", "市民来电反映：", "再次反映，", "麻烦处理一下，"]
DETAILS = ["{n}栋", "{n}号楼", "第{n}次了", "已经{n}天", "{n}点左右", "{n}楼", "昨天", "今天早上", "周末", "晚上"]
TOPICS: dict[str, list[str]] = {
    **SETS,
    "lamp": ["路灯坏了，晚上很黑", "小区路灯不亮，走路不安全", "路灯损坏没人修", "这条路的路灯坏了好几盏"],
    "garbage": ["垃圾堆放没人清理，臭味很大", "垃圾桶满了没人收", "垃圾清运不及时，苍蝇很多", "小区门口垃圾成堆"],
    "school": ["孩子入学积分不够，学位申请被拒", "学位不足，孩子上不了学", "入学申请被退回，不知道原因"],
    "manhole": ["井盖松动，车辆经过响声很大", "井盖缺失，很危险", "路面井盖破损下沉"],
    "fumes": ["餐馆油烟直排，熏到楼上住户", "楼下饭店油烟太大，窗户不敢开", "烧烤店油烟扰民"],
    "bikes": ["共享单车乱停放堵住人行道", "单车堆在地铁口，无法通行", "电动车乱停占道"],
    "dog": ["邻居家的狗每天半夜叫个不停", "小区有人遛狗不拴绳", "狗粪没人清理"],
    "parking": ["小区停车位被外来车辆占用", "车位不够，业主停不了车", "路边违停堵住消防通道"],
    "leak": ["楼上漏水到我家，物业不管", "卫生间渗水到楼下", "屋顶漏水，下雨就滴水"],
    "property_fee": ["物业乱收费，没有公示", "物业费涨价没有经过业主大会", "物业收费不透明"],
}
TOPICS["others"] = OTHERS  # one case each: no topic, so a good clustering leaves them alone


def complaints(n: int, seed: int = 7) -> tuple[list[str], list[str]]:
    """n texts and their topics (each of OTHERS once, labelled apart)."""
    rng = random.Random(seed)
    texts, labels = [], []
    for i, text in enumerate(OTHERS):
        texts.append(text)
        labels.append(f"other-{i}")
    topics = [t for t in TOPICS if t != "others"]
    weights = [1 / (rank + 1) for rank in range(len(topics))]
    while len(texts) < n:
        topic = rng.choices(topics, weights)[0]
        detail = rng.choice(DETAILS).format(n=rng.randint(1, 30))
        texts.append(f"{rng.choice(OPENINGS)}{detail}，{rng.choice(TOPICS[topic])}")
        labels.append(topic)
    return texts, labels


def scores(labels: list[str], groups: list[list[int]]) -> dict[str, float]:
    """Pairs of complaints put together that share their topic (precision), and of those sharing
    it, how many were put together (recall)."""
    together = {pair for g in groups for pair in itertools.combinations(sorted(g), 2)}
    same = {(i, j) for i, j in itertools.combinations(range(len(labels)), 2) if labels[i] == labels[j]}
    tp = len(together & same)
    precision = tp / len(together) if together else 0.0
    recall = tp / len(same) if same else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3)}


def tfidf(texts: list[str], similarity: float | None = None) -> list[list[int]]:
    now = datetime.now(timezone.utc)
    said = [Said(str(i), normalise(t), str(i), "c", "s", "c", now) for i, t in enumerate(texts)]
    found = cluster(said) if similarity is None else cluster(said, similarity)
    return [[int(s.case_id) for s in c.cases] for c in found]


def minhash(texts: list[str], threshold: float) -> list[list[int]]:
    """MinHash (128 permutations) of each text's character 3-gram shingles, LSH at the threshold
    (Jaccard), and the groups its candidate pairs connect."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    hashes = []
    for i, text in enumerate(texts):
        clean = re.sub(r"[^\w]+", "", normalise(text))
        m = MinHash(num_perm=128)
        for k in range(len(clean) - 2):
            m.update(clean[k : k + 3].encode())
        lsh.insert(str(i), m)
        hashes.append(m)
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, m in enumerate(hashes):
        for j in lsh.query(m):
            parent[root(int(j))] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(texts)):
        groups.setdefault(root(i), []).append(i)
    return [g for g in groups.values() if len(g) > 1]


def measure(n: int) -> dict[str, Any]:
    texts, labels = complaints(n)
    result: dict[str, Any] = {"cases": n, "topics": len(set(labels))}
    for name, run in [
        *((f"tfidf_average_{s}", lambda s=s: tfidf(texts, s)) for s in (0.03, 0.04, 0.05, 0.07)),
        ("tfidf_engine_default", lambda: tfidf(texts)),
        *((f"minhash_lsh_{t}", lambda t=t: minhash(texts, t)) for t in (0.2, 0.3, 0.5)),
    ]:
        began = time.perf_counter()
        groups = run()
        result[name] = {"seconds": round(time.perf_counter() - began, 2), **scores(labels, groups)}
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.similar", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=3000, help="a district's fortnight (default 3,000)")
    args = parser.parse_args(argv)
    result = measure(args.cases)
    print(f"类案 on {result['cases']} labelled complaints of {result['topics']} topics", file=sys.stderr)
    for name, r in result.items():
        if isinstance(r, dict):
            print(f"  {name:<24} {r['seconds']:>7} s  P {r['precision']:<6} R {r['recall']:<6} F1 {r['f1']}")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
