"""The supervisors' console (指挥中心) in the browser: server-rendered pages under /console."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from gateway.console import simulate
from gateway.console.pages import LoginGuard, router
from gateway.console.session import Sessions, secret_from
from runtime import settings

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI, config: settings.Settings) -> None:
    """The console's routes, its vendored files and its session key, on the gateway's app."""
    app.state.console_sessions = Sessions(secret_from(config.console_secret, config.data_dir))
    app.state.console_logins = LoginGuard()
    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")


def shut_down(app: FastAPI) -> None:
    """A what-if still running ends with the gateway."""
    job = getattr(app.state, "console_simulation", None)
    if isinstance(job, simulate.Job):
        job.stop()


__all__ = ["install"]
