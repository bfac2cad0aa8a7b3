"""Logging in and out of the console: a password checked slowly, five failures lock for a while."""

from __future__ import annotations

import asyncio
import secrets
import time

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from gateway.auth import gateway
from gateway.console.session import COOKIE, LOGIN_COOKIE, same_token
from gateway.console.text import Words
from gateway.console.viewer import CONSOLE_ROLES, sent_form, sessions
from gateway.console.web import render, router, secure, words_for
from runtime import logs

log = logs.get("console")


class LoginGuard:
    """After 5 failed logins for an identity or from an address in 15 minutes, refuse for the rest."""

    LIMIT, WINDOW = 5, 15 * 60

    def __init__(self) -> None:
        self._failures: dict[str, list[float]] = {}

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        return any(len([t for t in self._failures.get(k, []) if now - t < self.WINDOW]) >= self.LIMIT for k in keys)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        for k in keys:
            self._failures[k] = [t for t in self._failures.get(k, []) if now - t < self.WINDOW] + [now]

    def succeeded(self, identity: str) -> None:
        self._failures.pop(f"id:{identity}", None)


def _login_page(request: Request, words: Words, status: int = 200, error: str | None = None) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    nxt = request.query_params.get("next") or ""
    response = render(request, "login.html", words, status, csrf=token, error=error, next=nxt)
    response.set_cookie(
        LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=secure(request), path="/console/login"
    )
    return response


@router.get("/login")
async def login_form(request: Request) -> Response:
    return _login_page(request, words_for(request))


@router.post("/login")
async def login(request: Request) -> Response:
    words = words_for(request)
    form = await request.form()
    if not same_token(str(form.get("csrf") or ""), request.cookies.get(LOGIN_COOKIE)):
        return _login_page(request, words, 400, "csrf_failed")
    who, password = str(form.get("identity") or "")[:100], str(form.get("password") or "")[:1000]
    address = request.client.host if request.client else "-"
    guard: LoginGuard = request.app.state.console_logins
    if guard.blocked(f"id:{who}", f"ip:{address}"):
        return _login_page(request, words, 429, "login_throttled")
    g = gateway(request)
    identity = await asyncio.to_thread(g.identities.by_password, who, password) if who and password else None
    if identity is None or identity.role not in CONSOLE_ROLES:
        guard.failed(f"id:{who}", f"ip:{address}")
        log.info("console login refused", identity=who, address=address)
        return _login_page(request, words, 401, "login_failed")
    guard.succeeded(who)
    cookie, _ = sessions(request).issue(identity.id)
    nxt = str(form.get("next") or "")
    target = nxt if nxt.startswith("/console/") and not nxt.startswith("/console/login") else "/console/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE, cookie, httponly=True, samesite="strict", secure=secure(request), path="/", max_age=8 * 3600
    )
    response.delete_cookie(LOGIN_COOKIE, path="/console/login")
    log.info("console login", identity=identity.id, role=identity.role.value)
    return response


@router.post("/logout")
async def logout(form: FormData = Depends(sent_form)) -> Response:
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
