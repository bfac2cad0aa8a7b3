"""Who is calling: the identity behind the bearer key, its role, and its share of the rate limit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from temporalio.client import Client

from models import Role
from readmodel import Links, ReadModel
from runtime import settings
from runtime.blobs import Blobs
from runtime.http import ApiProblem, RateLimiter
from starter.identities import Identity, IdentityStore


@dataclass
class Gateway:
    """What every request uses, made once per process in the app's lifespan."""

    config: settings.Settings
    client: Client
    read_model: ReadModel
    identities: IdentityStore
    limiter: RateLimiter
    links: Links  # the complainants' links (/s/), whose keys also sign evidence addresses
    evidence: Blobs  # the evidence store (runtime/blobs.py)


def gateway(request: Request) -> Gateway:
    return request.app.state.gateway  # type: ignore[no-any-return]


_bearer = HTTPBearer(auto_error=False, description="An API key from `python -m starter identity add`")


async def caller(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Identity:
    """The identity of the request's bearer key (401 without a valid one; 429 over its limit)."""
    g = gateway(request)
    return g.identities.admit(credentials.credentials if credentials else None, g.limiter)


def public(request: Request) -> None:
    """Endpoints without a key share a limit per client address."""
    gateway(request).limiter.admit(f"ip:{request.client.host if request.client else '-'}")


def role_in(*roles: Role) -> Callable[..., Awaitable[Identity]]:
    """A dependency: the caller, if its role is one of these (else 403)."""

    async def check(identity: Identity = Depends(caller)) -> Identity:
        if identity.role not in roles:
            raise ApiProblem(
                403, f"{identity.role.value} {identity.id} may not; only {' or '.join(r.value for r in roles)} may"
            )
        return identity

    return check
