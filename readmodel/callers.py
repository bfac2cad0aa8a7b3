"""A caller's history (初信初访, issue 40): their earlier cases in the district, by the hash of
their phone, counted when a new case is filed. The window is sla/policies.py's CALLER_WINDOW."""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.engine import Engine

from models.case import CallerHistory
from models.records import CallerQuery
from readmodel.privacy import phone_hash
from readmodel.tables import CASES, utc
from sla.policies import CALLER_WINDOW

C = CASES.c


def caller_history(engine: Engine, phone_key: bytes, q: CallerQuery) -> CallerHistory:
    """Every earlier case of this phone in the district (merged ones too: each was a call), and
    those within the window. One indexed read (the repeat look-up's index leads with the hash)."""
    received = utc(q.received_at)
    assert received is not None
    district = C.district_code == q.district_code if q.district_code else C.district == (q.district or "")
    in_window = func.coalesce(func.sum(case((C.received_at >= received - CALLER_WINDOW, 1), else_=0)), 0)
    query = select(func.count(), in_window).where(
        C.complainant_hash == phone_hash(q.phone, phone_key),
        district,
        C.case_id != q.case_id,
        C.received_at < received,
    )
    with engine.connect() as conn:
        total, within = conn.execute(query).one()
    return CallerHistory(first=not total, previous=int(within))
