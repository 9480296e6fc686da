"""What `/papers ...` means, and the reply: plain functions that know nothing of Slack's
transport. The listener acks, then calls `handle` with lookups it supplies."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from rapidfuzz import fuzz, process
from sqlite_utils import Database

from bot import views
from bot.text import escape_entities, escape_mrkdwn
from storage import subscriptions as subs
from storage.config import Config
from storage.errors import NotFound, PapersError, SubscriptionError
from storage.schedule import WEEKDAYS, Frequency, Schedule, zone
from storage.search import SearchResult, search
from storage.subscriptions import Kind
from storage.trending import trending

SUBCOMMANDS = ("help", "trending", "subscribe", "list", "unsubscribe")
FREQUENCY_WORDS = {
    "daily": Frequency.DAILY,
    "weekdays": Frequency.WEEKDAYS,
    "weekly": Frequency.WEEKLY,
    "instant": Frequency.INSTANT,
    "now": Frequency.INSTANT,
    "alert": Frequency.INSTANT,
}
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$", re.IGNORECASE)


def parse_time(text: str) -> str:
    """ "9", "9:30", "09:30", "9am", "5:15pm" → "HH:MM"; raises SubscriptionError otherwise."""
    match = _TIME.match(text.strip())
    if not match:
        raise SubscriptionError(f"`{text}` is not a time; use 24-hour `HH:MM`, like `09:00`.")
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if half:
        if not 1 <= hour <= 12:
            raise SubscriptionError(f"`{text}` is not a time of day.")
        hour = hour % 12 + (12 if half.lower() == "pm" else 0)
    if hour > 23 or minute > 59:
        raise SubscriptionError(f"`{text}` is not a time of day.")
    return f"{hour:02d}:{minute:02d}"


@dataclass
class Invocation:
    """Who typed what, where."""

    team_id: str
    user_id: str
    channel_id: str
    channel_name: str
    text: str


@dataclass
class Lookups:
    """What the command needs from Slack, supplied by the listener."""

    user_tz: Callable[[str], str | None]
    bot_in_channel: Callable[[str], bool]
    is_admin: Callable[[str], bool] = lambda _user_id: False


@dataclass
class SubscribeRequest:
    """A parsed `subscribe` command."""

    channel: bool
    keywords: str
    frequency: str
    at_time: str
    tz: str | None
    weekday: int


def parse_subscribe(words: list[str]) -> SubscribeRequest:
    """`[channel] [keywords...] [daily|weekdays|weekly|instant] [at HH:MM [Area/City]] [on DAY]`."""
    channel = bool(words) and words[0].lower() == "channel"
    rest = words[1:] if channel else list(words)
    frequency, at_time, tz, weekday = Frequency.DAILY, "09:00", None, 0
    keywords: list[str] = []
    index = 0
    while index < len(rest):
        word, lower = rest[index], rest[index].lower()
        following = rest[index + 1] if index + 1 < len(rest) else None
        if lower in FREQUENCY_WORDS:
            frequency = FREQUENCY_WORDS[lower]
        elif lower == "at" and following:
            at_time = parse_time(following)
            index += 1
            if index + 1 < len(rest) and "/" in rest[index + 1]:
                zone(rest[index + 1])
                tz = rest[index + 1]
                index += 1
        elif lower == "on" and following and following.lower().rstrip("s") in WEEKDAYS:
            weekday = WEEKDAYS.index(following.lower().rstrip("s"))
            frequency = Frequency.WEEKLY
            index += 1
        else:
            keywords.append(word)
        index += 1
    text = " ".join(keywords)
    if channel and frequency == Frequency.INSTANT:
        raise SubscriptionError(
            "Channel subscriptions are daily or weekly digests; instant alerts come by DM."
        )
    if not channel and not text:
        raise SubscriptionError("Say what to follow: `/papers subscribe lora daily at 09:00`.")
    if len(text) > 200:
        raise SubscriptionError("Keep the keywords under 200 characters.")
    return SubscribeRequest(channel, text, frequency, at_time, tz, weekday)


def _subscribe(
    db: Database, inv: Invocation, words: list[str], lookups: Lookups, now: datetime
) -> dict:
    request = parse_subscribe(words)
    if request.keywords:
        search(db, request.keywords, limit=1)  # refuse keywords that are not a valid query
    is_dm = inv.channel_name == "directmessage" or inv.channel_id.startswith("D")
    if request.channel and not is_dm and not lookups.bot_in_channel(inv.channel_id):
        return views.text_message(
            "I am not in this channel yet, so I cannot post the digest here. "
            "Invite me with `/invite @papers`, then run the command again."
        )
    channel = request.channel and not is_dm
    tz = request.tz or lookups.user_tz(inv.user_id) or "UTC"
    sub = subs.create(
        db,
        team_id=inv.team_id,
        user_id=inv.user_id,
        target=inv.channel_id if channel else inv.user_id,
        kind=Kind.CHANNEL if channel else Kind.PERSONAL,
        keywords=request.keywords,
        schedule=Schedule(request.frequency, request.at_time, tz, request.weekday),
        now=now,
    )
    return views.text_message(f"Subscribed: {views.describe(sub)}")


def _unsubscribe(db: Database, inv: Invocation, words: list[str], lookups: Lookups) -> dict:
    if not words:
        raise SubscriptionError("Say which: `/papers unsubscribe 3`, `... lora` or `... all`.")
    selector = " ".join(words)
    # Asking Slack only when it matters: someone else's channel subscription is named.
    others = [
        s
        for s in subs.visible_to(db, inv.team_id, inv.user_id, inv.channel_id)
        if s.user_id != inv.user_id
    ]
    admin = bool(others) and selector != "all" and lookups.is_admin(inv.user_id)
    try:
        removed = subs.remove(db, inv.team_id, inv.user_id, selector, inv.channel_id, admin)
    except NotFound as exc:
        raise NotFound(f"{exc} See `/papers list`.") from exc
    lines = "\n".join(views.describe(s) for s in removed)
    return views.text_message(
        f"Removed {len(removed)} subscription{'s' if len(removed) != 1 else ''}:\n{lines}"
    )


def _search(db: Database, config: Config, text: str) -> dict:
    result = search(db, text, limit=views.PAGE_SIZE, max_chars=config.max_query_chars)
    if not result.papers:
        first = text.split()[0].lower()
        close = process.extractOne(first, SUBCOMMANDS, scorer=fuzz.ratio, score_cutoff=80)
        if close and first not in SUBCOMMANDS:
            return views.help_message(
                f"No papers match `{escape_mrkdwn(text)}`. Did you mean `/papers {close[0]}`?"
            )
    return views.search_message(result)


def search_page(db: Database, config: Config, value: str) -> SearchResult | None:
    """The page a Share/Next/Previous button stands for, or None for a stale or bad button."""
    try:
        query, offset = views.page_from_value(value)
        return search(
            db, query, limit=views.PAGE_SIZE, offset=offset, max_chars=config.max_query_chars
        )
    except (PapersError, ValueError, KeyError):
        return None


def handle(db: Database, config: Config, inv: Invocation, lookups: Lookups, now: datetime) -> dict:
    """The reply to one `/papers` command; user errors become friendly messages."""
    words = inv.text.split()
    head = words[0].lower() if words else "help"
    try:
        if head == "help":
            return views.help_message()
        if head == "trending":
            window = "week" if len(words) > 1 and words[1].lower().startswith("week") else "day"
            return views.trending_message(trending(db, now, window, limit=5), window)
        if head == "subscribe":
            return _subscribe(db, inv, words[1:], lookups, now)
        if head in ("list", "ls"):
            return views.list_message(subs.visible_to(db, inv.team_id, inv.user_id, inv.channel_id))
        if head in ("unsubscribe", "remove"):
            return _unsubscribe(db, inv, words[1:], lookups)
        if head == "search":
            return _search(db, config, " ".join(words[1:]))
        return _search(db, config, inv.text)
    except PapersError as exc:
        return views.text_message(f":warning: {escape_entities(str(exc))}")
