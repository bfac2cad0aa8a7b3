"""A throwaway PostgreSQL server for the tests, from the machine's own binaries (Debian's
`postgresql` package; `.ci/run` installs it). COMPLAINTS_TEST_PG_URL points at another instead."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from sqlmodel import SQLModel

from readmodel.schema import make_engine
from tests.support.processes import free_port


def _binary(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


class PostgresServer:
    """A PostgreSQL cluster in a temporary folder, which a test may stop and start again."""

    def __init__(self) -> None:
        initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
        if not initdb or not pg_ctl:
            raise FileNotFoundError("PostgreSQL's initdb and pg_ctl")
        self.pg_ctl: str = pg_ctl
        self.folder = tempfile.mkdtemp(prefix="complaints-pg-")
        # PostgreSQL refuses to run as root: run it as the postgres user the package created.
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.data, self.port = os.path.join(self.folder, "data"), free_port()
        self._run(initdb, "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *cmd: str) -> None:
        subprocess.run([*self.as_user, *cmd], check=True, capture_output=True, timeout=120)

    def start(self, *settings: str) -> None:
        """Start it; `settings`: more -c name=value of the server's (bench/city.py gives it memory)."""
        self._run(
            self.pg_ctl,
            "-D",
            self.data,
            "-w",
            "-l",
            os.path.join(self.folder, "log"),
            "-o",
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
            + "".join(f" -c {setting}" for setting in settings),
            "start",
        )

    def stop(self) -> None:
        self._run(self.pg_ctl, "-D", self.data, "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def postgres_server(*settings: str) -> Iterator[PostgresServer | None]:
    try:
        server = PostgresServer()
    except FileNotFoundError:
        yield None
        return
    server.start(*settings)
    try:
        yield server
    finally:
        try:
            server.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        server.remove()


@contextmanager
def postgres_url() -> Iterator[str | None]:
    """A SQLAlchemy URL of a running PostgreSQL, or None when none can be had here."""
    if os.environ.get("COMPLAINTS_TEST_PG_URL"):
        yield os.environ["COMPLAINTS_TEST_PG_URL"]
        return
    with postgres_server() as server:
        yield server.url if server else None


def fresh_postgres(url: str) -> str:
    SQLModel.metadata.drop_all(make_engine(url))
    return url
