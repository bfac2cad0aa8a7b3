"""Who is calling: the identity behind the bearer key, its role, and its share of the rate limit."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from temporalio.client import Client

import settings
from gateway.identities import Identity, IdentityStore
from gateway.problems import ApiProblem
from models import Role
from readmodel import ReadModel


class RateLimiter:
    """A token bucket per caller: `rate` requests a second on average, `burst` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, max(burst, 1)
        self._buckets: dict[str, tuple[float, float]] = {}  # who -> (tokens, when counted)

    def wait(self, who: str) -> float:
        """0 when `who` may go now (and takes a token), else the seconds until it may."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        tokens, then = self._buckets.get(who, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.rate)
        if tokens < 1:
            self._buckets[who] = (tokens, now)
            return (1 - tokens) / self.rate
        self._buckets[who] = (tokens - 1, now)
        if len(self._buckets) > 10_000:  # forget the full buckets of callers long quiet
            self._buckets = {k: v for k, v in self._buckets.items() if v[0] + (now - v[1]) * self.rate < self.burst}
        return 0.0


@dataclass
class Gateway:
    """What every request uses, made once per process in the app's lifespan."""

    config: settings.Settings
    client: Client
    read_model: ReadModel
    identities: IdentityStore
    limiter: RateLimiter


def gateway(request: Request) -> Gateway:
    return request.app.state.gateway  # type: ignore[no-any-return]


_bearer = HTTPBearer(auto_error=False, description="An API key from `python -m starter identity add`")


def throttle(g: Gateway, who: str) -> None:
    wait = g.limiter.wait(who)
    if wait > 0:
        raise ApiProblem(
            429,
            f"rate limit: {g.limiter.rate:g} requests a second; try again in {wait:.1f} s",
            headers={"Retry-After": str(max(1, round(wait + 0.5)))},
        )


def identify(g: Gateway, key: str | None) -> Identity:
    if not key:
        raise ApiProblem(401, "send an API key: Authorization: Bearer <key>", headers={"WWW-Authenticate": "Bearer"})
    identity = g.identities.by_key(key)
    if identity is None:
        raise ApiProblem(401, "the API key is unknown or revoked", headers={"WWW-Authenticate": "Bearer"})
    throttle(g, f"id:{identity.id}")
    return identity


async def caller(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Identity:
    """The identity of the request's bearer key (401 without a valid one; 429 over its limit)."""
    return identify(gateway(request), credentials.credentials if credentials else None)


def public(request: Request) -> None:
    """Endpoints without a key share a limit per client address."""
    throttle(gateway(request), f"ip:{request.client.host if request.client else '-'}")


def role_in(*roles: Role) -> Callable[..., Awaitable[Identity]]:
    """A dependency: the caller, if its role is one of these (else 403)."""

    async def check(identity: Identity = Depends(caller)) -> Identity:
        if identity.role not in roles:
            raise ApiProblem(
                403, f"{identity.role.value} {identity.id} may not; only {' or '.join(r.value for r in roles)} may"
            )
        return identity

    return check
