"""The read model's database: its engine (SQLite's pragmas, PostgreSQL's session), each
dialect's upsert, and what an earlier version's tables gain (columns, indexes, counts)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Table, and_, event, func, not_, select
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import SQLModel, create_engine

from readmodel.tables import CASES, MILESTONES, moved_elsewhere


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # A fresh data directory is normal (first run, a test's tmp dir): SQLite makes the file, not the folder.
        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    engine = create_engine(url, pool_pre_ping=True)

    @event.listens_for(engine, "connect")
    def _no_jit(conn, _record) -> None:
        # The console's and the board's queries are many and short: compiling them cost more than
        # it saved (bench/city.py: 230 ms of a 900 ms board query at a million cases). A SET, not
        # a startup option, which connection poolers such as PgBouncer refuse.
        cur = conn.cursor()
        cur.execute("SET jit = off")
        cur.close()
        conn.commit()  # a SET in a transaction rolled back would be undone

    return engine


@cache
def shared_engine(url: str) -> Engine:
    """One engine per database for the edge's reads outside a ReadModel (the suggested unit's
    models, evidence's uploads): made once per process, pooled, shared."""
    return make_engine(url)


def insert_for(engine: Engine, table: Table) -> Any:
    """INSERT with ON CONFLICT, in the dialect at hand (SQLite and PostgreSQL both have it)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)(table)


def add_missing_columns(engine: Engine) -> None:
    """Tables made by an earlier version gain the columns and indexes added since (create_all
    adds none to a table that exists)."""
    from sqlalchemy import inspect, text

    inspector = inspect(engine)
    added: set[str] = set()
    with engine.begin() as conn:
        for table in SQLModel.metadata.sorted_tables:
            have = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in have:
                    continue
                added.add(f"{table.name}.{column.name}")
                kind = column.type.compile(dialect=engine.dialect)
                default = (
                    getattr(column.default, "arg", None)
                    if column.default is not None and column.default.is_scalar
                    else None
                )
                literal = (
                    "" if default is None else f" DEFAULT {int(default) if isinstance(default, bool) else default}"
                )
                if engine.dialect.name == "postgresql" and isinstance(default, bool):
                    literal = f" DEFAULT {str(default).lower()}"
                conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}{literal}'))
        if "cases.met_milestones" in added or "cases.late_milestones" in added:
            count_milestones(conn)
    for table in SQLModel.metadata.sorted_tables:  # and the indexes added since
        for index in table.indexes:
            index.create(engine, checkfirst=True)


def count_milestones(conn: Connection) -> None:
    """Each case's met and already-late milestones, counted from its milestone rows: for rows
    written before the case row kept them (what case_columns counts from the state)."""
    m, moved = MILESTONES.c, moved_elsewhere()

    def count(condition: Any) -> Any:
        return select(func.count()).where(m.case_id == CASES.c.case_id, condition).scalar_subquery()

    conn.execute(
        CASES.update().values(
            met_milestones=count(and_(m.done_at.is_not(None), not_(m.breached), not_(moved))),
            late_milestones=count(and_(m.breached, not_(moved))),
        )
    )
