"""Subscriptions, always scoped to one team: no team sees or changes another's."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlite_utils import Database

from storage import meta
from storage.db import transaction
from storage.errors import NotFound, SubscriptionError
from storage.schedule import Frequency, Schedule, find_zone
from storage.text import query_key, quoted

MAX_PER_USER = 25


class Status(StrEnum):
    """Whether a subscription is delivered."""

    ACTIVE = "active"
    PAUSED = "paused"


class Kind(StrEnum):
    """Where a subscription is delivered: the user's DM or a channel."""

    PERSONAL = "personal"
    CHANNEL = "channel"


@dataclass
class Subscription:
    """One subscription row."""

    id: int
    team_id: str
    user_id: str
    target: str
    kind: str
    keywords: str
    frequency: str
    weekday: int
    at_time: str
    tz: str
    status: str
    paused_reason: str | None
    next_due_at: str | None
    last_delivered_at: str | None
    created_at: str
    demo: int = 0  # the subscription `make run` made for its demo
    author: str | None = None  # set for an author follow (storage.authors)
    slack_tz: int = 0  # 1: `tz` is the member's Slack timezone, followed when it changes

    @classmethod
    def from_row(cls, row: dict) -> Subscription:
        """Build from a database row."""
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})

    @property
    def schedule(self) -> Schedule:
        """When this subscription is delivered."""
        return Schedule(self.frequency, self.at_time, self.tz, self.weekday)

    @property
    def is_instant(self) -> bool:
        """An alert per ingest rather than a scheduled digest."""
        return self.frequency == Frequency.INSTANT


@dataclass
class Saved:
    """What `create` did: a new subscription, or the schedule of an existing one changed
    (`before` is the old one; equal to `subscription` when nothing changed)."""

    subscription: Subscription
    created: bool
    before: Subscription | None = None

    @property
    def changed(self) -> bool:
        """Whether anything was written."""
        return self.created or self.before != self.subscription


def create(
    db: Database,
    *,
    team_id: str,
    user_id: str,
    target: str,
    kind: str,
    keywords: str,
    schedule: Schedule,
    now: datetime,
    first_due: datetime | None = None,
    demo: bool = False,
    slack_tz: bool = False,
    is_admin: bool = False,
) -> Saved:
    """Add a subscription, or, when the target already has one with the same keywords, give
    that one the new schedule (only as `may_change` allows: another member's channel digest
    needs `is_admin`); refuses more than MAX_PER_USER per user.

    `first_due` overrides the first delivery time (the local demo sends one right away);
    `slack_tz`: the schedule's timezone is the member's Slack timezone (none was typed), so
    a personal subscription follows it (follow_slack_tz)."""
    due = first_due or schedule.next_fire_time(None, now)
    table = db["subscriptions"]
    fields = {
        "frequency": str(schedule.frequency),
        "weekday": schedule.weekday,
        "at_time": schedule.at,
        "tz": schedule.tz,
        "next_due_at": due.isoformat() if due else None,
        "slack_tz": int(slack_tz and kind == Kind.PERSONAL),
    }
    with transaction(db):
        before = same_as(db, team_id, target, keywords)
        if before:
            if before.schedule == schedule and before.user_id != user_id:
                return Saved(before, created=False, before=before)  # another's, as it is
            if not may_change(before, user_id, is_admin):
                # Typed in the same channel, the schedule of another member's digest moved
                # for everyone there, and the member who set it up was never asked.
                raise SubscriptionError(
                    f"This channel already has #{before.id} for these keywords, set up by"
                    " another member: only they or a workspace admin can change its schedule."
                )
            if before.schedule == schedule:
                # The same schedule, now typed (or now left to Slack): only what it follows.
                table.update(before.id, {"slack_tz": fields["slack_tz"]})
                now_saved = get(db, team_id, before.id)
                return Saved(now_saved, created=False, before=now_saved)
            if not first_due:  # a period (or a day) already delivered has no second digest
                due = _rescheduled(db, before, schedule, now)
                fields["next_due_at"] = due.isoformat() if due else None
            # Someone changing the demo's time has made it theirs: a restart leaves it alone.
            table.update(before.id, {**fields, "demo": 0})
            return Saved(get(db, team_id, before.id), created=False, before=before)
        check_room(db, team_id, user_id)
        table.insert(
            {
                "id": next_id(db),
                "team_id": team_id,
                "user_id": user_id,
                "target": target,
                "kind": str(kind),
                "keywords": keywords,
                **fields,
                "status": str(Status.ACTIVE),
                "created_at": now.isoformat(),
                "demo": int(demo),
            }
        )
        return Saved(get(db, team_id, int(table.last_pk)), created=True)


# The highest subscription id ever given (a meta bookmark).
HIGH_ID = "subscriptions.high_id"


def next_id(db: Database) -> int:
    """A new subscription's id, never one a removed subscription had (inside the caller's
    transaction). SQLite gives the highest id again once its row is deleted, and ids are
    what people and buttons name: `unsubscribe #2`, an App Home view still showing #2."""
    highest = db.execute("SELECT MAX(id) FROM subscriptions").fetchone()[0] or 0
    new = max(highest, int(meta.get(db, HIGH_ID) or 0)) + 1
    meta.put(db, HIGH_ID, str(new))
    return new


def same_as(db: Database, team_id: str, target: str, keywords: str) -> Subscription | None:
    """The keyword subscription `target` already has for these keywords (case, spacing and
    quotes aside), which subscribing again reschedules; None when there is none."""
    rows = db["subscriptions"].rows_where(
        # An author follow is never the same subscription as a keyword one.
        "team_id = ? AND target = ? AND author IS NULL",
        [team_id, target],
        order_by="id",
    )
    same = next((row for row in rows if _same_keywords(row["keywords"] or "", keywords)), None)
    return Subscription.from_row(same) if same else None


def check_room(db: Database, team_id: str, user_id: str) -> None:
    """Refuse a new subscription (or follow) past MAX_PER_USER for one user."""
    count = db["subscriptions"].count_where("team_id = ? AND user_id = ?", [team_id, user_id])
    if count >= MAX_PER_USER:
        raise SubscriptionError(
            f"You have {count} subscriptions, the most allowed; remove one first."
        )


def get(db: Database, team_id: str, subscription_id: int) -> Subscription:
    """One subscription of this team; NotFound when it is not this team's."""
    row = next(
        db["subscriptions"].rows_where("id = ? AND team_id = ?", [subscription_id, team_id]),
        None,
    )
    if row is None:
        raise NotFound(f"There is no subscription #{subscription_id}.")
    return Subscription.from_row(row)


def by_id(db: Database, subscription_id: int) -> Subscription | None:
    """A subscription by id, for the worker (which serves every team)."""
    row = next(db["subscriptions"].rows_where("id = ?", [subscription_id]), None)
    return Subscription.from_row(row) if row else None


def visible_to(
    db: Database, team_id: str, user_id: str, channel_id: str | None = None
) -> list[Subscription]:
    """The user's own subscriptions and, when given, the channel's, oldest first."""
    rows = db["subscriptions"].rows_where(
        "team_id = ? AND (user_id = ? OR target = ?)",
        [team_id, user_id, channel_id or user_id],
        order_by="id",
    )
    return [Subscription.from_row(row) for row in rows]


def _active_where(extra: str) -> str:
    # Subscriptions of teams that uninstalled the app or revoked its token are never served.
    return (
        "SELECT s.* FROM subscriptions s LEFT JOIN teams t ON t.team_id = s.team_id"
        f" WHERE s.status = 'active' AND (t.status IS NULL OR t.status = 'active') AND {extra}"
    )


def is_active(db: Database, subscription_id: int) -> bool:
    """Whether a subscription still exists, is active and its team is served."""
    query = _active_where("s.id = ?") + " LIMIT 1"
    return next(db.query(query, [subscription_id]), None) is not None


def due(db: Database, now: datetime, limit: int = 500) -> list[Subscription]:
    """Active digest subscriptions of active teams whose time has come, oldest due first."""
    rows = db.query(
        _active_where("s.frequency != 'instant' AND s.next_due_at <= ?")
        + " ORDER BY s.next_due_at, s.id LIMIT ?",
        [now.isoformat(), limit],
    )
    return [Subscription.from_row(row) for row in rows]


def realign(db: Database, now: datetime) -> list[tuple[Subscription, datetime]]:
    """Pull back schedules left in the future by a clock that jumped ahead and was then
    corrected: a next_due_at past the schedule's next slot after `now` is reset to that slot,
    so a digest resumes within one period. Returns what moved, with the new due moment."""
    rows = db.query(
        _active_where("s.frequency != 'instant' AND s.next_due_at > ?"),
        [(now + timedelta(days=1)).isoformat()],
    )
    moved = []
    for sub in [Subscription.from_row(row) for row in rows]:
        # The first slot with no digest yet: a change of schedule defers past a period or
        # a day already delivered (_rescheduled), which is no clock jump to undo. A period
        # the jumped clock settled as missed (claimed after `now`) is reopened below, so it
        # is open here: counted as taken, the schedule went one period too far, and the
        # next run pulled it back with a second "clock jumped?" warning.
        first = sub.schedule.next_fire_time(None, now)
        expected = _first_open(db, sub.id, sub.schedule, first, reopened_after=now)
        if expected and sub.next_due_at and datetime.fromisoformat(sub.next_due_at) > expected:
            with transaction(db):
                db["subscriptions"].update(sub.id, {"next_due_at": expected.isoformat()})
                # Periods the jumped clock settled as missed were never sent: reopen them.
                db["deliveries"].delete_where(
                    "subscription_id = ? AND state = 'skipped' AND claimed_at > ?",
                    [sub.id, now.isoformat()],
                )
            moved.append((sub, expected))
    return moved


def instant(db: Database) -> list[Subscription]:
    """Active keyword-alert subscriptions of active teams (author follows are not)."""
    rows = db.query(
        _active_where("s.frequency = 'instant' AND s.author IS NULL") + " ORDER BY s.id"
    )
    return [Subscription.from_row(row) for row in rows]


def _delete(db: Database, ids: list[int]) -> None:
    marks = ",".join("?" * len(ids))
    for table in ("sent_papers", "deliveries", "subscriptions"):
        column = "id" if table == "subscriptions" else "subscription_id"
        db[table].delete_where(f"{column} IN ({marks})", ids)


def may_change(sub: Subscription, user_id: str, is_admin: bool) -> bool:
    """The one rule for removing, pausing and resuming: the member who set a subscription up,
    or a workspace admin or owner (for a channel's subscriptions; a DM is its owner's only)."""
    return sub.user_id == user_id or (is_admin and sub.kind == Kind.CHANNEL)


def remove(
    db: Database,
    team_id: str,
    user_id: str,
    selector: str,
    channel_id: str | None = None,
    is_admin: bool = False,
    kind: Kind | None = None,
) -> list[Subscription]:
    """Remove by `#id`/id (or several: `3 4`, `#3, #4`), by keywords (`trending` for the
    digests without any), this channel's as `subscribe channel` named it (`channel`,
    `channel rlhf`), or `all` (the user's own); returns what was removed. `kind` keeps to
    subscriptions of that kind (the words of a personal subscribe name no channel's).

    Only what `may_change` allows: another member's channel subscription needs an admin."""
    with transaction(db):
        allowed = _allowed(db, team_id, user_id, selector, channel_id, is_admin, "remove", kind)
        _delete(db, [s.id for s in allowed])
    return allowed


# Why a subscription paused with `/papers pause` is paused (as App Home says its own).
PAUSED_BY_COMMAND = "paused with /papers pause"
# Why a delivery with no token for its team paused its subscription.
NO_TOKEN = "no bot token for this team"
# Why a team is not served (storage.teams); its subscriptions are paused with the same words.
UNINSTALLED = "app uninstalled"
REVOKED = "tokens revoked"
# The worker found the bot token dead before (or without) either event.
REFUSED = "bot token refused by Slack"
# Slack's errors that say a workspace's bot token may be dead (uninstalled with no event
# seen, revoked, a wrong token; account_inactive: "the token is for a deleted user or
# workspace", its bot user deactivated): the worker stops the whole team on them once
# auth.test confirms the token is refused (jobs.delivery).
TOKEN_ERRORS = frozenset(
    {"invalid_auth", "token_revoked", "token_expired", "not_authed", "account_inactive"}
)
# Slack's refusals of one subscription that installing the app again fixes: the dead-token
# errors (an older worker paused each subscription with them, the team left active; or
# auth.test accepted the token) and missing_scope (the reinstall grants the scopes a newer
# version asks for).
FIXED_BY_REINSTALL = tuple(
    sorted(f"Slack said {error}" for error in {*TOKEN_ERRORS, "missing_scope"})
)
# Reasons a reinstall resumes: a member's own pause of such a subscription replaces them,
# or the reinstall would resume what the member paused.
FOR_WANT_OF_A_TOKEN = frozenset({UNINSTALLED, REVOKED, REFUSED, NO_TOKEN, *FIXED_BY_REINSTALL})


def pause_or_resume(
    db: Database,
    team_id: str,
    user_id: str,
    selector: str,
    status: Status,
    channel_id: str | None = None,
    is_admin: bool = False,
    kind: Kind | None = None,
    *,
    now: datetime,
    grace: timedelta,
) -> tuple[list[Subscription], list[Subscription]]:
    """Pause or resume what a selector names (as `remove` reads it, with the same rule);
    returns those it changed and those that were so already, as they are now. A resumed
    one is due at its next slot after `now` (see _resumed); `grace` is the worker's
    PAPERS_GRACE_MINUTES."""
    verb = "pause" if status == Status.PAUSED else "resume"
    reason = PAUSED_BY_COMMAND if status == Status.PAUSED else None
    with transaction(db):
        allowed = _allowed(db, team_id, user_id, selector, channel_id, is_admin, verb, kind)
        changed = [sub for sub in allowed if changes_status(sub, status)]
        for sub in changed:
            _set_status(db, sub, status, reason, now, grace)
        done = {sub.id for sub in changed}
        already = [sub for sub in allowed if sub.id not in done]
        return [get(db, team_id, s.id) for s in changed], [get(db, team_id, s.id) for s in already]


def changes_status(sub: Subscription, status: Status) -> bool:
    """Whether pausing or resuming `sub` changes it: one already paused keeps why (Slack
    refused its channel: asking for it again resumes it), unless only a token was missing
    (the member's pause then outlasts the reinstall that brings one)."""
    return sub.status != status or (
        status == Status.PAUSED and sub.paused_reason in FOR_WANT_OF_A_TOKEN
    )


def _set_status(
    db: Database,
    sub: Subscription,
    status: Status,
    reason: str | None,
    now: datetime,
    grace: timedelta,
) -> None:
    """Pause (with `reason`) or resume one subscription; a resumed one is rescheduled."""
    changes = {"status": str(status), "paused_reason": reason if status == Status.PAUSED else None}
    db["subscriptions"].update(sub.id, changes | _resumed(db, sub, status, now, grace))


def _resumed(
    db: Database, sub: Subscription, status: Status, now: datetime, grace: timedelta
) -> dict:
    """The schedule change of a paused subscription taken up again at `now`: the slots that
    passed while it was paused are not owed, so its next digest is the first slot after
    `now - grace` (today's right away when it is late by no more than the worker's grace,
    as for a worker that was down) whose period has no digest yet. Without this a long
    pause left next_due_at days behind: "Next digest: today's, right away", a preview
    dated then, and the worker settled it as "missed by 7200 min" and sent nothing."""
    if status != Status.ACTIVE or sub.status != Status.PAUSED or sub.is_instant:
        return {}
    if not sub.next_due_at or datetime.fromisoformat(sub.next_due_at) >= now - grace:
        return {}  # still to come, or late within grace: the worker sends it as it is
    due = _first_open(db, sub.id, sub.schedule, sub.schedule.next_fire_time(None, now - grace))
    return {"next_due_at": due.isoformat()} if due else {}


def resume_team(
    db: Database, team_id: str, reasons: list[str], now: datetime, grace: timedelta
) -> int:
    """Resume a team's subscriptions paused for one of `reasons` (inside the caller's
    transaction), rescheduled as a resume does; returns how many."""
    marks = ",".join("?" * len(reasons))
    rows = db["subscriptions"].rows_where(
        f"team_id = ? AND status = 'paused' AND paused_reason IN ({marks})", [team_id, *reasons]
    )
    paused = [Subscription.from_row(row) for row in rows]
    for sub in paused:
        _set_status(db, sub, Status.ACTIVE, None, now, grace)
    return len(paused)


def _allowed(
    db: Database,
    team_id: str,
    user_id: str,
    selector: str,
    channel_id: str | None,
    is_admin: bool,
    verb: str,
    kind: Kind | None = None,
) -> list[Subscription]:
    """The subscriptions `selector` names that the user may `verb` (in the caller's
    transaction); NotFound when it names none, SubscriptionError when none is theirs."""
    selector = selector.strip()
    if not selector:
        raise SubscriptionError(f"Say which subscription to {verb}.")
    chosen = _chosen(visible_to(db, team_id, user_id, channel_id), user_id, selector, channel_id)
    chosen = [s for s in chosen if kind is None or s.kind == kind]
    if not chosen:
        raise NotFound(f"No subscription of yours matches `{quoted(selector)}`.")
    allowed = [s for s in chosen if may_change(s, user_id, is_admin)]
    if not allowed:
        raise SubscriptionError(
            f"#{chosen[0].id} was set up by another member: only they or a workspace admin"
            f" can {verb} it."
        )
    return allowed


def numbers_in(selector: str) -> list[str] | None:
    """The subscription numbers a selector names (`3`, `#3 #4`, `3, 4`), as written without
    leading zeros (strings: a number of thousands of digits is no int to Python), or None
    when it names them otherwise (keywords, `all`)."""
    numbers = [w.lstrip("#") for w in selector.replace(",", " ").split()]
    if numbers and all(n.isascii() and n.isdigit() for n in numbers):  # not `²`
        return list(dict.fromkeys(n.lstrip("0") or "0" for n in numbers))
    return None


def left_out(
    db: Database,
    team_id: str,
    user_id: str,
    selector: str,
    done: Collection[int],
    channel_id: str | None = None,
    is_admin: bool = False,
) -> dict[str, str]:
    """Why each number a selector names that is not among `done` was left (`/papers pause
    3 99`): "not yours" when the user sees no subscription of that number, "another's"
    when it is another member's they may not change."""
    seen = {str(s.id): s for s in visible_to(db, team_id, user_id, channel_id)}
    handled = {str(n) for n in done}
    return {
        n: "another's" if n in seen and not may_change(seen[n], user_id, is_admin) else "not yours"
        for n in numbers_in(selector.strip()) or []
        if n not in handled
    }


def _follows_named(subs: list[Subscription], user_id: str, selector: str) -> list[Subscription]:
    """The user's follows the words name as `/papers list` shows them (case and spacing
    aside)."""
    name = " ".join(selector.split()).casefold()
    return [
        s
        for s in subs
        if s.author and s.user_id == user_id and " ".join(s.author.split()).casefold() == name
    ]


def names_a_follow(db: Database, team_id: str, user_id: str, selector: str) -> bool:
    """Whether the words name one of the user's follows as `/papers list` shows it."""
    return bool(_follows_named(visible_to(db, team_id, user_id, None), user_id, selector))


def _chosen(
    mine: list[Subscription], user_id: str, selector: str, channel_id: str | None
) -> list[Subscription]:
    """The subscriptions a selector (of unsubscribe, pause, resume) names, among those the
    user sees."""
    words = selector.split()
    keywords = [s for s in mine if not s.author]
    if selector.lower() == "all":
        return [s for s in mine if s.user_id == user_id]
    if (numbers := numbers_in(selector)) is not None:
        return [s for s in mine if str(s.id) in numbers]
    if words[0].lower() == "channel":  # the mirror of `/papers subscribe channel ...`
        rest = " ".join(words[1:])
        return [
            s
            for s in keywords
            if s.kind == Kind.CHANNEL
            and s.target == channel_id
            and _same_keywords(s.keywords, rest)
        ]
    same = [s for s in keywords if _same_keywords(s.keywords, selector)]
    if not same and selector.lower() == "trending":  # as `/papers list` names them
        return [s for s in keywords if not s.keywords]
    # And the user's follow by the name `/papers list` shows (`pause Edward J. Hu`), even
    # where a channel's digest has those words for keywords.
    return same + _follows_named(mine, user_id, selector)


def _rescheduled(
    db: Database, before: Subscription, schedule: Schedule, now: datetime
) -> datetime | None:
    """The next due moment of a subscription given a new schedule at `now`: right away when
    today's digest was still to come and the new time has already passed today (moved from
    09:00 to 08:00 at 08:30), else the first slot whose period and day have no digest yet."""
    if _owed_today(db, before, schedule, now):
        return now
    return _first_open(db, before.id, schedule, schedule.next_fire_time(None, now))


def _owed_today(db: Database, before: Subscription, schedule: Schedule, now: datetime) -> bool:
    """Whether the old schedule still owed a digest today that the new one has already
    passed: without this, the new schedule's next slot is tomorrow's and today's is lost."""
    if before.status != Status.ACTIVE or before.is_instant or not before.next_due_at:
        return False
    today = schedule.local(now).date()
    if schedule.local(datetime.fromisoformat(before.next_due_at)).date() != today:
        return False
    slot = schedule.slot_on(today)
    return slot is not None and slot <= now and not _taken(db, before.id, schedule, now)


def _first_open(
    db: Database,
    subscription_id: int,
    schedule: Schedule,
    due: datetime | None,
    reopened_after: datetime | None = None,
) -> datetime | None:
    """The first due moment from `due` on whose period has no delivery yet and whose local
    day had no digest: moved from Monday to Wednesday after Monday's digest, a weekly
    subscription's next one is next week's; moved from weekly to daily after today's weekly
    digest, the first daily one is tomorrow's. Periods skipped by a claim made after
    `reopened_after` (by a clock ahead of it) count as open."""
    for _ in range(3):  # a period is a day or a week: the next one is always open
        if due is None or not _taken(db, subscription_id, schedule, due, reopened_after):
            return due
        due = schedule.next_fire_time(due, due)
    return due


def _taken(
    db: Database,
    subscription_id: int,
    schedule: Schedule,
    due: datetime,
    reopened_after: datetime | None = None,
) -> bool:
    """Whether a digest due at `due` would be a second one: its period already has a
    delivery (other than one skipped by a claim made after `reopened_after`), or a digest
    (of any schedule the subscription had) was sent that local day or is under way (claimed
    that day, waiting for its retry: it goes out later, its schedule's next slot after it)."""
    where, params = "subscription_id = ? AND period = ?", [subscription_id, schedule.period(due)]
    if reopened_after is not None:
        where += " AND NOT (state = 'skipped' AND claimed_at > ?)"
        params.append(reopened_after.isoformat())
    if db["deliveries"].count_where(where, params):
        return True
    day = schedule.local(due).date()
    # Digest periods are a day or a week (`2026-03-17`, `2026-W12`); alerts' hold a colon.
    since = (due - timedelta(days=2)).isoformat()
    rows = db["deliveries"].rows_where(
        "subscription_id = ? AND period NOT LIKE '%:%' AND ((state = 'sent' AND finished_at >= ?)"
        " OR (state = 'claimed' AND claimed_at >= ?))",
        [subscription_id, since, since],
        select="coalesce(finished_at, claimed_at) AS at",
    )
    return any(schedule.local(datetime.fromisoformat(row["at"])).date() == day for row in rows)


def follow_slack_tz(
    db: Database, team_id: str, user_id: str, tz: str, now: datetime
) -> list[Subscription]:
    """Move the member's personal subscriptions that keep their Slack timezone to `tz`, the
    one Slack now gives them (they travelled or moved): "09:00 in your Slack timezone" stays
    true. Each is rescheduled as a change of schedule is (_rescheduled: no second digest
    for a day or week already delivered). Returns those moved, as they are now; none when
    `tz` is no zone we know or nothing changes (Slack may send the event again)."""
    if not tz or find_zone(tz) != tz:
        return []
    with transaction(db):
        rows = db["subscriptions"].rows_where(
            "team_id = ? AND user_id = ? AND kind = ? AND slack_tz = 1 AND tz != ?",
            [team_id, user_id, str(Kind.PERSONAL), tz],
            order_by="id",
        )
        moved = [Subscription.from_row(row) for row in rows]
        for before in moved:
            schedule = Schedule(before.frequency, before.at_time, tz, before.weekday)
            due = _rescheduled(db, before, schedule, now) if before.next_due_at else None
            db["subscriptions"].update(
                before.id, {"tz": tz, "next_due_at": due.isoformat() if due else None}
            )
        return [get(db, team_id, sub.id) for sub in moved]


def _same_keywords(stored: str, typed: str) -> bool:
    # Case, spacing and the kind of quotes aside, the same search (storage.text.query_key).
    return query_key(stored) == query_key(typed)


def set_status(
    db: Database,
    team_id: str,
    subscription_id: int,
    status: Status,
    reason: str | None = None,
    *,
    now: datetime,
    grace: timedelta,
) -> Subscription:
    """Pause or resume one of this team's subscriptions (a resumed one is due at its next
    slot after `now`, see _resumed; `grace` is the worker's PAPERS_GRACE_MINUTES)."""
    with transaction(db):
        _set_status(db, get(db, team_id, subscription_id), status, reason, now, grace)
    return get(db, team_id, subscription_id)


def pause(db: Database, subscription_id: int, reason: str) -> None:
    """Pause a subscription Slack refuses (channel gone, bot removed, ...), with the reason."""
    with transaction(db):
        db["subscriptions"].update(
            subscription_id, {"status": str(Status.PAUSED), "paused_reason": reason}
        )


def pause_team(db: Database, team_id: str, reason: str) -> int:
    """Pause every active subscription of a team; returns how many were paused."""
    return db.execute(
        "UPDATE subscriptions SET status = 'paused', paused_reason = ?"
        " WHERE team_id = ? AND status = 'active'",
        [reason, team_id],
    ).rowcount


def last_delivery(db: Database, subscription_id: int) -> dict | None:
    """The newest finished delivery of a subscription, if any."""
    return next(
        db["deliveries"].rows_where(
            "subscription_id = ? AND state IN ('sent', 'skipped', 'failed')",
            [subscription_id],
            select="period, state, finished_at, detail",
            order_by="id DESC",
            limit=1,
        ),
        None,
    )


def move_schedule(
    db: Database,
    subscription_id: int,
    delivered: datetime | None,
    next_due_at: datetime | None,
) -> None:
    """Record a delivery time and/or the next due moment (inside the caller's transaction)."""
    changes = {}
    if delivered is not None:
        changes["last_delivered_at"] = delivered.isoformat()
    if next_due_at is not None:
        changes["next_due_at"] = next_due_at.isoformat()
    if changes:
        db["subscriptions"].update(subscription_id, changes)
