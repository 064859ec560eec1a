"""Run the emulator on its own: ``python -m emulator --webhook-url http://127.0.0.1:5000/callback``.

``--latency 0.1`` holds every Messaging API answer back 100 ms (as a far
LINE would); ``--rate-limit 2000`` is LINE's per-endpoint limit.

The channel secret and access token come from ``LINE_CHANNEL_SECRET`` and
``LINE_CHANNEL_ACCESS_TOKEN`` (the values the bot is configured with), so the
bot authenticates and verifies signatures exactly as it does with LINE.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import threading

from emulator.platform import LinePlatform
from emulator.server import EmulatorServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--webhook-url", default=os.environ.get("EMULATOR_WEBHOOK_URL"))
    parser.add_argument("--state", default=os.environ.get("EMULATOR_STATE_PATH"))
    parser.add_argument("--monthly-limit", type=int, default=None)
    parser.add_argument("--rate-limit", type=float, default=None, help="requests/s per endpoint")
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds every Messaging API answer is held back"
    )
    parser.add_argument("--member-ids-api", action="store_true")
    parser.add_argument("--cors-origin", default=None)
    args = parser.parse_args(argv)

    secret = os.environ.get("LINE_CHANNEL_SECRET")
    token = os.environ.get("LINE_CHANNEL_ACCESS_TOKEN")
    if not secret or not token:
        parser.error("set LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN")

    platform = LinePlatform(
        secret,
        token,
        webhook_url=args.webhook_url,
        state_path=args.state,
        monthly_limit=args.monthly_limit,
        rate_limit_per_second=args.rate_limit,
        member_ids_api=args.member_ids_api,
        latency=args.latency,
    )
    server = EmulatorServer(platform, args.host, args.port, cors_origin=args.cors_origin, access_log=True)
    with server:
        print(f"LINE emulator on {server.url} -> webhooks to {args.webhook_url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
