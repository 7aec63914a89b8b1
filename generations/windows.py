"""Fixed-window counters in the cache: the API's rate limit per token or member,
and the share pages' failed-lookup limit per address, count the same way.

A window is ``seconds`` long and aligned to the epoch, so every web process
agrees on where it starts; its counter expires when it ends.
"""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache


def window(prefix: str, who: str, seconds: int) -> tuple[str, int]:
    """The cache key of ``who``'s current window and the seconds it has left
    (1 to ``seconds``). ``who`` is hashed: an address or a name never becomes
    part of a key in the clear."""
    now = int(time.time())
    digest = hashlib.sha256(who.encode()).hexdigest()[:32]
    return f"{prefix}:{now // seconds}:{digest}", seconds - now % seconds


def count(prefix: str, who: str, seconds: int) -> tuple[int, int]:
    """Count one event for ``who`` in the current window: (events so far in it,
    seconds it has left)."""
    key, left = window(prefix, who, seconds)
    cache.add(key, 0, timeout=left + 1)
    try:
        total = cache.incr(key)
    except ValueError:  # expired between add and incr: a new window began
        cache.set(key, 1, timeout=left + 1)
        return 1, left
    # Some backends reset the expiry on incr; the window's end is what counts.
    cache.touch(key, timeout=left + 1)
    return int(total), left


def counted(prefix: str, who: str, seconds: int) -> tuple[int, int]:
    """The events counted for ``who`` in the current window, and its seconds left."""
    key, left = window(prefix, who, seconds)
    return int(cache.get(key, 0)), left
