"""Per-request dependencies for listeners: the config and a per-thread database handle."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

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
