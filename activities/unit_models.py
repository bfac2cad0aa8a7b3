"""Training the districts' suggested-unit models (readmodel/unit_model.py), for the nightly
`TrainUnitModels` workflow on the audit queue: CPU-bound work, kept off the cases' workers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from temporalio import activity

from models.base import Strict
from models.tree import Level, Tree
from readmodel import ReadModel
from readmodel.unit_model import train


class Trained(Strict):
    """What one district's training left: its model's figures, or why it has none."""

    district: str
    cases: int
    accuracy: float | None = None
    reason: str | None = None


class UnitModels:
    def __init__(self, read_model: ReadModel, city: Callable[[], Tree]) -> None:
        self.read_model, self.city = read_model, city  # the tree as it is now: a district added is trained

    @activity.defn(name="unit_model_districts")
    async def districts(self) -> list[str]:
        return sorted(p.code for p in self.city().places.values() if p.level == Level.district)

    @activity.defn(name="train_unit_model")
    async def train(self, district: str) -> Trained:
        row = await asyncio.to_thread(train, self.read_model.engine, district, self.city())
        activity.logger.info("unit model trained", extra={"district": district, "cases": row.cases})
        return Trained(district=district, cases=row.cases, accuracy=row.figures.get("accuracy"), reason=row.reason)
