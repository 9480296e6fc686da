"""A per-user limit on slash commands, so one user (or a script) cannot flood the app."""

from __future__ import annotations

import threading
from collections import deque


class SlidingWindow:
    """At most `limit` events per key in any `window` seconds."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait_time(self, key: str, now: float) -> float:
        """0 and count the event if allowed; else the seconds until the next one is."""
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - self.window:
                events.popleft()
            if self.limit > 0 and len(events) >= self.limit:
                return events[0] + self.window - now
            events.append(now)
            return 0.0
