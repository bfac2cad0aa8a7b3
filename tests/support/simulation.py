"""The simulator's sample, made small enough for a test's budget."""

from __future__ import annotations

from simulation import load


def small(days: int = 60, per_year: float = 6000, **changes) -> object:
    """The sample, shorter and smaller (a test's budget), with changes."""
    inputs = load()
    data = inputs.model_dump()
    data["period"]["days"] = days
    data["arrivals"]["per_year"] = per_year
    for key, value in changes.items():
        data[key] = value
    return type(inputs).model_validate(data)
