"""Building a digest for one subscription: the period's trending papers (or those matching
its keywords), never a paper it was already sent."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime

from sqlite_utils import Database

from bot import views
from papers.config import Config
from papers.schedule import zone
from storage.deliveries import sent_paper_ids
from storage.search import filter_matching
from storage.subscriptions import Subscription
from storage.trending import trending

CANDIDATES = 200


@dataclass
class Digest:
    """The message to send (None: nothing to send) and the papers in it."""

    message: dict | None
    paper_ids: list[int] = field(default_factory=list)


def heading(sub: Subscription, due: datetime) -> str:
    """E.g. "Daily papers on “lora” · Tue, Mar 17"."""
    local = due.astimezone(zone(sub.tz))
    kind = "Weekly" if sub.frequency == "weekly" else "Daily"
    topic = f" on “{sub.keywords}”" if sub.keywords else ""
    return f"{kind} papers{topic} · {local.strftime('%a, %b %-d')}"


class TrendingCache:
    """Trending lists shared by all digests of one delivery run: at 09:00 thousands of
    digests draw on the same day's list, which is computed once instead of per digest."""

    def __init__(self) -> None:
        self._lists: dict[tuple[str, str], list[dict]] = {}
        self._lock = threading.Lock()

    def get(self, db: Database, due: datetime, window: str) -> list[dict]:
        """The top CANDIDATES papers of the window ending at `due`."""
        key = (window, due.date().isoformat())
        with self._lock:
            if key not in self._lists:
                self._lists[key] = trending(db, due, window, limit=CANDIDATES)
            return self._lists[key]


def build_digest(
    db: Database,
    config: Config,
    sub: Subscription,
    due: datetime,
    preview: bool = False,
    cache: TrendingCache | None = None,
) -> Digest:
    """The digest `sub` gets for the period due at `due`."""
    window = "week" if sub.frequency == "weekly" else "day"
    sent = sent_paper_ids(db, sub.id)
    candidates = [p for p in (cache or TrendingCache()).get(db, due, window) if p["id"] not in sent]
    if sub.keywords:
        matching = filter_matching(db, sub.keywords, [p["id"] for p in candidates])
        candidates = [p for p in candidates if p["id"] in matching]
    papers = candidates[: config.digest_size]
    note = preview or config.empty_digest == "note"
    message = views.digest_message(papers, heading(sub, due), sub.id, note_if_empty=note)
    return Digest(message, [p["id"] for p in papers])
