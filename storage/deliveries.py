"""The delivery ledger: one row per subscription and period, claimed before sending and
confirmed after, so a digest or alert goes out once even across crashes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlite_utils import Database

from storage import index as search_index
from storage import subscriptions
from storage.db import transaction
from storage.errors import PapersError

# How far back `papers stats` counts failed deliveries: older ones are history.
FAILED_DAYS = 7


class State(StrEnum):
    """Where a delivery is: claimed (maybe prepared, not yet confirmed), or finished."""

    CLAIMED = "claimed"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass
class Claim:
    """A delivery row: `fresh` when this call made the claim."""

    id: int
    subscription_id: int
    period: str
    state: State
    fresh: bool
    attempts: int = 0
    channel: str | None = None
    message: dict | None = None
    paper_ids: list[int] = field(default_factory=list)
    claimed_at: str | None = None  # ISO time: a message posted for it is no older

    @property
    def key(self) -> str:
        """The delivery key posted in the message's metadata, to find it after a crash."""
        return f"{self.subscription_id}:{self.period}"


def _claim(row: dict, fresh: bool) -> Claim:
    return Claim(
        id=row["id"],
        subscription_id=row["subscription_id"],
        period=row["period"],
        state=State(row["state"]),
        fresh=fresh,
        attempts=row["attempts"] or 0,
        channel=row["channel"],
        message=json.loads(row["message"]) if row["message"] else None,
        paper_ids=json.loads(row["paper_ids"]) if row["paper_ids"] else [],
        claimed_at=row["claimed_at"],
    )


def claim(db: Database, subscription_id: int, period: str, now: datetime) -> Claim | None:
    """Claim (subscription, period), or return the row that already exists; None when the
    subscription was removed or paused (or its team left) since it was found due."""
    with transaction(db):
        if not subscriptions.is_active(db, subscription_id):
            return None
        seen, at = _seen(db, subscription_id), now.isoformat()
        cursor = db.execute(
            "INSERT OR IGNORE INTO deliveries (subscription_id, period, state, claimed_at,"
            " attempts, not_before, sightings_mark) VALUES (?, ?, ?, ?, 0, ?, ?)",
            [subscription_id, period, State.CLAIMED, at, at, seen],
        )
        row = next(
            db["deliveries"].rows_where(
                "subscription_id = ? AND period = ?", [subscription_id, period]
            )
        )
    return _claim(row, bool(cursor.rowcount))


def _seen(db: Database, subscription_id: int) -> int | None:
    """The newest sighting a digest chosen now can see: the store's newest, or for a
    keyword digest the search index's when it lags behind (it matches through the index: a
    paper stored but not indexed yet is none of its choices, and its next digest must still
    take it; a trending digest's runners-up would come back)."""
    newest = db.execute("SELECT MAX(id) FROM sightings").fetchone()[0]
    row = db.execute("SELECT keywords FROM subscriptions WHERE id = ?", [subscription_id])
    if not (row.fetchone() or [""])[0]:
        return newest
    try:
        indexed = search_index.watermark(db)
    except PapersError:  # no index for this database (in memory)
        indexed = None
    return min(newest, indexed[1]) if newest is not None and indexed else newest


def prepare(db: Database, claim: Claim, message: dict, paper_ids: list[int]) -> None:
    """Store what will be sent, before sending it (and on the claim object)."""
    with transaction(db):
        db["deliveries"].update(
            claim.id, {"message": json.dumps(message), "paper_ids": json.dumps(paper_ids)}
        )
    claim.message, claim.paper_ids = message, paper_ids


def set_channel(db: Database, claim: Claim, channel: str) -> None:
    """Record the channel (or opened DM) a prepared claim is posted to."""
    with transaction(db):
        db["deliveries"].update(claim.id, {"channel": channel})
    claim.channel = channel


def last_channel(db: Database, subscription_id: int) -> str | None:
    """The channel (or DM) the subscription's latest delivered message went to, if any."""
    rows = db.execute(
        "SELECT channel FROM deliveries WHERE subscription_id = ? AND state = ?"
        " AND channel IS NOT NULL ORDER BY id DESC LIMIT 1",
        [subscription_id, State.SENT],
    )
    row = rows.fetchone()
    return row[0] if row else None


def postpone(db: Database, claim_id: int, not_before: datetime) -> int:
    """Count a failed attempt and wait until not_before; returns the attempt number."""
    with transaction(db):
        db.execute(
            "UPDATE deliveries SET not_before = ?, attempts = attempts + 1 WHERE id = ?",
            [not_before.isoformat(), claim_id],
        )
        return db["deliveries"].get(claim_id)["attempts"]


def unfinished(db: Database, now: datetime) -> list[Claim]:
    """Claims that were prepared but never confirmed (a crash, or a transient failure),
    whose retry time has come."""
    rows = db["deliveries"].rows_where(
        "state = ? AND message IS NOT NULL AND not_before <= ?",
        [State.CLAIMED, now.isoformat()],
        order_by="id",
    )
    return [_claim(row, False) for row in rows]


def unfinished_claim(db: Database, claim_id: int) -> Claim | None:
    """The claim as it stands now, while it is still prepared and unconfirmed; else None."""
    rows = db["deliveries"].rows_where(
        "id = ? AND state = ? AND message IS NOT NULL", [claim_id, State.CLAIMED]
    )
    row = next(rows, None)
    return _claim(row, False) if row else None


def confirm(
    db: Database, claim: Claim, ts: str, now: datetime, next_due_at: datetime | None
) -> None:
    """Mark sent, remember the papers (never sent again), and move the schedule on."""
    with transaction(db):
        db["deliveries"].update(
            claim.id,
            {
                "state": State.SENT,
                "finished_at": now.isoformat(),
                "message_ts": ts,
                "paper_ids": json.dumps(claim.paper_ids),
                "message": None,
            },
        )
        # Plain SQL: sqlite-utils' insert_all(ignore=True) of one row that is already there
        # looks up its rowid, which this WITHOUT ROWID table has not, and raised.
        db.conn.executemany(
            "INSERT OR IGNORE INTO sent_papers (subscription_id, paper_id) VALUES (?, ?)",
            [(claim.subscription_id, p) for p in claim.paper_ids],
        )
        subscriptions.move_schedule(db, claim.subscription_id, now, next_due_at)


def finish(
    db: Database,
    claim: Claim,
    state: State,
    detail: str,
    now: datetime,
    next_due_at: datetime | None,
    pause_reason: str | None = None,
) -> None:
    """Close a claim without a message (skipped or failed), optionally pausing."""
    with transaction(db):
        db["deliveries"].update(
            claim.id,
            {"state": state, "finished_at": now.isoformat(), "detail": detail, "message": None},
        )
        if pause_reason:
            subscriptions.pause(db, claim.subscription_id, pause_reason)
        subscriptions.move_schedule(db, claim.subscription_id, None, next_due_at)


def advance_only(db: Database, subscription_id: int, next_due_at: datetime | None) -> None:
    """Move a schedule on when its period was already delivered (a crash after confirm)."""
    with transaction(db):
        subscriptions.move_schedule(db, subscription_id, None, next_due_at)


# The detail of a digest whose retry waited past the schedule's next slot: that slot's
# digest is sent instead, and covers this one's days too (storage.digests).
GAVE_WAY = "gave way to the digest of"
# The detail of a digest the worker was down for, past PAPERS_GRACE_MINUTES: the next
# digest sent covers its days too.
MISSED = "missed by"
# The detail of a digest that found nothing new to send: it chose, and chose nothing.
NOTHING_NEW = "nothing new"


# A digest settled as never sent (see never_sent): the condition and its parameters.
_NEVER_SENT = "state = ? AND (detail LIKE ? OR detail LIKE ?)"
_NEVER_SENT_ARGS = [State.SKIPPED, MISSED + "%", GAVE_WAY + "%"]


def never_sent(
    db: Database, subscription_id: int, periods: list[str]
) -> dict[str, datetime | None]:
    """For each of `periods` the ledger has a row for: when its digest was settled as never
    sent because the worker was down past grace or a later digest replaced it (the worker
    was back by then), or None when the period was settled otherwise: sent, empty, failed or
    still under way."""
    marks = ",".join("?" * len(periods))
    rows = db.execute(
        f"SELECT period, {_NEVER_SENT}, finished_at FROM deliveries"
        f" WHERE subscription_id = ? AND period IN ({marks})",
        [*_NEVER_SENT_ARGS, subscription_id, *periods],
    )
    return {
        period: datetime.fromisoformat(at) if unsent and at else None for period, unsent, at in rows
    }


def never_sent_since(db: Database, subscription_id: int, since: datetime) -> list[str]:
    """The periods of this subscription's digests settled as never sent (see never_sent) at
    or after `since`: those the worker, back from an outage, skipped on its way to the
    period at hand (or, with a clock that had jumped ahead, later ones)."""
    rows = db.execute(
        "SELECT period FROM deliveries"
        f" WHERE subscription_id = ? AND finished_at >= ? AND {_NEVER_SENT}",
        [subscription_id, since.isoformat(), *_NEVER_SENT_ARGS],
    )
    return [period for (period,) in rows]


def chosen_mark(db: Database, subscription_id: int) -> tuple[int, str] | None:
    """The newest sighting the subscription's latest digest could see when it chose its
    papers (sent, or nothing new to send), and the (UTC) day of its claim, the last listing
    day it could choose among: a paper first listed after the mark on a day up to then was
    never among any digest's choices. None before its first digest (or one from before the
    mark)."""
    row = db.execute(
        "SELECT sightings_mark, claimed_at FROM deliveries WHERE subscription_id = ?"
        " AND (state = ? OR (state = ? AND detail = ?)) ORDER BY id DESC LIMIT 1",
        [subscription_id, State.SENT, State.SKIPPED, NOTHING_NEW],
    ).fetchone()
    if row is None or row[0] is None:
        return None
    return row[0], datetime.fromisoformat(row[1]).astimezone(UTC).date().isoformat()


def sent_paper_ids(db: Database, subscription_id: int) -> set[int]:
    """Every paper this subscription was ever sent, or is being sent: a prepared claim not
    yet confirmed (a worker killed after posting it, a post being retried) is settled by
    recover_unfinished, so its papers must not go out again in another message meanwhile."""
    rows = db["sent_papers"].rows_where("subscription_id = ?", [subscription_id])
    sent = {row["paper_id"] for row in rows}
    unconfirmed = db["deliveries"].rows_where(
        "subscription_id = ? AND state = ? AND message IS NOT NULL",
        [subscription_id, State.CLAIMED],
        select="paper_ids",
    )
    for row in unconfirmed:
        sent.update(json.loads(row["paper_ids"] or "[]"))
    return sent


def delivered_papers(
    db: Database, key: str, team_id: str, channel_id: str | None = None
) -> list[int] | None:
    """The papers of the delivery with this key ("subscription id:period") for a click made
    in `channel_id` by a member of `team_id`, or None when there is no such delivery (removed
    with its subscription, or a forged key) or the click may not see it.

    A delivery that recorded its channel is seen from that channel only (Slack signs the
    channel a click came from): a channel's alert by any member of it, whichever workspace
    they are in (in a Slack Connect channel the partner's members see the alert too), a DM
    alert by its own team only. Which papers an alert announced is no business of another
    channel or workspace. One without a channel (never posted) keeps to its team."""
    subscription_id, _, period = key.partition(":")
    if not subscription_id.isdigit() or not period or int(subscription_id) >= 2**63:
        return None
    rows = db.query(
        "SELECT d.paper_ids, d.channel, s.team_id, s.kind FROM deliveries d"
        " JOIN subscriptions s ON s.id = d.subscription_id"
        " WHERE d.subscription_id = ? AND d.period = ?",
        [int(subscription_id), period],
    )
    row = next(rows, None)
    if row is None or not row["paper_ids"]:
        return None
    same_team = row["team_id"] == team_id
    if row["channel"]:
        seen = row["channel"] == channel_id and (same_team or row["kind"] == "channel")
    else:
        seen = same_team
    return json.loads(row["paper_ids"]) if seen else None


def ledger(db: Database, subscription_id: int | None = None) -> list[dict]:
    """Ledger rows (for tests, stats and the README's figures)."""
    if subscription_id is None:
        return list(db["deliveries"].rows_where(order_by="id"))
    return list(
        db["deliveries"].rows_where("subscription_id = ?", [subscription_id], order_by="id")
    )


def health(db: Database, now: datetime) -> dict:
    """For `papers stats`: active and paused subscriptions (each paused one with its
    reason), deliveries failed in the last FAILED_DAYS days and those still to be sent or
    retried (claimed, not confirmed)."""
    count = lambda sql, *args: next(db.query(sql, list(args)))["n"]  # noqa: E731
    since = (now - timedelta(days=FAILED_DAYS)).isoformat()
    paused = db.query(
        "SELECT id, target, paused_reason AS reason FROM subscriptions"
        " WHERE status = 'paused' ORDER BY id"
    )
    return {
        "subscriptions": {
            "active": count("SELECT COUNT(*) AS n FROM subscriptions WHERE status = 'active'"),
            "paused": list(paused),
        },
        "deliveries": {
            f"failed_last_{FAILED_DAYS}_days": count(
                "SELECT COUNT(*) AS n FROM deliveries WHERE state = ? AND finished_at >= ?",
                State.FAILED,
                since,
            ),
            "pending": count("SELECT COUNT(*) AS n FROM deliveries WHERE state = ?", State.CLAIMED),
        },
    }
