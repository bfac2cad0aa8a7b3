"""Who is looking: a FastAPI dependency every console page takes.

Who may see a page: an identity with a console password and role supervisor or auditor. Without
a session, the login page; with one of any other role, "not found", never a page. Every request
re-reads the identity, so a revoked identity ends its sessions at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from gateway.auth import gateway
from gateway.console.session import COOKIE, Session, Sessions, same_token
from gateway.console.text import Words
from gateway.console.web import Shown, not_found, render, words_for
from models import Role
from models.scope import Seen, seen_by
from starter import jurisdictions
from starter.identities import Identity

CONSOLE_ROLES = (Role.supervisor, Role.auditor)


@dataclass
class Viewer:
    identity: Identity
    session: Session
    words: Words

    @property
    def may_act(self) -> bool:
        return self.identity.role == Role.supervisor

    @property
    def seen(self) -> Seen:
        """Its share of the city (models/scope.py): every page counts and lists only that."""
        return seen_by(self.identity.actor, jurisdictions.tree())


def sessions(request: Request) -> Sessions:
    return request.app.state.console_sessions  # type: ignore[no-any-return]


async def viewer(request: Request) -> Viewer:
    """The one looking; else Shown: the login page (no session), or not found (not for them)."""
    words = words_for(request)
    session = sessions(request).read(request.cookies.get(COOKIE))
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise Shown(RedirectResponse(f"/console/login?{urlencode({'next': target})}", status_code=303))
    identity = gateway(request).identities.identities().get(session.identity)
    if identity is None or not identity.active or identity.role not in CONSOLE_ROLES or identity.password is None:
        raise Shown(not_found(request, words))
    return Viewer(identity, session, words)


async def sent_form(request: Request, v: Viewer = Depends(viewer)) -> FormData:
    """The form the viewer sent, if its CSRF token is the session's; else Shown: the error page."""
    form = await request.form()
    if not same_token(str(form.get("csrf") or ""), v.session.csrf):
        raise Shown(render(request, "error.html", v.words, 400, title="csrf_failed", text="csrf_failed", viewer=v))
    return form
