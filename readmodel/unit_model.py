"""The suggested unit's model, one per district (智能派单, issue 40): learned from that district's
own closed cases, and kept in the database with its training date and its figures.

What it learns: the words each closed case said (`said`, as the case row keeps them) and the unit
that finally handled it (the row's `department`: the last unit, not one it was transferred from).
How: TF-IDF over character 1-3-grams (Chinese needs no word splitting this way) and a multinomial
logistic regression, as Amsterdam's classification service does for Signalen. Nine cases in ten
are learned from; the tenth, drawn with a fixed seed and by unit, is held out to measure it. Only
the district's own cases are read, so no model knows another district's complaints.

A model is never learned from too few cases (MIN_CASES) or from cases one unit handled alone:
then the row says why, and the routing table decides (models/suggestion.py)."""

from __future__ import annotations

import io
import pickle
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from models.base import Category
from models.suggestion import Likely
from models.tree import PlaceCodes, Tree
from readmodel.tables import CASES, UnitModelRow, table_of

MODELS = table_of(UnitModelRow)
MIN_CASES = 50  # a local default: fewer closed cases teach a model nothing a routing table lacks
HELD_OUT = 0.1
SEED = 40
WINDOW = timedelta(days=730)  # a local default: units and their duties change; two years of cases
CONFUSED_SHOWN = 5


class CannotLearn(ValueError):
    """No model for this district: the message says why, in people's words (`en`: in English)."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(zh)
        self.en = en


@dataclass(frozen=True)
class Example:
    """A closed case as the model learns it."""

    said: str
    unit: str
    category: str
    street: str | None = None


@dataclass(frozen=True)
class Figures:
    """How the model did on the cases held out, beside the routing table on the same cases."""

    cases: int
    units: int
    held_out: int
    accuracy: float
    macro_precision: float
    macro_recall: float
    routing_accuracy: float | None  # the district's routing table alone, by each case's category
    confused: list[tuple[str, str, int]] = field(default_factory=list)  # (handled by, suggested, cases)

    def as_json(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "units": self.units,
            "held_out": self.held_out,
            "accuracy": round(self.accuracy, 4),
            "macro_precision": round(self.macro_precision, 4),
            "macro_recall": round(self.macro_recall, 4),
            "routing_accuracy": None if self.routing_accuracy is None else round(self.routing_accuracy, 4),
            "confused": [{"handled_by": a, "suggested": b, "cases": n} for a, b, n in self.confused],
        }


@dataclass(frozen=True)
class UnitModel:
    """A district's model as the edge uses it, or why there is none (`pipeline` None)."""

    district: str
    trained_at: datetime
    figures: dict[str, Any]
    reason: str | None = None
    pipeline: Any = None
    reason_en: str | None = None

    def likely(self, said: str, top: int = 3) -> list[Likely]:
        """The `top` likeliest units for these words, likeliest first; none without a model."""
        if self.pipeline is None or not said:
            return []
        probabilities = self.pipeline.predict_proba([said])[0]
        ranked = sorted(zip(self.pipeline.classes_, probabilities, strict=True), key=lambda u: -u[1])[:top]
        return [Likely(unit=str(u), probability=round(float(p), 4)) for u, p in ranked]


def _pipeline() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2),
        LogisticRegression(max_iter=1000, C=10.0),
    )


def learn(examples: list[Example], routed: Callable[[Example], str | None] | None = None) -> tuple[Any, Figures]:
    """The fitted pipeline (on nine in ten) and its figures (on the tenth); CannotLearn saying
    why when the cases cannot teach one. `routed`: the unit the routing table gives a case."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support
    from sklearn.model_selection import train_test_split

    units = Counter(e.unit for e in examples)
    if len(examples) < MIN_CASES:
        raise CannotLearn(
            f"只有 {len(examples)} 件已结案件，至少需要 {MIN_CASES} 件",
            f"{len(examples)} closed cases; a model needs {MIN_CASES}",
        )
    if len(units) < 2:
        raise CannotLearn("已结案件都由同一个单位办理，无从区分", "one unit handled every closed case")
    by_unit = [e.unit for e in examples]
    learned, held = train_test_split(
        examples,
        test_size=HELD_OUT,
        random_state=SEED,
        stratify=by_unit if min(units.values()) >= 2 else None,
    )
    pipeline = _pipeline()
    pipeline.fit([e.said for e in learned], [e.unit for e in learned])
    truth = [e.unit for e in held]
    guessed = list(pipeline.predict([e.said for e in held]))
    precision, recall, _, _ = precision_recall_fscore_support(truth, guessed, average="macro", zero_division=0)
    labels = sorted(units)
    matrix = confusion_matrix(truth, guessed, labels=labels)
    confused = sorted(
        ((labels[i], labels[j], int(matrix[i][j])) for i in range(len(labels)) for j in range(len(labels))),
        key=lambda c: -c[2],
    )
    routing = None if routed is None else sum(routed(e) == e.unit for e in held) / len(held)
    figures = Figures(
        cases=len(examples),
        units=len(units),
        held_out=len(held),
        accuracy=sum(a == b for a, b in zip(truth, guessed, strict=True)) / len(held),
        macro_precision=float(precision),
        macro_recall=float(recall),
        routing_accuracy=routing,
        confused=[c for c in confused if c[0] != c[1] and c[2] > 0][:CONFUSED_SHOWN],
    )
    return pipeline, figures


def examples(engine: Engine, district: str, now: datetime | None = None) -> list[Example]:
    """The district's closed cases of the last WINDOW, with the unit that finally handled each."""
    since = (now or datetime.now(timezone.utc)) - WINDOW
    query = select(CASES.c.said, CASES.c.department, CASES.c.category, CASES.c.street_code).where(
        CASES.c.district_code == district,
        CASES.c.closed_at.is_not(None),
        CASES.c.closed_at >= since,
        CASES.c.department.is_not(None),
        CASES.c.said.is_not(None),
        CASES.c.merged_into.is_(None),
    )
    with engine.connect() as conn:
        return [Example(r.said, r.department, r.category, r.street_code) for r in conn.execute(query)]


def routed_by(city: Tree, district: str) -> Callable[[Example], str | None]:
    """The unit the district's routing table (per street where it differs) gives a case."""

    def route(example: Example) -> str | None:
        try:
            category = Category(example.category)
        except ValueError:
            return None
        unit = city.route(PlaceCodes(district=district, street=example.street), category)
        return unit.name if unit else None

    return route


def train(engine: Engine, district: str, city: Tree | None = None, now: datetime | None = None) -> UnitModelRow:
    """Learn the district's model from its closed cases and keep it (replacing the last); when
    none can be learned, keep why, so the edge says so and the routing table decides."""
    now = now or datetime.now(timezone.utc)
    cases = examples(engine, district, now)
    row = UnitModelRow(
        district_code=district, trained_at=now, cases=len(cases), units=len({e.unit for e in cases}), figures={}
    )
    try:
        pipeline, figures = learn(cases, routed_by(city, district) if city else None)
    except CannotLearn as err:
        row.reason, row.reason_en = str(err), err.en
    else:
        row.figures = figures.as_json()
        buffer = io.BytesIO()
        pickle.dump(pipeline, buffer, protocol=pickle.HIGHEST_PROTOCOL)
        row.model = buffer.getvalue()
    values = row.model_dump()
    with engine.begin() as conn:
        conn.execute(delete(MODELS).where(MODELS.c.district_code == district))
        conn.execute(MODELS.insert().values(**values))
    return row


def trained_at(engine: Engine, district: str) -> datetime | None:
    with engine.connect() as conn:
        found = conn.execute(select(MODELS.c.trained_at).where(MODELS.c.district_code == district)).scalar()
    return found  # type: ignore[no-any-return]


def load(engine: Engine, district: str) -> UnitModel | None:
    """The district's latest model (or why it has none); None: never trained."""
    with engine.connect() as conn:
        row = conn.execute(select(MODELS).where(MODELS.c.district_code == district)).first()
    if row is None:
        return None
    pipeline = pickle.loads(row.model) if row.model else None
    return UnitModel(district, row.trained_at, dict(row.figures), row.reason, pipeline, row.reason_en)
