"""The nightly training of the suggested-unit models, one district after another (a Temporal
Schedule starts it: `complaints-unit-models`, worker.py)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.unit_models import Trained, UnitModels
    from workflows.retries import PATIENT


@workflow.defn(name="TrainUnitModels")
class TrainUnitModels:
    @workflow.run
    async def run(self) -> list[Trained]:
        districts = await workflow.execute_activity_method(
            UnitModels.districts, start_to_close_timeout=timedelta(minutes=1), retry_policy=PATIENT
        )
        trained = []
        for district in districts:  # one at a time: each takes a core while it learns
            trained.append(
                await workflow.execute_activity_method(
                    UnitModels.train, district, start_to_close_timeout=timedelta(minutes=30), retry_policy=PATIENT
                )
            )
        return trained
