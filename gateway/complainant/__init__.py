"""The complainant's own page (回访评价、补充说明) at the link in their SMS: /s/{token}."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from gateway.complainant.pages import router

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/s/static", StaticFiles(directory=STATIC), name="complainant-static")


__all__ = ["install"]
