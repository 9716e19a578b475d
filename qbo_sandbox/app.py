"""The sandbox as one Starlette application: control API, OAuth token endpoint, QBO API."""

from __future__ import annotations

from starlette.applications import Starlette

from qbo_sandbox.api import api_routes
from qbo_sandbox.control import control_routes
from qbo_sandbox.oauth import TokenStore, oauth_routes
from qbo_sandbox.realms import RealmRegistry
from qbo_sandbox.state import Sandbox

DEFAULT_ACCESS_TOKEN_TTL = 3600


def create_app(access_token_ttl: int = DEFAULT_ACCESS_TOKEN_TTL) -> Starlette:
    """A fresh sandbox with no companies; state lives in memory for the app's lifetime."""
    sandbox = Sandbox(realms=RealmRegistry(), tokens=TokenStore(access_token_ttl))
    routes = [*control_routes(sandbox), *oauth_routes(sandbox.tokens), *api_routes(sandbox)]
    return Starlette(routes=routes)
