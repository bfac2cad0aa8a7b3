"""What every console page shares: the router, the templates and their filters, the page's
language, and answering with a page (with the console's security headers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from gateway.console.text import Words, choose
from models.sentences import moment

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


templates.env.filters["local"] = moment


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
