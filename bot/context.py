"""Per-request dependencies for listeners: the config and a per-thread database handle."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from slack_sdk.oauth.installation_store import InstallationStore
from sqlite_utils import Database

from bot.ratelimit import SlidingWindow
from storage.config import Config
from storage.db import Opener

# (database, arXiv id) → the stored paper, fetched and stored first when need be, or None.
Lookup = Callable[[Database, str], dict | None]
# Threads that answer slash commands after their ack. Few on purpose: a burst of fifty
# searches on fifty threads would hold the interpreter lock the acks of the next requests
# wait for; a handful keeps every core busy (searches run outside the lock) and lets the
# acks through.
REPLY_THREADS = max(2, os.cpu_count() or 2)


# The longest a reply waits for the acks in flight: a burst's acks take tens of ms, and a
# reply may come for 30 minutes (response_url), but Slack takes an ack within 3 s only.
ACKS_FIRST_SECONDS = 0.5
# A reply queued longer than this no longer waits: under steady traffic (acks always in
# flight) waiting replies would back up without end; past this they run at full speed.
REPLY_BACKLOG_SECONDS = 2.0


class Acks:
    """The requests being acknowledged: replies wait until there are none (for at most
    ACKS_FIRST_SECONDS), so a burst's searches never hold the interpreter lock that the
    burst's later acks wait for."""

    def __init__(self) -> None:
        self._pending = 0
        self._changed = threading.Condition()

    @contextmanager
    def acking(self) -> Iterator[None]:
        """Counts a request as being acknowledged for the block."""
        with self._changed:
            self._pending += 1
        try:
            yield
        finally:
            with self._changed:
                self._pending -= 1
                if not self._pending:
                    self._changed.notify_all()

    def wait(self, queued: float) -> None:
        """Until no request is being acknowledged, for at most ACKS_FIRST_SECONDS; not at
        all for a reply queued (time.monotonic()) more than REPLY_BACKLOG_SECONDS ago."""
        if time.monotonic() - queued > REPLY_BACKLOG_SECONDS:
            return
        with self._changed:
            self._changed.wait_for(lambda: not self._pending, ACKS_FIRST_SECONDS)


class Deps:
    """Holds the config and gives each serving thread its own SQLite connection."""

    def __init__(
        self,
        config: Config,
        installation_store: InstallationStore | None = None,
        lookup: Lookup | None = None,
    ):
        self.config = config
        # Fetches a paper the store lacks by arXiv id (jobs.arxiv_lookup, wired in by the
        # entry points: bot never imports jobs); None: unknown links are not unfurled.
        self.lookup = lookup
        # OAuth mode: where the workspaces' bot tokens live (deleted on uninstall).
        self.installation_store = installation_store
        self.limiter = SlidingWindow(config.commands_per_minute, 60.0)
        self._opener = Opener(config.db_path)
        self.replies = ThreadPoolExecutor(REPLY_THREADS, thread_name_prefix="reply")
        self.acks = Acks()

    @property
    def db(self) -> Database:
        """This thread's connection (SQLite connections are not shared across threads);
        DatabaseError when the file is unusable or was deleted while the bot runs."""
        return self._opener.get()


def deps_middleware(deps: Deps):
    """Bolt middleware that puts `deps` into every listener's context."""

    def middleware(context, next):  # noqa: A002 - Bolt's argument name
        context["deps"] = deps
        return next()

    return middleware
