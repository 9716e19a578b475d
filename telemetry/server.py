"""A small HTTP server for processes without an API of their own (the worker): `/metrics` and
`/healthz`, answered from a thread so a busy event loop never delays a scrape."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from telemetry.runtime import METRICS_CONTENT_TYPE, Telemetry

log = logging.getLogger(__name__)


def parse_address(address: str) -> tuple[str, int]:
    """ "0.0.0.0:9464", ":9464" (every interface) or "9464" → (host, port)."""
    host, _, port = address.strip().rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"METRICS_ADDRESS must be host:port, not {address!r}") from None
    return host.strip("[]") or "0.0.0.0", number


def _handler(telemetry: Telemetry) -> type[BaseHTTPRequestHandler]:
    class MetricsHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path == "/metrics":
                self._answer(200, telemetry.render(), METRICS_CONTENT_TYPE)
            elif path == "/healthz":
                self._answer(200, b'{"status":"ok"}', "application/json")
            else:
                self._answer(404, b"not found: /metrics and /healthz are served here\n")

        def _answer(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # a scrape every few seconds is not news

    return MetricsHandler


@contextmanager
def metrics_server(telemetry: Telemetry, address: str) -> Iterator[tuple[str, int]]:
    """Serve `/metrics` and `/healthz` on `address` while the block runs; yields (host, port)
    bound (port 0 picks a free one)."""
    server = ThreadingHTTPServer(parse_address(address), _handler(telemetry))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    log.info("metrics on http://%s:%d/metrics", host, port)
    try:
        yield str(host), int(port)
    finally:
        server.shutdown()
        server.server_close()
