"""How our own clients (demo, bench, chaos, tests) reach the API: an httpx client that carries an
API key to one API's origin (redirects back to it included), never to the sandbox or elsewhere."""

from __future__ import annotations

from collections.abc import Sequence

import httpx


def carry_key(http: httpx.AsyncClient, api_urls: Sequence[str], key: str) -> httpx.AsyncClient:
    """Make `http` send `Authorization: Bearer <key>` to these APIs when a request has none."""
    origins = {_origin(httpx.URL(url)) for url in api_urls}

    async def add_key(request: httpx.Request) -> None:
        # A request hook: httpx runs it for every hop of a redirect too, unlike default headers,
        # which it drops on the way through Intuit's (the sandbox's) authorize page.
        if _origin(request.url) in origins and "authorization" not in request.headers:
            request.headers["Authorization"] = f"Bearer {key}"

    http.event_hooks["request"].append(add_key)
    return http


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port
