"""A local LINE Platform emulator: one emulator, two uses.

1. The fake LINE Platform of the test suite. The bot reaches it through the
   real line-bot-sdk with ``Configuration(host=server.url)``.
2. The LINE side of the local demo/simulator (``make run`` without a LINE
   account).

The bot must not be able to tell it is not LINE, so the emulator speaks LINE's
wire formats (webhook bodies and signatures, API status codes and error
bodies) and enforces LINE's rules (reply-token lifetime, retry keys, message
cost and monthly limit, rate limits, message-object limits, who may be
pushed to in a 1:1 chat). It can also play LINE far away and busy: a
``latency`` per API call, and HTTP/1.1 keep-alive so it takes LINE's 2,000
requests/s (bench/emulator_capacity.py). Benchmarks read what happened from
``reply_token_log()`` and ``push_log()`` (``/_sim/reply-tokens``,
``/_sim/pushes``).

Modules:

- ``platform``: ``LinePlatform``, all state and rules (no Flask).
- ``limits``: request-body validation against LINE's message limits.
- ``ids``: LINE-shaped identifiers (ULID, user/group ids, tokens).
- ``api``: ``create_emulator_app(platform)``, the HTTP face (Flask).
- ``server``: ``EmulatorServer``, serves the app on 127.0.0.1 in a thread
  (HTTP/1.1 keep-alive; the Messaging API bypasses Flask).

The package reads no reference data at run time: every rule it needs is in here.
"""

from emulator.api import create_emulator_app
from emulator.platform import LinePlatform
from emulator.server import EmulatorServer

__all__ = ["EmulatorServer", "LinePlatform", "create_emulator_app"]
