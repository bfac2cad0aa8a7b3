"""What every console page shares: the router, the templates and their filters, the page's
language, and answering with a page (with the console's security headers)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from gateway.console.text import Words, choose
from sla import BUSINESS_TZ

HERE = Path(__file__).parent
router = APIRouter(prefix="/console", include_in_schema=False)
templates = Jinja2Templates(directory=str(HERE / "templates"))
CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"


class Shown(Exception):
    """Answer with this page (or redirect) instead: raised by a dependency, as the login page for a
    visitor without a session, or "not found" for an identity the console is not for."""

    def __init__(self, response: Response) -> None:
        super().__init__("shown instead")
        self.response = response


def local(value: Any) -> Any:
    """A moment as Beijing time reads it (2026-11-25 14:05); anything else as it is."""
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M")
    return value


def plain(value: Any) -> str:
    """An event's detail as a person reads it: moments in Beijing time, mappings and lists flat."""
    if isinstance(value, dict):
        return "，".join(f"{k}: {plain(v)}" for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return "；".join(plain(v) for v in value)
    return str(local(value))


templates.env.filters["local"] = local
templates.env.filters["plain"] = plain


def words_for(request: Request) -> Words:
    return Words(
        choose(
            request.query_params.get("lang"),
            request.cookies.get("console_lang"),
            request.headers.get("accept-language"),
        )
    )


def render(request: Request, name: str, words: Words, status: int = 200, **context: Any) -> HTMLResponse:
    context |= {"t": words, "lang": words.lang, "path": request.url.path, "query": dict(request.query_params)}
    response = templates.TemplateResponse(request, name, context, status_code=status)
    if request.query_params.get("lang") in ("zh", "en"):  # remember the choice
        response.set_cookie("console_lang", words.lang, max_age=365 * 86400, samesite="strict", path="/console")
    response.headers["Cache-Control"] = "no-store"  # pages carry personal data and live numbers
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def not_found(request: Request, words: Words | None = None) -> HTMLResponse:
    return render(request, "error.html", words or words_for(request), 404, title="not_found", text="not_found_text")


def secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
