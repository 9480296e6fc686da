"""Building a digest for one subscription: the period's trending papers (or those matching
its keywords), never a paper it was already sent."""

from __future__ import annotations

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


def build_digest(
    db: Database, config: Config, sub: Subscription, due: datetime, preview: bool = False
) -> Digest:
    """The digest `sub` gets for the period due at `due`."""
    window = "week" if sub.frequency == "weekly" else "day"
    sent = sent_paper_ids(db, sub.id)
    if sub.keywords:
        candidates = trending(db, due, window, limit=CANDIDATES, exclude=sent)
        matching = filter_matching(db, sub.keywords, [p["id"] for p in candidates])
        papers = [p for p in candidates if p["id"] in matching][: config.digest_size]
    else:
        papers = trending(db, due, window, limit=config.digest_size, exclude=sent)
    note = preview or config.empty_digest == "note"
    message = views.digest_message(papers, heading(sub, due), sub.id, note_if_empty=note)
    return Digest(message, [p["id"] for p in papers])
