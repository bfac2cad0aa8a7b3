"""The uploads of each case (issue 38): what was kept of each file, found again by its digest when
an `attach` update names it (starter/evidence.py), and what the audit checks in the store."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.engine import Engine

from readmodel.schema import insert_for
from readmodel.tables import UploadRow, table_of

UPLOADS = table_of(UploadRow)


def record_upload(engine: Engine, row: UploadRow) -> None:
    """Kept once per case and digest: the same bytes again change nothing."""
    values = row.model_dump() | {"at": row.at or datetime.now(timezone.utc)}
    with engine.begin() as conn:
        conn.execute(
            insert_for(engine, UPLOADS).values(**values).on_conflict_do_nothing(index_elements=["case_id", "digest"])
        )


def upload_of(engine: Engine, case_id: str, digest: str) -> UploadRow | None:
    with engine.connect() as conn:
        row = conn.execute(select(UPLOADS).where(UPLOADS.c.case_id == case_id, UPLOADS.c.digest == digest)).first()
    return UploadRow.model_validate(row._mapping) if row else None


def uploads_of(engine: Engine, case_id: str) -> list[UploadRow]:
    with engine.connect() as conn:
        rows = conn.execute(select(UPLOADS).where(UPLOADS.c.case_id == case_id).order_by(UPLOADS.c.at)).all()
    return [UploadRow.model_validate(r._mapping) for r in rows]
