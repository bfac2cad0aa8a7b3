"""The supervisors' console (指挥中心) in the browser: server-rendered pages under /console.

web.py (templates, the page's language), viewer.py (who is looking: a dependency), login.py,
reports.py (overview, overdue, departments, trends, hotspots), case.py (the case and a
supervisor's actions), simulate.py (the what-if), audits.py (the audits' reports); each registers its routes on web.router."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from gateway.console import audits, case, reports, simulate  # noqa: F401  (each registers its pages on the router)
from gateway.console.login import LoginGuard
from gateway.console.session import Sessions, secret_from
from gateway.console.web import Shown, router
from runtime import settings

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI, config: settings.Settings) -> None:
    """The console's routes, its vendored files and its session key, on the gateway's app."""
    app.state.console_sessions = Sessions(secret_from(config.console_secret, config.data_dir))
    app.state.console_logins = LoginGuard()
    app.add_exception_handler(Shown, _shown)  # type: ignore[arg-type]
    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")


async def _shown(request: Request, shown: Shown) -> Response:
    return shown.response


def shut_down(app: FastAPI) -> None:
    """A what-if still running ends with the gateway."""
    job = getattr(app.state, "console_simulation", None)
    if isinstance(job, simulate.Job):
        job.stop()


__all__ = ["install"]
