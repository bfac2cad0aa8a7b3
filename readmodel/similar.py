"""类案预警 across places (issue 40, seed 001): complaints that say the same thing, whatever their
category and wherever they come from. Twelve people trapped in lifts in five communities of one
street are one problem at its source, where the category × place hotspots (readmodel/hotspots.py)
see five small piles.

How: each complaint's words as the case row keeps them (`said`: title and description, normalised
as the strong-signal rules read them, models/risk.py), as TF-IDF weights of character 2- and
3-grams within each clause (Chinese needs no word splitting this way), grouped by average-linkage
clustering on
cosine similarity: two groups join only when their complaints are alike on average, so one
complaint sharing a few characters with two others never chains them together. Chosen over
MinHash with LSH (datasketch) after measuring both on the same labelled cases (`python -m
bench.similar`): TF-IDF weighs the rare words a cluster shares (电梯困人) above the common ones
(小区, 问题), which a MinHash of shingles counts alike, and at a district's fortnight (3,000
cases) the exact similarities cost well under the 5 s budget, so LSH's sub-linear look-up buys
nothing. A cluster is a 类案预警 when at least SIMILAR_PEOPLE distinct people (a grid worker's find
counts as one) from at least two communities said it within SIMILAR_WINDOW (sla/policies.py)."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from models.scope import Seen
from readmodel.scope import seen_where
from readmodel.store import ReadModel
from readmodel.tables import CASES, utc
from sla.policies import SIMILAR_PEOPLE, SIMILARITY

C = CASES.c
SHARED_WORDS = 8  # the n-grams a cluster's card shows
CLAUSE = re.compile(r"[^\w]+")  # punctuation ends a clause: no n-gram spans two (char_wb)


@dataclass(frozen=True)
class Said:
    """One complaint as the clustering reads it."""

    case_id: str
    text: str
    person: str  # the phone's hash, or the case id for a grid worker's find
    category: str
    street: str
    community: str
    received_at: datetime
    district_code: str | None = None
    street_code: str | None = None


TASK_LISTS = 50  # member cases a 源头治理 task's description names (the task keeps them all)


@dataclass
class Cluster:
    cases: list[Said]
    words: list[str]  # what they share: the heaviest n-grams most of them hold

    @property
    def people(self) -> int:
        return len({s.person for s in self.cases})

    @property
    def places(self) -> dict[str, int]:
        """Complaints per street and community, the most first."""
        counted = Counter(f"{s.street} {s.community}".strip() for s in self.cases)
        return dict(counted.most_common())

    @property
    def communities(self) -> int:
        return len({(s.street, s.community) for s in self.cases})

    @property
    def first(self) -> Said:
        """The complaint that started it: the earliest received (the case id breaks a tie)."""
        return min(self.cases, key=lambda s: (s.received_at, s.case_id))

    @property
    def key(self) -> str:
        """The alert's own name: its first complaint's case (the same however the cluster grows)."""
        return self.first.case_id

    @property
    def task_id(self) -> str:
        """The 源头治理 task handed for it: one per alert, however often it is handed."""
        return "source-" + hashlib.sha1(self.key.encode()).hexdigest()[:12]

    def task_complaint(self) -> dict[str, Any]:
        """The 源头治理 task as a grid-patrol find: at the street the cases share (their district
        if they lie in several), naming them as members."""
        streets = {s.street_code for s in self.cases}
        code = (
            self.first.street_code if len(streets) == 1 else self.first.district_code
        )  # across districts: the first's
        ids = [s.case_id for s in sorted(self.cases, key=lambda s: (s.received_at, s.case_id))]
        listed = "、".join(ids[:TASK_LISTS]) + (f"等{len(ids)}件" if len(ids) > TASK_LISTS else "")
        places = "；".join(f"{place} {n}件" for place, n in self.places.items())
        category = Counter(s.category for s in self.cases).most_common(1)[0][0]
        return {
            "channel": "grid_patrol",
            "category": category,
            "title": f"类案源头治理：{'、'.join(self.words[:3])}（{self.people}人，{self.communities}个社区）"[:200],
            "description": (
                f"{self.people}人在{self.communities}个社区反映相近问题（共同说法：{'、'.join(self.words)}）。"
                f"分布：{places}。涉及案件：{listed}。请从源头统一治理。"
            )[:5000],
            "location": {"code": code} if code else {"district": "-", "street": "-", "community": "-"},
            "members": ids,
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "task_id": self.task_id,
            "people": self.people,
            "communities": self.communities,
            "places": self.places,
            "categories": dict(Counter(s.category for s in self.cases).most_common()),
            "words": self.words,
            "first_at": min(s.received_at for s in self.cases).isoformat(),
            "last_at": max(s.received_at for s in self.cases).isoformat(),
            "case_ids": [s.case_id for s in sorted(self.cases, key=lambda s: s.received_at)],
        }


def cluster(said: list[Said], similarity: float = SIMILARITY) -> list[Cluster]:
    """Every group of two or more complaints alike on average at `similarity` (cosine), the
    largest first. Pure: the same complaints give the same clusters."""
    if len(said) < 2:
        return []
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectoriser = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), sublinear_tf=True)
    try:
        weights = vectoriser.fit_transform([CLAUSE.sub(" ", s.text) for s in said])
    except ValueError:  # no n-gram said twice: nothing alike
        return []
    distance = 1.0 - (weights @ weights.T).toarray()
    distance[distance < 0] = 0.0
    labels = AgglomerativeClustering(
        n_clusters=None, metric="precomputed", linkage="average", distance_threshold=1.0 - similarity
    ).fit_predict(distance)
    groups: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(int(label), []).append(i)
    names = vectoriser.get_feature_names_out()
    found = [
        Cluster([said[i] for i in members], _shared(weights, members, names))
        for members in groups.values()
        if len(members) > 1
    ]
    return sorted(found, key=lambda c: (-c.people, -len(c.cases), c.cases[0].case_id))


def _shared(weights: Any, members: list[int], names: Any) -> list[str]:
    """The n-grams at least half the cluster says, heaviest first, none inside a longer one shown."""
    rows = weights[members]
    held = (rows > 0).sum(axis=0).A1
    mean = rows.mean(axis=0).A1
    ranked = [j for j in mean.argsort()[::-1] if held[j] * 2 >= len(members) and mean[j] > 0]
    words: list[str] = []
    for j in ranked:
        word = str(names[j])
        if " " in word:  # a clause's edge (char_wb pads each with a space): not a word people said
            continue
        if not any(word in w for w in words):
            words.append(word)
        if len(words) == SHARED_WORDS:
            break
    return words


def similar_alerts(
    read_model: ReadModel,
    *,
    since: datetime,
    until: datetime,
    seen: Seen | None = None,
    people: int = SIMILAR_PEOPLE,
    similarity: float = SIMILARITY,
) -> list[Cluster]:
    """The 类案预警 among the complaints `seen` admits received in [since, until): clusters of at
    least `people` people from two communities or more. Counted of what the viewer may see only."""
    query = select(
        C.case_id,
        C.said,
        C.complainant_hash,
        C.category,
        C.street,
        C.community,
        C.received_at,
        C.district_code,
        C.street_code,
    ).where(
        C.received_at >= since, C.received_at < until, C.said.is_not(None), C.merged_into.is_(None), *seen_where(seen)
    )
    with read_model.engine.connect() as conn:
        said = [
            Said(r[0], r[1], r[2] or r[0], r[3], r[4] or "", r[5] or "", utc(r[6]), r[7], r[8])  # type: ignore[arg-type]
            for r in conn.execute(query)
        ]
    return [c for c in cluster(said, similarity) if c.people >= people and c.communities >= 2]
