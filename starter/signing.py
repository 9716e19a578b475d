"""`X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` on POST /events."""

from __future__ import annotations

import hashlib
import hmac
import time

MAX_AGE_SECONDS = 300


class BadSignature(ValueError):
    pass


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def verify(secret: str, body: bytes, header: str | None, now: float | None = None) -> None:
    if not header:
        raise BadSignature("missing X-Signature header")
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError) as exc:
        raise BadSignature("malformed X-Signature header") from exc
    if abs((time.time() if now is None else now) - t) > MAX_AGE_SECONDS:
        raise BadSignature("X-Signature timestamp is older than 5 minutes")
    expected = sign(secret, body, t).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, given):
        raise BadSignature("X-Signature does not match the body")
