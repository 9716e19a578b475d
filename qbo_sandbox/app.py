"""The sandbox as one ASGI application: control API, OAuth endpoints, QBO API."""

from __future__ import annotations

from starlette.applications import Starlette

from qbo_sandbox.api import api_routes
from qbo_sandbox.control import control_routes
from qbo_sandbox.injection import DropConnectionMiddleware, FaultInjector
from qbo_sandbox.limits import QBO_LIMITS, Limits
from qbo_sandbox.oauth import TokenStore, oauth_routes
from qbo_sandbox.realms import RealmRegistry
from qbo_sandbox.state import Sandbox

DEFAULT_ACCESS_TOKEN_TTL = 3600


def create_app(
    access_token_ttl: int = DEFAULT_ACCESS_TOKEN_TTL,
    limits: bool = False,
    seed: int | None = None,
    log_bodies: bool = False,
) -> DropConnectionMiddleware:
    """A fresh sandbox with no companies; state lives in memory for the app's lifetime.

    `limits` gives every company QBO's request limits (500/minute, 10/second, 10 concurrent,
    40 batch calls/minute) unless the control API sets others for it. `seed` makes faults added
    without a seed replayable. `log_bodies` keeps every call's request and reply bodies in the
    request log (for benchmarks that replay calls; memory grows with them).
    """
    sandbox = Sandbox(
        realms=RealmRegistry(),
        tokens=TokenStore(access_token_ttl),
        limits=Limits(QBO_LIMITS if limits else None),
        faults=FaultInjector(seed=seed),
        log_bodies=log_bodies,
    )
    routes = [*control_routes(sandbox), *oauth_routes(sandbox), *api_routes(sandbox)]
    # Outermost, so it sees the server's own `receive` (see injection.DropConnection).
    return DropConnectionMiddleware(Starlette(routes=routes))
