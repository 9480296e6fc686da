"""What `/papers ...` means, and the reply: plain functions that know nothing of Slack's
transport. The listener acks, then calls `handle` with lookups it supplies."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rapidfuzz.distance import DamerauLevenshtein
from sqlite_utils import Database

from bot import more_commands, views
from bot.text import code, escape_entities, plural, truncate
from bot.unfurl import ARXIV_HOSTS, HF_HOSTS, paper_ref
from storage import subscriptions as subs
from storage.config import Config
from storage.deliveries import delivered_papers
from storage.errors import NotFound, PapersError, QueryError, SubscriptionError
from storage.index import IndexUnavailable
from storage.papers import by_arxiv_id
from storage.schedule import (
    WEEKDAYS,
    Frequency,
    Schedule,
    city_zones,
    close_zones,
    find_zone,
    zone,
    zone_problem,
)
from storage.search import MAX_WORDS, SearchResult, known_word, parse_query, search
from storage.subscriptions import Kind, Subscription
from storage.text import quoted, straight_quotes
from storage.trending import anchor_day, trending

SUBCOMMANDS = (
    "help",
    "trending",
    "subscribe",
    "list",
    "unsubscribe",
    "follow",
    "unfollow",
    "saved",
    "pause",
    "resume",
)
FREQUENCY_WORDS = {
    "daily": Frequency.DAILY,
    "weekdays": Frequency.WEEKDAYS,
    "weekday": Frequency.WEEKDAYS,
    "workdays": Frequency.WEEKDAYS,
    "weekly": Frequency.WEEKLY,
    "instant": Frequency.INSTANT,
    "now": Frequency.INSTANT,
    "alert": Frequency.INSTANT,
}
# Schedules people type that we do not keep: asked about, never made keywords.
OTHER_FREQUENCIES = ("hourly", "monthly", "biweekly", "fortnightly", "yearly", "quarterly")
# A channel or a person named where keywords go: `#general`, `@bob`, or as Slack escapes them.
_CHANNEL_REF = re.compile(r"^(?:#[^\W\d_]|<#[CG][A-Z0-9]+)")
_USER_REF = re.compile(r"^(?:@[^\W\d_]|<@[UW][A-Z0-9]+)")
_EVERY = {"day": Frequency.DAILY, "week": Frequency.WEEKLY, "weekday": Frequency.WEEKDAYS}
# `9`, `9:30`, `0930` (as a 24-hour clock is often written), `9am`, `5:15pm`.
_TIME = re.compile(r"^(\d{1,2})(?::?(\d{2}))?\s*(am|pm)?$", re.IGNORECASE)


NAMED_TIMES = {"noon": "12:00", "midday": "12:00", "midnight": "00:00"}


def parse_time(text: str) -> str:
    """ "9", "9:30", "09:30", "0930", "9am", "5:15pm", "noon" → "HH:MM"; raises
    SubscriptionError otherwise."""
    if text.strip().lower() in NAMED_TIMES:
        return NAMED_TIMES[text.strip().lower()]
    match = _TIME.match(text.strip())
    if not match:
        raise SubscriptionError(
            f"`{quoted(text)}` is not a time; use 24-hour `HH:MM`, like `09:00`."
        )
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if half:
        if not 1 <= hour <= 12:
            raise SubscriptionError(f"`{quoted(text)}` is not a time of day.")
        hour = hour % 12 + (12 if half.lower() == "pm" else 0)
    if hour > 23 or minute > 59:
        raise SubscriptionError(f"`{quoted(text)}` is not a time of day.")
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


def _is_time_like(word: str) -> bool:
    # "09:00", "9am", "5:15pm"; a bare number is a keyword ("llama 3").
    return bool(_TIME.match(word)) and (":" in word or word.lower().endswith(("am", "pm")))


def _ask_instead(word: str, after_time: bool) -> None:
    """Refuse to make a timezone- or time-like word a keyword: ask what was meant."""
    tz = None if after_time else find_zone(word)
    # After the time, a sentence's full stop is no part of a zone (`at 9 pst.`).
    zoned = word.rstrip(_AFTER_TIME) or word if after_time else word
    if tz:
        raise SubscriptionError(
            f"Did you mean the timezone {tz}? Put it after the time, like "
            f"`/papers subscribe channel daily at 09:00 {tz}`; to follow the word as a "
            f'keyword, quote it: `"{word}"`.'
        )
    problem = zone_problem(zoned)
    if problem and (after_time or word.isupper() or "/" in word):
        if not after_time:
            # Before the time it may be a keyword (`CT` scans, `MT` for translation).
            problem += f' To follow the word as a keyword, quote it: `"{word}"`.'
        raise SubscriptionError(problem)
    if _is_time_like(word):
        raise SubscriptionError(
            f"Did you mean `at {word}`? Write the time after `at`, like "
            f"`/papers subscribe lora daily at {word}`."
        )
    _ask_about_word(word)


def _ask_about_word(word: str) -> None:
    """Refuse a word that names a channel, a person, a schedule we do not keep or a weekday
    without `on`: as a keyword it would quietly match papers that say it."""
    if _CHANNEL_REF.match(word):  # `#ml-papers` typed, or Slack's `<#C123|ml-papers>`
        raise SubscriptionError(
            f"`{quoted(word)}` names a channel: a channel's digest is set up in the channel"
            " itself. Type `/papers subscribe channel daily` there (after `/invite @papers`); to"
            f' follow the word as a keyword, quote it: `"{quoted(word)}"`.'
        )
    if _USER_REF.match(word):
        raise SubscriptionError(
            f"`{quoted(word)}` names a person: subscriptions are each member's own, so they can "
            "type `/papers subscribe ...` themselves; to follow the word as a keyword, quote "
            f'it: `"{quoted(word)}"`.'
        )
    if word.lower() in OTHER_FREQUENCIES:
        raise SubscriptionError(
            f"`{quoted(word)}` is not a schedule I keep: choose `daily`, `weekdays`, `weekly`"
            " (on a day) or `instant`; to follow the word as a keyword, quote it:"
            f' `"{quoted(word)}"`.'
        )
    day = word.lower().rstrip(".").removesuffix("s")
    if day in WEEKDAYS:  # `weekly friday`, `on monday and friday`: no paper says "friday"
        raise SubscriptionError(
            f"Did you mean `on {day}`? A weekly digest comes on one day, like "
            f"`/papers subscribe lora weekly on {day}`; to follow the word as a keyword, "
            f'quote it: `"{word}"`.'
        )


def _quoted(word: str) -> bool:
    """A whole quoted keyword (`"lora"`, `-"diffusion model"`)."""
    body = word.removeprefix("-")
    return len(body) > 2 and body.startswith('"') and body.endswith('"')


def _join_quotes(words: list[str]) -> list[str]:
    """The words with each quoted phrase made one word, as the search reads it: `at`,
    `daily` or `on` inside `"scaling laws at scale"` are the phrase's, not the schedule's.
    A quote that is never closed is left as the words it is."""
    joined: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        end = index
        body = word.removeprefix("-")
        if body.startswith('"') and not (len(body) > 1 and body.endswith('"')):
            end = next((j for j in range(index + 1, len(words)) if words[j].endswith('"')), index)
        joined.append(" ".join(words[index : end + 1]))
        index = end + 1
    return joined


# `9:30 pm`, `9 p.m.`: the half of the day typed as a word of its own after the time.
_HALF_DAY = re.compile(r"^([ap])\.?m\.?$", re.IGNORECASE)
# Punctuation a sentence puts after a time: `at 9.`, `at noon!`, `at 9, weekly`, `at 9 london?`.
_AFTER_TIME = ".,;!?"


def _typed_zone(word: str) -> str | None:
    """The zone a word after the time names, a sentence's punctuation aside (`at 9 UTC.`
    made `UTC.` a keyword, the digest coming at 9 in the member's own zone)."""
    return find_zone(word) or find_zone(word.rstrip(_AFTER_TIME))


def _time_at(after_at: list[str], keywords: list[str]) -> tuple[str, int]:
    """The time typed after `at` ("HH:MM") and how many words it took (`9:30 pm` takes
    two). A word that is no time at all is asked about: `attention at scale` meant a phrase."""
    if not after_at:
        raise SubscriptionError("Say the time after `at`, like `at 09:00` or `at 9am`.")
    # A sentence's full stop or comma (`at 9.`) is no part of the time; `9.30` is left whole.
    typed = after_at[0].rstrip(_AFTER_TIME) or after_at[0]
    if not typed[:1].isdigit() and typed.lower() not in NAMED_TIMES:
        phrase = " ".join([*(k.strip('"') for k in keywords[-1:]), "at", typed.strip('"')])
        raise SubscriptionError(
            f"`{quoted(typed)}` is not a time; write one after `at`, like `at 09:00` or `at 9am`. "
            f'To follow the words as a phrase, quote them: `"{quoted(phrase)}"`.'
        )
    # The same punctuation after a half of the day typed apart (`at 9 pm?`, `at 9 pm, weekly`).
    half = _HALF_DAY.match(after_at[1].rstrip(_AFTER_TIME)) if len(after_at) > 1 else None
    if half and not typed.lower().endswith(("am", "pm")):
        return parse_time(f"{typed}{half.group(1)}m"), 2
    return parse_time(typed), 1


def _ask_city(word: str, at_time: str, cities: tuple[str, ...]) -> None:
    """Refuse a city name after the time (`at 9 london`): neither drop it as a keyword nor
    guess; name the IANA zone to type."""
    names = ", ".join(f"`{name}`" for name in cities)
    raise SubscriptionError(
        f"Did you mean the timezone {names}? Write it in full, like "
        f'`at {at_time} {cities[0]}`; to follow the word as a keyword, quote it: `"{word}"`.'
    )


def _ask_zone_typo(word: str, at_time: str, zones: tuple[str, ...]) -> None:
    """Refuse a misspelled city after the time (`at 9 londn`): it became a keyword and the
    digest came at 9 in the user's own zone; name the zone meant."""
    names = " or ".join(f"`{name}`" for name in zones)
    raise SubscriptionError(
        f"I don't know the timezone `{quoted(word)}`. Did you mean {names}? Write it in full, like "
        f'`at {at_time} {zones[0]}`; to follow the word as a keyword, quote it: `"{quoted(word)}"`.'
    )


def _misspelled_zone(word: str, known: Callable[[str], bool] | None) -> tuple[str, ...]:
    """The zones a word right after the time misspells, unless it is a schedule word, a
    quoted keyword or a word papers use (`at 9 recipe` is a keyword, though Recife is a
    city); () for none."""
    lower = word.lower()
    if lower in FREQUENCY_WORDS or lower in ("on", "every") or _quoted(word):
        return ()
    zones = close_zones(word)
    return () if not zones or (known is not None and known(lower)) else zones


def parse_subscribe(
    words: list[str], known: Callable[[str], bool] | None = None
) -> SubscribeRequest:
    """`[channel] [keywords...] [daily|weekdays|weekly|instant] [at HH:MM] [on DAY]`, with a
    timezone (`UTC`, `Europe/Berlin`, `Etc/GMT-2`) anywhere after the time. `known` says
    whether papers use a word (a keyword then, not a misspelled city after the time);
    without it, every word is taken as unknown."""
    channel = bool(words) and words[0].lower() == "channel"
    # Curly quotes are phrase quotes, as in the search (stored straight, meaning the same).
    rest = _join_quotes([straight_quotes(w) for w in (words[1:] if channel else words)])
    frequency, at_time, tz, weekday = Frequency.DAILY, "09:00", None, 0
    keywords: list[str] = []
    chose: list[tuple[Frequency, str]] = []  # each schedule the words name, and its words
    days: list[tuple[int, str]] = []  # each `on DAY` and `every DAY`: its day, its words
    index = 0
    while index < len(rest):
        word, lower = rest[index], rest[index].lower()
        following = rest[index + 1] if index + 1 < len(rest) else None
        if lower in FREQUENCY_WORDS:
            frequency = FREQUENCY_WORDS[lower]
            chose.append((frequency, word))
        elif lower == "at":
            at_time, used = _time_at(rest[index + 1 :], keywords)
            index += used
            after = rest[index + 1] if index + 1 < len(rest) else ""
            # A sentence's full stop is no part of a city either (`at 9 london.`).
            bare = after.rstrip(_AFTER_TIME) or after
            if "/" in after:
                # Right after the time, a slash means a zone was meant: an unknown one is an error.
                tz = _typed_zone(after) or zone(after).key
                index += 1
            elif not find_zone(bare) and (cities := city_zones(bare)):
                _ask_city(bare, at_time, cities)
            elif zones := _misspelled_zone(bare, known):
                _ask_zone_typo(bare, at_time, zones)
        elif lower == "every":
            frequency, day = _every(following or "")
            chose.append((frequency, f"every {following}"))
            if day is not None:
                weekday = day
                days.append((day, f"every {following}"))
            index += 1
        elif lower == "on" and not following:
            raise SubscriptionError("Say the day after `on`, like `on friday`.")
        elif lower == "on" and (day := weekday_of(following)) is not None:
            weekday, frequency = day, Frequency.WEEKLY
            chose.append((frequency, f"on {following}"))
            days.append((day, f"on {following}"))
            index += 1
        elif at_time_given(rest, index) and (typed := _typed_zone(word)):
            tz = typed
        elif _quoted(word):
            keywords.append(word)  # quoted: a keyword, whatever it looks like
        else:
            _ask_instead(word, at_time_given(rest, index))
            if lower == "on" and following:
                _ask_weekday(following)
            keywords.append(word)
        index += 1
    _one_schedule(chose, days)
    text = " ".join(keywords)
    if channel and frequency == Frequency.INSTANT:
        raise SubscriptionError(
            "Channel subscriptions are daily or weekly digests; instant alerts come by DM."
        )
    if not channel and not text:
        raise SubscriptionError("Say what to follow: `/papers subscribe lora daily at 09:00`.")
    if len(text) > 200:
        raise SubscriptionError("Keep the keywords to 200 characters or fewer.")
    return SubscribeRequest(channel, text, frequency, at_time, tz, weekday)


_AUTHOR_TERM = re.compile(r'(?:^|\s)(-?)author:(?:"([^"]*)"?|(\S*))', re.IGNORECASE)


def _follow_instead(text: str) -> str:
    """What to type for a subscription to an author's papers: a follow."""
    term = _AUTHOR_TERM.search(text)
    if term and term[1]:
        return (
            "Digests and alerts match keywords, not authors: `-author:` cannot leave an"
            " author's papers out."
        )
    typed = (term[2] or term[3] or "") if term else ""
    name = " ".join(typed.split()) or "Edward J. Hu"
    return (
        "Digests and alerts match keywords, not authors. For a DM with each new paper by an"
        f" author, follow them: `/papers follow {quoted(name)}`."
    )


def _one_schedule(chose: list[tuple[Frequency, str]], days: list[tuple[int, str]]) -> None:
    """Refuse two schedules (`daily ... weekly`, `on monday on friday`): one of them would
    be dropped without a word."""
    differ = [words for frequency, words in chose if frequency != chose[0][0]]
    if differ:
        first, second = quoted(chose[0][1]), quoted(differ[0])
        raise SubscriptionError(
            f"`{first}` and `{second}` are two schedules: keep one, like `/papers subscribe"
            " lora weekly on friday` (a word meant as a keyword goes in quotes:"
            f' `"{first}"` or `"{second}"`).'
        )
    if len({day for day, _ in days}) > 1:
        named = " or ".join(f"`{quoted(words)}`" for day, words in dict(days).items())
        raise SubscriptionError(
            f"A weekly digest comes on one day: {named}? (`weekdays` brings it Monday to"
            " Friday, `daily` every day.)"
        )


# Fewer letters than this are no weekday (`on mo` is a keyword); `tue`, `fri` are.
DAY_PREFIX = 3


def weekday_of(word: str) -> int | None:
    """The weekday a word names (`friday`, `Fridays`, `fri`, `thurs`, `sun.`), or None."""
    lower = word.lower().rstrip(".")
    lower = lower if lower in WEEKDAYS else lower.removesuffix("s") or lower
    if len(lower) < DAY_PREFIX or (word.isupper() and lower not in WEEKDAYS):
        return None  # `on SAT`, `on SUN` in capitals are keywords (SAT solvers), not days
    days = [i for i, day in enumerate(WEEKDAYS) if day.startswith(lower)]
    return days[0] if len(days) == 1 else None


def _every(word: str) -> tuple[str, int | None]:
    """What `every day`, `every week`, `every weekday` or `every friday` means: a frequency
    and, for a day, the weekday. Anything else (`every 2 days`, `every month`) is asked about."""
    lower = word.lower().removesuffix("s")
    if lower in _EVERY:
        return _EVERY[lower], None
    day = weekday_of(word) if word else None
    if not word:
        raise SubscriptionError(
            "Say how often after `every`: `every day`, `every week`, `every weekday` or "
            "`every friday`."
        )
    if day is None:
        raise SubscriptionError(
            f"`every {quoted(word)}` is not a schedule I keep: choose `daily`, `weekdays`,"
            " `weekly` (on a day, like `every friday`) or `instant`."
        )
    return Frequency.WEEKLY, day


def _ask_weekday(word: str) -> None:
    """Refuse to make a misspelled weekday after `on` a keyword: ask which day was meant."""
    lower = word.lower()
    if not lower.isalpha() or len(lower) < 5:
        return
    best = min(WEEKDAYS, key=lambda day: DamerauLevenshtein.distance(lower, day))
    # One slip, or two in a word that ends like a day (`wendsday`), never `on sundial`.
    slips = 2 if lower.endswith("day") else 1
    if DamerauLevenshtein.distance(lower, best) <= slips:
        raise SubscriptionError(
            f'Did you mean `on {best}`? To follow the words as keywords, quote them: `"on {word}"`.'
        )


def at_time_given(words: list[str], index: int) -> bool:
    """Whether `at TIME` comes before position `index`."""
    return any(w.lower() == "at" for w in words[: max(index - 1, 0)])


def _subscribe(
    db: Database,
    inv: Invocation,
    words: list[str],
    lookups: Lookups,
    now: datetime,
    grace: timedelta,
) -> dict:
    request = parse_subscribe(words, known=lambda word: known_word(db, word))
    if _AUTHOR_IN_WORDS.search(request.keywords):
        # A digest's search would take `author:` for a word and match no paper, for good.
        # (Refused here, not in parse_subscribe: one made before can still be named by the
        # words it was made with.)
        raise SubscriptionError(_follow_instead(request.keywords))
    if request.keywords:
        # Refuse keywords that are not a valid query: parsed, not searched, so a subscribe
        # works while the search index is being built (digests search when they are due).
        parse_query(request.keywords, max_words=MAX_WORDS)
    is_dm = _in_dm(inv)
    if request.channel and not is_dm and not lookups.bot_in_channel(inv.channel_id):
        if inv.channel_name.startswith("mpdm-"):  # a group DM: `/invite` does not work there
            return views.text_message(
                "I cannot post a digest in a group DM. Set up a channel's digest in the "
                "channel, or leave out `channel` for a digest of your own by DM."
            )
        return views.text_message(
            "I am not in this channel yet, so I cannot post the digest here. "
            "Invite me with `/invite @papers`, then run the command again."
        )
    channel = request.channel and not is_dm
    target = inv.channel_id if channel else inv.user_id
    tz = request.tz or lookups.user_tz(inv.user_id) or "UTC"
    # Another member's digest here with these keywords moves only for an admin (asked only then).
    there = subs.same_as(db, inv.team_id, target, request.keywords)
    if there is not None and there.user_id != inv.user_id and request.tz is None:
        # Another member's digest retyped with its day and time, no zone typed: the digest
        # as it is, not a move to the typer's own zone (refused, or for an admin, silent).
        kept = Schedule(request.frequency, request.at_time, there.tz, request.weekday)
        tz = there.tz if kept == there.schedule else tz
    admin = there is not None and there.user_id != inv.user_id and lookups.is_admin(inv.user_id)
    saved = subs.create(
        db,
        team_id=inv.team_id,
        user_id=inv.user_id,
        target=target,
        kind=Kind.CHANNEL if channel else Kind.PERSONAL,
        keywords=request.keywords,
        schedule=Schedule(request.frequency, request.at_time, tz, request.weekday),
        now=now,
        slack_tz=not request.tz,  # a DM digest then follows the member's Slack timezone
        is_admin=admin,
    )
    sub, resumed = _resume_if_slack_refused(db, saved.subscription, now, grace)
    # The next digest's date, so that a change that waits (a week already delivered) says so.
    due = views.next_delivery(sub, now)
    due = f"\n{due}" if due else ""
    if saved.created:
        return views.text_message(f"Subscribed: {views.describe(sub)}{due}")
    if resumed and not saved.changed:
        return views.text_message(
            f"Resumed (paused when {escape_entities(resumed)}): {views.describe(sub)}{due}"
        )
    if not saved.changed and sub.user_id != inv.user_id:
        return views.text_message(
            f"This channel already has this subscription, set up by <@{sub.user_id}>: "
            f"{views.describe(sub)}"
        )
    if not saved.changed:
        paused = "\nIt is paused: press *Resume* on App Home." if sub.status == "paused" else ""
        return views.text_message(
            f"You already have this subscription: {views.describe(sub)}{paused}"
        )
    again = f"Resumed (paused when {escape_entities(resumed)}). " if resumed else ""
    return views.text_message(
        f"{again}Updated the schedule of #{sub.id}: "
        f"{views.describe_when(saved.before)} → {views.describe_when(sub)}.\n"
        f"{views.describe(sub)}{due}"
    )


# How delivery pauses a subscription Slack refused (jobs.delivery): `Slack said not_in_channel`.
SLACK_REFUSED = "Slack said "


def _resume_if_slack_refused(
    db: Database, sub: Subscription, now: datetime, grace: timedelta
) -> tuple[Subscription, str]:
    """Asking for a subscription again resumes it when Slack's refusal paused it (the bot was
    removed from the channel; the subscribe just checked it is back), or a missing token
    did (the bot that answers has one now): it said "You already have this subscription",
    paused, and only its creator could resume it, on App Home.
    Returns the subscription and the reason it had been paused ("" when not resumed)."""
    reason = sub.paused_reason or ""
    refused = reason.startswith(SLACK_REFUSED) or reason == subs.NO_TOKEN
    if sub.status != "paused" or not refused:
        return sub, ""
    resumed = subs.set_status(db, sub.team_id, sub.id, subs.Status.ACTIVE, now=now, grace=grace)
    return resumed, reason


def _as_subscribed(
    words: list[str], known: Callable[[str], bool] | None = None
) -> tuple[str, subs.Kind | None]:
    """What to remove when the words are a subscribe command's (`lora weekly on friday at
    16:30`, `channel weekly rlhf`): its keywords, as `channel …` for a channel's, and the
    kind it names (`lora instant` is a personal subscribe: never the channel's `lora`); a
    subscription is its place and keywords, whatever its schedule. Other words as they are."""
    typed = " ".join(words)
    try:
        request = parse_subscribe(words, known)
    except PapersError:
        return typed, None
    if request.channel:
        return f"channel {request.keywords}".strip(), None
    if not request.keywords or request.keywords.split() == words:
        return typed, None  # plain keywords: whatever the user sees with them
    if subs.numbers_in(request.keywords) is not None:
        return request.keywords, None  # `pause 1 2 daily`: numbers name any kind
    return request.keywords, subs.Kind.PERSONAL


def _unsubscribe(db: Database, inv: Invocation, words: list[str], lookups: Lookups) -> dict:
    (selector, kind), admin = _selector(db, inv, words, lookups, "unsubscribe")
    try:
        removed = subs.remove(db, inv.team_id, inv.user_id, selector, inv.channel_id, admin, kind)
    except NotFound as exc:
        raise NotFound(f"{exc} See `/papers list`.{_search_instead(inv.text, words)}") from exc
    lines = "\n".join(views.describe(s) for s in removed)
    reply = f"Removed {plural(len(removed), 'subscription')}:\n{lines}"
    return views.text_message(reply + _left_out(db, inv, selector, removed, admin, "remove"))


def _left_out(
    db: Database,
    inv: Invocation,
    selector: str,
    done: list[Subscription],
    admin: bool,
    verb: str,
) -> str:
    """A line for the numbers a command named and left as they were (`/papers pause 3 99`):
    a mistyped number must not read as done."""
    left = subs.left_out(
        db, inv.team_id, inv.user_id, selector, {s.id for s in done}, inv.channel_id, admin
    )
    if not left:
        return ""
    theirs = [f"#{truncate(n, 20)}" for n, why in left.items() if why == "another's"]
    unknown = [f"#{truncate(n, 20)}" for n, why in left.items() if why != "another's"]
    parts = []
    if unknown:
        that = "that number" if len(unknown) == 1 else "those numbers"
        parts.append(f"{', '.join(unknown)}: no subscription of yours has {that}")
    if theirs:
        it = "it" if len(theirs) == 1 else "them"
        parts.append(
            f"{', '.join(theirs)}: set up by another member, so only they or a workspace"
            f" admin can {verb} {it}"
        )
    return f"\nLeft as it was: {'; '.join(parts)} (see `/papers list`)."


def _pause_or_resume(
    db: Database,
    inv: Invocation,
    words: list[str],
    lookups: Lookups,
    verb: str,
    now: datetime,
    grace: timedelta,
) -> dict:
    """`/papers pause 3` and `/papers resume lora`: what App Home's buttons do, by command."""
    (selector, kind), admin = _selector(db, inv, words, lookups, verb)
    status = subs.Status.PAUSED if verb == "pause" else subs.Status.ACTIVE
    try:
        changed, already = subs.pause_or_resume(
            db,
            inv.team_id,
            inv.user_id,
            selector,
            status,
            inv.channel_id,
            admin,
            kind,
            now=now,
            grace=grace,
        )
    except NotFound as exc:
        raise NotFound(f"{exc} See `/papers list`.{_search_instead(inv.text, words)}") from exc
    parts = []
    if changed:
        done = "Paused" if verb == "pause" else "Resumed"
        # A resumed digest says when it comes: its next slot, not the ones missed while paused.
        lines = _described(changed, now if verb == "resume" else None)
        parts.append(f"{done} {plural(len(changed), 'subscription')}:\n{lines}")
    if already:  # "Resumed 1 subscription" for an active one read as if it had been paused
        state = "Already paused" if verb == "pause" else "Not paused (nothing to resume)"
        parts.append(f"{state}:\n" + _described(already))
    left = _left_out(db, inv, selector, [*changed, *already], admin, verb)
    return views.text_message("\n".join(parts) + left)


QUOTED_CHARS = 500


def _search_instead(text: str, words: list[str]) -> str:
    """The command to search a subcommand's words instead (`/papers pause tokens` may be a
    search for the Pause Tokens paper), for a reply that found nothing to do with them;
    nothing when they name a subscription by number. Plain text: the reply escapes it."""
    if not words or all(w.lstrip("#").isdigit() for w in words):
        return ""
    if words[0].lower() in ("all", "channel", "trending"):  # naming subscriptions, not words
        return ""
    # Cut short (a query of more than 256 characters is refused anyway), so that escaped
    # (an & is five characters) it fits a section: quoted whole, a command of thousands of
    # characters made the list's reply too long to build.
    typed = quoted(truncate(" ".join(text.split()), QUOTED_CHARS))
    return f" To search for these words, type `/papers search {typed}`."


def _described(subscriptions: list[Subscription], due_after: datetime | None = None) -> str:
    """One line per subscription; with `due_after`, each followed by its next delivery."""
    lines = []
    for sub in subscriptions:
        when = views.next_delivery(sub, due_after) if due_after else ""
        lines.append(views.describe(sub) + (f" · {when}" if when else ""))
    return "\n".join(lines)


def _selector(
    db: Database, inv: Invocation, words: list[str], lookups: Lookups, verb: str
) -> tuple[tuple[str, subs.Kind | None], bool]:
    """What an unsubscribe, pause or resume names (see _as_subscribed), and whether the user
    may change another member's channel subscription (a workspace admin)."""
    if not words:
        raise SubscriptionError(f"Say which: `/papers {verb} 3`, `... lora` or `... all`.")
    selector = " ".join(words)
    number = selector.lstrip("#")
    # "²" and "٣" are digits to str.isdigit but not subscription numbers.
    if number and not number.isascii() and any(ch.isdigit() for ch in number):
        raise SubscriptionError(
            f"`{quoted(selector)}` is not a subscription number; use the number "
            f"`/papers list` shows, like `/papers {verb} 3`."
        )
    # Asking Slack only when it matters: someone else's channel subscription is named.
    others = [
        s
        for s in subs.visible_to(db, inv.team_id, inv.user_id, inv.channel_id)
        if s.user_id != inv.user_id
    ]
    admin = bool(others) and selector.lower() != "all" and lookups.is_admin(inv.user_id)
    if subs.names_a_follow(db, inv.team_id, inv.user_id, selector):
        return (selector, None), admin  # `pause Jane Daily`: a name, not keywords and a schedule
    named, kind = _as_subscribed(words, lambda word: known_word(db, word))
    if _in_dm(inv) and named.split()[:1] == ["channel"]:
        # `subscribe channel lora` in a DM made a digest by DM (no channel there): its
        # mirror names that digest, which `channel lora` sought among channel digests. By
        # its number: the keywords alone read `channel all` as all, `channel 3` as #3.
        made = subs.same_as(db, inv.team_id, inv.user_id, named.removeprefix("channel").strip())
        if made is not None:
            return (str(made.id), subs.Kind.PERSONAL), admin
    return (named, kind), admin


def _in_dm(inv: Invocation) -> bool:
    """Whether the command was typed in a direct message (the app's own DM or another)."""
    return inv.channel_name == "directmessage" or inv.channel_id.startswith("D")


# `/papers --help` and `/papers ?` as a command line or a chat user types them: no search
# (a query of only `-help` excludes everything, and `?` is no word).
HELP_WORDS = ("help", "?", "--help", "-help", "-h")

# What a misspelled first word most likely meant; `search` and the aliases count too.
COMMAND_WORDS = (*SUBCOMMANDS, "search", "remove")


# Short forms and synonyms people type for a subcommand: like a slip, their words are
# searched first and the subcommand offered only when they find nothing.
OTHER_NAMES = {
    "sub": "subscribe",
    "unsub": "unsubscribe",
    "subs": "list",
    "subscriptions": "list",
    "find": "search",
    "delete": "remove",
    "rm": "remove",
}


def near_subcommand(word: str) -> str | None:
    """The subcommand a misspelled first word (`lsit` → `list`) or another name for one
    (`unsub` → `unsubscribe`) stands for, or None."""
    lower = word.lower()
    if lower in OTHER_NAMES:
        return OTHER_NAMES[lower]
    if len(lower) < 4 or lower in COMMAND_WORDS or lower == "ls":
        return None
    best = min(COMMAND_WORDS, key=lambda c: DamerauLevenshtein.distance(lower, c))
    # One slip (a typo, a swap) in a short word, two in a long one.
    allowed = 1 if len(best) <= 6 else 2
    return best if DamerauLevenshtein.distance(lower, best) <= allowed else None


def _did_you_mean(words: list[str], meant: str) -> dict:
    rest = " ".join(words[1:])
    corrected = f"/papers {meant}" + (f" {rest}" if rest else "")
    note = f"`{escape_entities(words[0])}` is not a command. Did you mean {code(corrected)}?"
    if meant == "search" and rest:
        note += f" (Any words search too: {code('/papers ' + rest)}.)"
    else:
        note += f" To search for these words, type {code('/papers search ' + ' '.join(words))}."
    return views.help_message(note)


TRENDING_WINDOWS = {"": "day", "today": "day", "day": "day", "daily": "day"}
TRENDING_WINDOWS |= {"week": "week", "weekly": "week", "this week": "week"}


def _trending(
    db: Database, words: list[str], now: datetime, user_tz: Callable[[], str | None]
) -> dict:
    """The trending list of a window, titled "today" when its listing day is today on the
    wall clock of the member who asked (`user_tz`: their Slack timezone; UTC when unknown)."""
    asked = " ".join(words).lower()
    window = TRENDING_WINDOWS.get(asked)
    if window is None:
        raise QueryError(
            f"`{quoted(' '.join(words))}` is not a trending window: use "
            "`/papers trending today` or `/papers trending week`."
            + _search_instead("trending " + " ".join(words), words)
        )
    papers = trending(db, now, window, limit=5)
    # A Tokyo member's morning is still yesterday in UTC: their "today" is their own date.
    tz = user_tz()
    today = now.astimezone(ZoneInfo((find_zone(tz) if tz else None) or "UTC")).date()
    return views.trending_message(papers, window, anchor_day(db, now), today)


# `author:` inside a keyword search (`lora author:hu`): the author command takes a name alone.
_AUTHOR_IN_WORDS = re.compile(r"(?:^|\s)-?author:", re.IGNORECASE)
AUTHOR_ALONE = (
    '`author:` works on its own: `/papers author:"Edward J. Hu"` lists one author\'s papers;'
    " here it was searched as a word."
)
# A bare arXiv id as typed or copied: `2106.09685`, `2106.09685v2`, `arXiv:2106.09685`.
_BARE_ID = re.compile(r"^(?:arxiv:)?(\d{4}\.\d{4,5})(?:v\d+)?$", re.IGNORECASE)


_SCHEMELESS = tuple(f"{host}/" for host in (*ARXIV_HOSTS, *HF_HOSTS))
# Punctuation an id or link copied from a sentence brings along: `(arXiv:2106.09685).`
_OPENING = "([{\"'“‘"
_CLOSING = ".,;:!?)]}\"'”’"


def arxiv_ref(text: str) -> str | None:
    """The arXiv id a query that is only a paper link or an arXiv id names, else None.
    Slack may send a pasted link wrapped as `<url>` or `<url|label>`."""
    if len(text.split()) != 1:
        return None
    text = text.lstrip(_OPENING).rstrip(_CLOSING)
    if text.startswith("<") and text.endswith(">"):
        # The sentence's full stop may be inside Slack's link too: `<…/2106.09685.>`.
        text = text[1:-1].split("|", 1)[0].rstrip(_CLOSING)
    if text.lower().startswith(_SCHEMELESS):  # `arxiv.org/abs/…` typed without https://
        text = "https://" + text
    bare = _BARE_ID.match(text)
    return bare.group(1) if bare else paper_ref(text)


def _search(db: Database, config: Config, text: str) -> dict:
    if (name := more_commands.author_name(text)) is not None:
        # `/papers search author:"Jürgen Müller"`: the author listing, as without `search`.
        return more_commands.author_search(db, name)
    if ref := arxiv_ref(text):
        # A link searched for its words finds every abstract naming `https`; the id is
        # no word of the index: the paper is looked up by its id, else the id searched.
        paper = by_arxiv_id(db, ref)
        if paper is not None:
            return views.paper_message(paper)
        text = ref
    result = search(db, text, limit=views.PAGE_SIZE, max_chars=config.max_query_chars)
    if _AUTHOR_IN_WORDS.search(text):
        result.notes.insert(0, AUTHOR_ALONE)
    return views.search_message(result, typed=text)


def _search_or_ask(db: Database, config: Config, text: str, words: list[str], meant: str) -> dict:
    """A query one slip from a subcommand (`/papers remote sensing`, near `remove`): its
    results when its words find papers, else which subcommand was meant (a query refused
    finds none). Searched once, the page it shows being the search that decided."""
    if arxiv_ref(text):  # a link or an id: never a slip of a subcommand's name
        return _search(db, config, text)
    try:
        result = search(db, text, limit=views.PAGE_SIZE, max_chars=config.max_query_chars)
    except IndexUnavailable:
        raise  # no search ran: nothing says the words find no papers
    except PapersError:
        return _did_you_mean(words, meant)
    if not result.total:
        return _did_you_mean(words, meant)
    return views.search_message(result, typed=text)


def search_page(
    db: Database, config: Config, value: str, team_id: str, channel_id: str | None = None
) -> SearchResult | None:
    """The page a Share/Next/Previous button stands for, or None for a stale or bad button
    (an alert's Show all keeps to the papers of its delivery, seen only from the channel it
    was delivered to: storage.deliveries.delivered_papers).
    Past the last page (fewer matches now, an offset changed by hand) it is the last page:
    an empty one would say "No papers match" a query that does."""
    try:
        query, offset, newest, after, delivery = views.page_from_value(value)
        limit, chars = views.PAGE_SIZE, config.max_query_chars
        # An alert's Show all lists the papers that alert announced, nothing else in its range.
        only = delivered_papers(db, delivery, team_id, channel_id) if delivery is not None else None
        if delivery is not None and only is None:
            return None
        # A button pages what was shown: an alert's stored keywords as the alert matched
        # them, even past the words a typed search takes.
        kept = {"max_chars": chars, "newest": newest, "after": after, "max_words": None}
        kept["only"] = only
        result = search(db, query, limit=limit, offset=offset, **kept)
        if not result.papers and result.total and offset > 0:
            last = (result.total - 1) // views.PAGE_SIZE * views.PAGE_SIZE
            result = search(db, query, limit=limit, offset=last, **kept)
        result.delivery = delivery
        return result
    except (QueryError, ValueError, KeyError):
        # A value no button of ours holds. The index being built (IndexUnavailable) or the
        # database failing is no stale button: it reaches the clicker in its own words.
        return None


def page_gone(value: str, why: str) -> dict:
    """The reply to a page button that has nothing to show (search_page gave None): an
    alert's papers are listed by its delivery, removed with its subscription, so say that
    and what to type rather than that the papers are gone (they are not)."""
    try:
        page = views.page_from_value(value)
    except (ValueError, KeyError):
        return views.text_message(why)
    if page.delivery is None or not page.query.strip():
        return views.text_message(why)
    return views.text_message(
        "That alert's subscription was removed, and with it the list of the papers the "
        f"alert announced. {code('/papers ' + page.query)} searches every paper "
        "(the best matches first)."
    )


def subscription_list(
    db: Database,
    team_id: str,
    user_id: str,
    channel_id: str | None,
    offset: int = 0,
    note: str = "",
) -> dict:
    """/papers list: the user's and the channel's subscriptions, the page from `offset` on
    (past its end, the last page: some were removed since the page before was shown)."""
    listed = subs.visible_to(db, team_id, user_id, channel_id)
    if offset >= len(listed):
        offset = views.list_page_before(listed, len(listed))
    return views.list_message(listed, note, offset, user_id)


def handle(db: Database, config: Config, inv: Invocation, lookups: Lookups, now: datetime) -> dict:
    """The reply to one `/papers` command; user errors become friendly messages."""
    words = inv.text.split()
    head = words[0].lower() if words else "help"
    try:
        if head in HELP_WORDS:
            return views.help_message()
        if head == "trending":
            return _trending(db, words[1:], now, lambda: lookups.user_tz(inv.user_id))
        if head == "subscribe":
            return _subscribe(db, inv, words[1:], lookups, now, config.grace)
        if head in ("list", "ls"):
            # `/papers list decoding` is more likely a search than a list of "decoding".
            hint = _search_instead(inv.text, words[1:])
            note = escape_entities(hint.replace(" To", "To", 1))
            return subscription_list(db, inv.team_id, inv.user_id, inv.channel_id, note=note)
        if head in ("unsubscribe", "remove"):
            return _unsubscribe(db, inv, words[1:], lookups)
        if head in ("pause", "resume"):
            return _pause_or_resume(db, inv, words[1:], lookups, head, now, config.grace)
        if (extra := more_commands.reply(db, inv.team_id, inv.user_id, inv.text, now)) is not None:
            return extra
        if head == "search":
            return _search(db, config, inv.text.strip()[len(words[0]) :].strip())
        if meant := near_subcommand(head):
            return _search_or_ask(db, config, inv.text.strip(), words, meant)
        return _search(db, config, inv.text.strip())
    except PapersError as exc:
        return views.text_message(f":warning: {escape_entities(str(exc))}")
