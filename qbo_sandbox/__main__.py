"""`python -m qbo_sandbox [--host H] [--port N] [--access-token-ttl SECONDS] [--limits] [--seed N]
[--log-bodies]`."""

from __future__ import annotations

import argparse
import os
import socket
from collections.abc import Sequence

import uvicorn

from qbo_sandbox.app import DEFAULT_ACCESS_TOKEN_TTL, create_app


class _AnnouncingServer(uvicorn.Server):
    """Prints one line once the socket accepts connections, for scripts waiting on it."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            print(
                f"QBO sandbox listening on http://{self.config.host}:{self.config.port}", flush=True
            )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(prog="python -m qbo_sandbox", description=__doc__)
    parser.add_argument("--host", default=env.get("QBO_SANDBOX_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env.get("QBO_SANDBOX_PORT", "8765")))
    parser.add_argument(
        "--access-token-ttl",
        type=int,
        default=int(env.get("QBO_SANDBOX_ACCESS_TOKEN_TTL", str(DEFAULT_ACCESS_TOKEN_TTL))),
        metavar="SECONDS",
        help="lifetime of issued access tokens (default 3600)",
    )
    parser.add_argument(
        "--limits",
        action="store_true",
        default=env.get("QBO_SANDBOX_LIMITS", "").strip().lower() in ("1", "true", "yes", "on"),
        help="give every company QBO's request limits: 500/minute, 10/second, 10 concurrent, "
        "40 batch calls/minute (default off)",
    )
    seed = env.get("QBO_SANDBOX_SEED", "").strip()
    parser.add_argument(
        "--seed",
        type=int,
        default=int(seed) if seed else None,
        help="seed the `fraction` draws of faults added without a seed of their own (replayable)",
    )
    parser.add_argument(
        "--log-bodies",
        action="store_true",
        help="keep each API call's request and reply bodies in the request log (benchmarks)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    config = uvicorn.Config(
        create_app(
            args.access_token_ttl, limits=args.limits, seed=args.seed, log_bodies=args.log_bodies
        ),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    _AnnouncingServer(config).run()


if __name__ == "__main__":
    main()
