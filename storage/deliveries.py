"""The delivery ledger: one row per subscription and period, claimed before sending and
confirmed after, so a digest or alert goes out once even across crashes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from storage.db import transaction
from storage.subscriptions import Subscription


@dataclass
class Claim:
    """A delivery row: `fresh` when this call made the claim."""

    id: int
    subscription_id: int
    period: str
    state: str
    fresh: bool
    attempts: int
    channel: str | None
    message: dict | None
    paper_ids: list[int]


def _claim(row: dict, fresh: bool) -> Claim:
    return Claim(
        id=row["id"],
        subscription_id=row["subscription_id"],
        period=row["period"],
        state=row["state"],
        fresh=fresh,
        attempts=int(row["detail"]) if (row["detail"] or "").isdigit() else 0,
        channel=row["channel"],
        message=json.loads(row["message"]) if row["message"] else None,
        paper_ids=json.loads(row["paper_ids"]) if row["paper_ids"] else [],
    )


def claim(db: Database, subscription_id: int, period: str, now: datetime) -> Claim:
    """Claim (subscription, period), or return the row that already exists."""
    with transaction(db):
        cursor = db.execute(
            "INSERT OR IGNORE INTO deliveries (subscription_id, period, state, claimed_at, detail,"
            " not_before) VALUES (?, ?, 'claimed', ?, '0', ?)",
            [subscription_id, period, now.isoformat(), now.isoformat()],
        )
        row = next(
            db.query(
                "SELECT * FROM deliveries WHERE subscription_id = ? AND period = ?",
                [subscription_id, period],
            )
        )
    return _claim(row, bool(cursor.rowcount))


def prepare(db: Database, claim_id: int, channel: str, message: dict, paper_ids: list[int]) -> None:
    """Store what will be sent, before sending it."""
    with transaction(db):
        db.execute(
            "UPDATE deliveries SET channel = ?, message = ?, paper_ids = ? WHERE id = ?",
            [channel, json.dumps(message), json.dumps(paper_ids), claim_id],
        )


def postpone(db: Database, claim_id: int, not_before: datetime) -> int:
    """Count a failed attempt and wait until not_before; returns the attempt number."""
    with transaction(db):
        row = next(db.query("SELECT detail FROM deliveries WHERE id = ?", [claim_id]))
        attempts = (int(row["detail"]) if (row["detail"] or "").isdigit() else 0) + 1
        db.execute(
            "UPDATE deliveries SET not_before = ?, detail = ? WHERE id = ?",
            [not_before.isoformat(), str(attempts), claim_id],
        )
    return attempts


def unfinished(db: Database, now: datetime) -> list[Claim]:
    """Claims that were prepared but never confirmed (a crash, or a transient failure),
    whose retry time has come."""
    rows = db.query(
        "SELECT * FROM deliveries WHERE state = 'claimed' AND message IS NOT NULL"
        " AND not_before <= ? ORDER BY id",
        [now.isoformat()],
    )
    return [_claim(row, False) for row in rows]


def confirm(
    db: Database,
    claim_id: int,
    subscription_id: int,
    ts: str,
    paper_ids: list[int],
    now: datetime,
    next_due_at: datetime | None,
) -> None:
    """Mark sent, remember the papers (never sent again), and move the schedule on."""
    with transaction(db):
        db.execute(
            "UPDATE deliveries SET state = 'sent', finished_at = ?, message_ts = ?, paper_ids = ?,"
            " detail = NULL, message = NULL WHERE id = ?",
            [now.isoformat(), ts, json.dumps(paper_ids), claim_id],
        )
        db.conn.executemany(
            "INSERT OR IGNORE INTO sent_papers (subscription_id, paper_id) VALUES (?, ?)",
            [(subscription_id, paper_id) for paper_id in paper_ids],
        )
        _advance(db, subscription_id, now, next_due_at)


def finish(
    db: Database,
    claim_id: int,
    subscription_id: int,
    state: str,
    detail: str,
    now: datetime,
    next_due_at: datetime | None,
    pause_reason: str | None = None,
) -> None:
    """Close a claim without a message ('skipped' or 'failed'), optionally pausing."""
    with transaction(db):
        db.execute(
            "UPDATE deliveries SET state = ?, finished_at = ?, detail = ?, message = NULL"
            " WHERE id = ?",
            [state, now.isoformat(), detail, claim_id],
        )
        if pause_reason:
            db.execute(
                "UPDATE subscriptions SET status = 'paused', paused_reason = ? WHERE id = ?",
                [pause_reason, subscription_id],
            )
        _advance(db, subscription_id, None, next_due_at)


def _advance(
    db: Database, subscription_id: int, delivered: datetime | None, next_due_at: datetime | None
):
    if delivered is not None:
        db.execute(
            "UPDATE subscriptions SET last_delivered_at = ? WHERE id = ?",
            [delivered.isoformat(), subscription_id],
        )
    if next_due_at is not None:
        db.execute(
            "UPDATE subscriptions SET next_due_at = ? WHERE id = ?",
            [next_due_at.isoformat(), subscription_id],
        )


def advance_only(db: Database, subscription_id: int, next_due_at: datetime) -> None:
    """Move a schedule on when its period was already delivered (a crash after confirm)."""
    with transaction(db):
        _advance(db, subscription_id, None, next_due_at)


def due(db: Database, now: datetime, limit: int = 500) -> list[Subscription]:
    """Active digest subscriptions of active teams whose time has come, oldest due first."""
    rows = db.query(
        "SELECT s.* FROM subscriptions s LEFT JOIN teams t ON t.team_id = s.team_id"
        " WHERE s.status = 'active' AND s.frequency != 'instant' AND s.next_due_at <= ?"
        " AND (t.status IS NULL OR t.status = 'active') ORDER BY s.next_due_at, s.id LIMIT ?",
        [now.isoformat(), limit],
    )
    return [Subscription.from_row(row) for row in rows]


def instant(db: Database) -> list[Subscription]:
    """Active instant-alert subscriptions of active teams."""
    rows = db.query(
        "SELECT s.* FROM subscriptions s LEFT JOIN teams t ON t.team_id = s.team_id"
        " WHERE s.status = 'active' AND s.frequency = 'instant'"
        " AND (t.status IS NULL OR t.status = 'active') ORDER BY s.id"
    )
    return [Subscription.from_row(row) for row in rows]


def sent_paper_ids(db: Database, subscription_id: int) -> set[int]:
    """Every paper this subscription was ever sent."""
    return {
        row["paper_id"]
        for row in db.query(
            "SELECT paper_id FROM sent_papers WHERE subscription_id = ?", [subscription_id]
        )
    }


def get_meta(db: Database, key: str) -> str | None:
    """A worker bookmark, such as the last paper id alerts have seen."""
    row = next(db.query("SELECT value FROM meta WHERE key = ?", [key]), None)
    return row["value"] if row else None


def set_meta(db: Database, key: str, value: str) -> None:
    """Store a worker bookmark."""
    with transaction(db):
        db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )


def ledger(db: Database, subscription_id: int | None = None) -> list[dict]:
    """Ledger rows (for tests, stats and the README's figures)."""
    if subscription_id is None:
        return list(db.query("SELECT * FROM deliveries ORDER BY id"))
    return list(
        db.query(
            "SELECT * FROM deliveries WHERE subscription_id = ? ORDER BY id", [subscription_id]
        )
    )
