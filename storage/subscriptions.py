"""Subscriptions, always scoped to one team: no team sees or changes another's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from papers.errors import NotFound, SubscriptionError
from papers.schedule import next_due
from storage.db import transaction

MAX_PER_USER = 25


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

    @classmethod
    def from_row(cls, row: dict) -> Subscription:
        """Build from a database row."""
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


def create(
    db: Database,
    *,
    team_id: str,
    user_id: str,
    target: str,
    kind: str,
    keywords: str,
    frequency: str,
    at_time: str,
    tz: str,
    weekday: int,
    now: datetime,
    first_due: datetime | None = None,
) -> Subscription:
    """Add a subscription, refusing an exact duplicate and more than MAX_PER_USER per user.

    `first_due` overrides the first delivery time (the local demo sends one right away)."""
    due = first_due or next_due(frequency, at_time, tz, weekday, now)
    with transaction(db):
        same = next(
            db.query(
                "SELECT id FROM subscriptions WHERE team_id = ? AND target = ? AND keywords = ?"
                " AND frequency = ?",
                [team_id, target, keywords, frequency],
            ),
            None,
        )
        if same:
            raise SubscriptionError(f"That subscription already exists (#{same['id']}).")
        count = next(
            db.query(
                "SELECT COUNT(*) AS n FROM subscriptions WHERE team_id = ? AND user_id = ?",
                [team_id, user_id],
            )
        )["n"]
        if count >= MAX_PER_USER:
            raise SubscriptionError(
                f"You have {count} subscriptions, the most allowed; remove one first."
            )
        cursor = db.execute(
            "INSERT INTO subscriptions (team_id, user_id, target, kind, keywords, frequency,"
            " weekday, at_time, tz, status, next_due_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)",
            [
                team_id,
                user_id,
                target,
                kind,
                keywords,
                frequency,
                weekday,
                at_time,
                tz,
                due.isoformat() if due else None,
                now.isoformat(),
            ],
        )
        return get(db, team_id, int(cursor.lastrowid))


def get(db: Database, team_id: str, subscription_id: int) -> Subscription:
    """One subscription of this team; NotFound when it is not this team's."""
    row = next(
        db.query(
            "SELECT * FROM subscriptions WHERE id = ? AND team_id = ?", [subscription_id, team_id]
        ),
        None,
    )
    if row is None:
        raise NotFound(f"There is no subscription #{subscription_id}.")
    return Subscription.from_row(row)


def by_id(db: Database, subscription_id: int) -> Subscription | None:
    """A subscription by id, for the worker (which serves every team)."""
    row = next(db.query("SELECT * FROM subscriptions WHERE id = ?", [subscription_id]), None)
    return Subscription.from_row(row) if row else None


def visible_to(
    db: Database, team_id: str, user_id: str, channel_id: str | None = None
) -> list[Subscription]:
    """The user's own subscriptions and, when given, the channel's, oldest first."""
    rows = db.query(
        "SELECT * FROM subscriptions WHERE team_id = ? AND (user_id = ? OR target = ?) ORDER BY id",
        [team_id, user_id, channel_id or user_id],
    )
    return [Subscription.from_row(row) for row in rows]


def _delete(db: Database, ids: list[int]) -> None:
    for table in ("sent_papers", "deliveries"):
        db.execute(
            f"DELETE FROM {table} WHERE subscription_id IN ({','.join('?' * len(ids))})", ids
        )
    db.execute(f"DELETE FROM subscriptions WHERE id IN ({','.join('?' * len(ids))})", ids)


def remove(
    db: Database, team_id: str, user_id: str, selector: str, channel_id: str | None = None
) -> list[Subscription]:
    """Remove by `#id`/id, by keywords, or `all` (the user's own); returns what was removed."""
    selector = selector.strip()
    if not selector:
        raise SubscriptionError("Say which: `/papers unsubscribe 3`, `... lora` or `... all`.")
    with transaction(db):
        mine = visible_to(db, team_id, user_id, channel_id)
        number = selector.lstrip("#")
        if selector == "all":
            chosen = [s for s in mine if s.user_id == user_id]
        elif number.isdigit():
            chosen = [s for s in mine if s.id == int(number)]
        else:
            chosen = [s for s in mine if s.keywords.casefold() == selector.casefold()]
        if not chosen:
            raise NotFound(f"No subscription of yours matches `{selector}`; see `/papers list`.")
        _delete(db, [s.id for s in chosen])
    return chosen


def set_status(
    db: Database, team_id: str, subscription_id: int, status: str, reason: str | None = None
) -> Subscription:
    """Pause or resume one of this team's subscriptions."""
    with transaction(db):
        get(db, team_id, subscription_id)
        db.execute(
            "UPDATE subscriptions SET status = ?, paused_reason = ? WHERE id = ? AND team_id = ?",
            [status, reason if status == "paused" else None, subscription_id, team_id],
        )
    return get(db, team_id, subscription_id)


def pause_for_error(db: Database, subscription_id: int, reason: str) -> None:
    """The worker pauses a subscription Slack refuses (channel gone, bot removed, ...)."""
    with transaction(db):
        db.execute(
            "UPDATE subscriptions SET status = 'paused', paused_reason = ? WHERE id = ?",
            [reason, subscription_id],
        )


def last_delivery(db: Database, subscription_id: int) -> dict | None:
    """The newest finished delivery of a subscription, if any."""
    return next(
        db.query(
            "SELECT period, state, finished_at, detail FROM deliveries WHERE subscription_id = ?"
            " AND state IN ('sent', 'skipped', 'failed') ORDER BY id DESC LIMIT 1",
            [subscription_id],
        ),
        None,
    )
