"""A red case tops every board it is on (issue 40): the hotline's callback list and the disputes'
board, read from a read model on SQLite whose rows say only what the order depends on."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bench.synthetic import cases
from readmodel import ReadModel
from readmodel.callbacks import callbacks_due
from readmodel.disputes import dispute_board
from readmodel.tables import CASES

NOW = datetime(2026, 12, 7, 8, tzinfo=timezone.utc)


def _model(tmp_path, changes: list[dict]) -> ReadModel:
    read_model = ReadModel(f"sqlite:///{tmp_path / 'rm.db'}", b"k")
    rows, _, _ = cases(len(changes), now=NOW, days=30)
    with read_model.engine.begin() as conn:
        # Every row the same keys: an insert of many rows takes its columns from the first.
        plain = {"risk_rank": 0, "risk_level": None}
        conn.execute(CASES.insert(), [row | plain | change for row, change in zip(rows, changes, strict=True)])
    return read_model


def test_the_callback_list_calls_a_red_cases_complainant_first(tmp_path):
    resolved = {"status": "resolved", "closed_at": None}
    read_model = _model(
        tmp_path,
        [
            {**resolved, "case_id": "old", "resolved_at": NOW - timedelta(days=20)},
            {
                **resolved,
                "case_id": "red",
                "resolved_at": NOW - timedelta(days=10),
                "risk_rank": 3,
                "risk_level": "red",
            },
            {**resolved, "case_id": "older", "resolved_at": NOW - timedelta(days=25)},
        ],
    )
    found, total = callbacks_due(read_model, now=NOW)
    assert total == 3 and [c.case_id for c in found] == ["red", "older", "old"]


def test_the_disputes_board_puts_a_red_dispute_first(tmp_path):
    dispute = {"status": "mediating", "dispute_kind": "labour", "closed_at": None}
    read_model = _model(
        tmp_path,
        [
            {**dispute, "case_id": "calm"},
            {**dispute, "case_id": "red", "risk_rank": 3, "risk_level": "red"},
            {**dispute, "case_id": "orange", "risk_rank": 2, "risk_level": "orange"},
        ],
    )
    assert [line.case_id for line in dispute_board(read_model).mediating] == ["red", "orange", "calm"]
