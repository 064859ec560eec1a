"""Identifiers shaped like LINE's.

- User IDs are ``U`` + 32 lowercase hex digits and group IDs ``C`` + 32 hex
  (webhook.yml: ``destination`` matches ``^U[0-9a-f]{32}$``).
- ``webhookEventId`` is a ULID (webhook.yml: "a string in ULID format"):
  26 characters of Crockford base32 encoding a 48-bit millisecond timestamp
  followed by 80 random bits, so that sorting the strings sorts by time.
- Reply tokens are 32 random hex digits (as in the SDK's memberJoined sample).
"""

from __future__ import annotations

import base64
import random
import re
import secrets
import threading
import uuid
from collections.abc import Callable

CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ULID_RE = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

_RANDOM_BITS = 80
_RANDOM_MAX = (1 << _RANDOM_BITS) - 1
_TIME_MAX = (1 << 48) - 1


def new_user_id() -> str:
    """Return a fresh LINE user ID: ``U`` + 32 hex digits."""
    return "U" + secrets.token_hex(16)


def new_group_id() -> str:
    """Return a fresh LINE group ID: ``C`` + 32 hex digits."""
    return "C" + secrets.token_hex(16)


def new_reply_token() -> str:
    """Return a fresh reply token: 32 random hex digits."""
    return secrets.token_hex(16)


# Request ids and quote tokens only need to be unique, not secret: drawn
# from a PRNG instead of os.urandom, a system call on every API request.
_unique = random.Random()


def new_quote_token() -> str:
    """Return an opaque quote token (LINE's are long URL-safe strings)."""
    return base64.urlsafe_b64encode(_unique.getrandbits(384).to_bytes(48, "big")).decode("ascii")


def new_request_id() -> str:
    """Return a value for the ``x-line-request-id`` response header (a UUID)."""
    return str(uuid.UUID(int=_unique.getrandbits(128), version=4))


def is_uuid(value: str) -> bool:
    """True when ``value`` is a hyphenated hex UUID, as X-Line-Retry-Key must be."""
    return bool(UUID_RE.match(value))


def encode_ulid(timestamp_ms: int, randomness: int) -> str:
    """Encode a 48-bit timestamp and 80 random bits as a 26-char ULID."""
    if not 0 <= timestamp_ms <= _TIME_MAX:
        raise ValueError("ULID timestamp out of range")
    if not 0 <= randomness <= _RANDOM_MAX:
        raise ValueError("ULID randomness out of range")
    value = (timestamp_ms << _RANDOM_BITS) | randomness
    chars = []
    for _ in range(26):
        chars.append(CROCKFORD_ALPHABET[value & 0x1F])
        value >>= 5
    return "".join(reversed(chars))


def ulid_timestamp_ms(ulid: str) -> int:
    """Return the millisecond timestamp a ULID encodes."""
    value = 0
    for char in ulid.upper():
        value = (value << 5) | CROCKFORD_ALPHABET.index(char)
    return value >> _RANDOM_BITS


class UlidGenerator:
    """Monotonic ULID factory (thread-safe).

    Within one millisecond the random part is incremented instead of redrawn
    (the ULID spec's "monotonic" mode), so ids stay strictly increasing even
    when a test clock stands still. A clock that steps backwards is ignored
    for the same reason.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_random = 0

    def new(self) -> str:
        with self._lock:
            now_ms = int(self._clock() * 1000)
            if now_ms > self._last_ms:
                self._last_ms = now_ms
                self._last_random = secrets.randbits(_RANDOM_BITS)
            elif self._last_random < _RANDOM_MAX:
                self._last_random += 1
            else:
                # 2**80 ids in one millisecond: borrow the next millisecond.
                self._last_ms += 1
                self._last_random = secrets.randbits(_RANDOM_BITS)
            return encode_ulid(self._last_ms, self._last_random)
