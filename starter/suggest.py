"""The unit suggested at filing (智能派单, issue 40): the district's model (readmodel/unit_model.py)
as the edge asks it, and the routing table when it is unsure or absent (models/suggestion.py).

Each process keeps the models it has loaded and looks for a newer training at most every
REFRESH, so a filing costs one prediction (about a millisecond), not a database read. Nothing
here may fail a filing: a model that cannot be read leaves the routing table in charge."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy.engine import Engine

from models.case_input import CaseInput
from models.suggestion import Suggestion, decide
from models.tree import Tree
from readmodel.schema import shared_engine
from readmodel.store import said_of
from readmodel.unit_model import UnitModel, load, trained_at
from runtime import logs, settings

log = logs.get("suggest")
REFRESH = 60.0  # seconds between looks for a newer training (the nightly one, or `suggest train`)
UNTRAINED = ("本区尚未训练派单模型", "no model has been trained for the district yet")
UNREADABLE = ("派单模型暂不可用", "the district's model could not be read")


@dataclass
class _Loaded:
    model: UnitModel | None
    checked: float  # time.monotonic() of the last look


class Models:
    """The districts' models of one database, loaded when first asked and refreshed when retrained."""

    def __init__(self, engine: Engine, refresh: float = REFRESH) -> None:
        self.engine, self.refresh = engine, refresh
        self._loaded: dict[str, _Loaded] = {}
        self._lock = threading.Lock()

    def model(self, district: str) -> UnitModel | None:
        now = time.monotonic()
        with self._lock:
            known = self._loaded.get(district)
            if known is not None and now - known.checked < self.refresh:
                return known.model
        model: UnitModel | None
        try:
            latest = trained_at(self.engine, district)
            if known is not None and known.model is not None and known.model.trained_at == latest:
                model = known.model
            else:
                model = load(self.engine, district) if latest is not None else None
        except Exception as err:  # a database away, a table not made yet: asked again after `refresh`
            log.warning("suggested unit: model unreadable; the routing table decides", error=str(err))
            model = UnitModel(district, datetime.now(timezone.utc), {}, UNREADABLE[0], reason_en=UNREADABLE[1])
        with self._lock:
            self._loaded[district] = _Loaded(model, now)
        return model


_models: dict[str, Models] = {}


def models(url: str | None = None) -> Models:
    url = url or settings.load().db_url
    if url not in _models:
        _models[url] = Models(shared_engine(url))
    return _models[url]


def suggest(
    district: str | None, category_unit: str | None, title: str, description: str, *, found: Models | None = None
) -> Suggestion:
    """The suggestion for a complaint in `district` whose category the routing table sends to
    `category_unit`. Always answers: any trouble with the model leaves the routing table."""
    config = settings.load()
    model = (found or models(config.db_url)).model(district) if district is not None else None
    without = (model.reason, model.reason_en or model.reason) if model is not None and model.reason else UNTRAINED
    likely, when = [], None
    if model is not None and model.pipeline is not None:
        try:
            likely, when = model.likely(said_of(title, description)), model.trained_at
        except Exception as err:  # a model pickled by another scikit-learn: retrain it
            log.warning("suggested unit: the model failed; the routing table decides", error=str(err))
            without = UNREADABLE
    return decide(likely, category_unit, threshold=config.suggest_certainty, trained_at=when, without_model=without)


def suggest_input(case_input: CaseInput, city: Tree) -> CaseInput:
    """The input with the unit suggested for it (edition 11): never for a dispute filed as one
    (it goes to mediation, owing no dispatch)."""
    c = case_input.complaint
    if c.dispute is not None:
        return case_input
    place = case_input.placement.place if case_input.placement else None
    routed = city.route(place, c.category) if place is not None else None
    found = suggest(place.district if place else None, routed.name if routed else None, c.title, c.description)
    return case_input.model_copy(update={"suggestion": found})
