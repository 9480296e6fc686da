"""Delivering digests and alerts exactly once.

Each delivery is claimed in the ledger (unique per subscription and period), the message
is stored on the claim, then posted with its delivery key in Slack message metadata, then
confirmed. A worker killed between post and confirm finds the claim on restart, looks
for the key in the channel's history, and confirms the message it finds instead of
posting again; if the message is not there, it posts the stored one. So a due digest
goes out once: never twice, never zero.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlite_utils import Database

from jobs.digests import TrendingCache, build_digest
from jobs.slack import PAUSE_ERRORS, error_of, find_delivered, open_channel, post
from papers.config import Config
from papers.schedule import next_due, period
from storage import connect
from storage import deliveries as ledger
from storage.subscriptions import Subscription, by_id

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
DELIVERY_THREADS = 8
CHANNEL_BURST = 3
CHANNEL_INTERVAL = 1.0  # seconds
DUE_PER_RUN = 20_000
RETRY_BACKOFF = timedelta(minutes=2)
ClientFor = Callable[[str], WebClient | None]


def _key(claim: ledger.Claim) -> str:
    return f"{claim.subscription_id}:{claim.period}"


def _following(sub: Subscription, due: datetime, now: datetime) -> datetime | None:
    return next_due(sub.frequency, sub.at_time, sub.tz, sub.weekday, max(now, due))


def send(
    db: Database,
    client: WebClient,
    sub: Subscription,
    claim: ledger.Claim,
    now: datetime,
    next_at: datetime | None,
) -> str:
    """Post a prepared claim (or find it already posted) and settle it; returns an outcome."""
    assert claim.channel and claim.message
    try:
        ts = None
        if not claim.fresh:
            ts = find_delivered(client, claim.channel, _key(claim), now - timedelta(days=2))
        if ts is None:
            ts = post(client, claim.channel, claim.message, _key(claim))
            outcome = "sent"
        else:
            outcome = "recovered"
    except SlackApiError as exc:
        return _failed(db, sub, claim, error_of(exc), now, next_at)
    except Exception as exc:  # timeouts, connection errors: the outcome is unknown
        return _failed(db, sub, claim, type(exc).__name__, now, next_at)
    ledger.confirm(db, claim.id, sub.id, ts, claim.paper_ids, now, next_at)
    return outcome


def _failed(
    db: Database,
    sub: Subscription,
    claim: ledger.Claim,
    error: str,
    now: datetime,
    next_at: datetime | None,
) -> str:
    if error in PAUSE_ERRORS:
        log.warning("subscription %s paused: Slack said %s", sub.id, error)
        ledger.finish(
            db, claim.id, sub.id, "failed", error, now, next_at, pause_reason=f"Slack said {error}"
        )
        return "paused"
    attempts = ledger.postpone(db, claim.id, now + RETRY_BACKOFF * (claim.attempts + 1))
    if attempts >= MAX_ATTEMPTS:
        log.error(
            "subscription %s: giving up on %s after %d attempts (%s)",
            sub.id,
            claim.period,
            attempts,
            error,
        )
        ledger.finish(db, claim.id, sub.id, "failed", error, now, next_at)
        return "failed"
    log.warning("subscription %s: %s failed (%s); retrying later", sub.id, claim.period, error)
    return "retry"


def deliver_one(
    db: Database,
    config: Config,
    client: WebClient,
    sub: Subscription,
    now: datetime,
    cache: TrendingCache | None = None,
) -> str:
    """Deliver one due digest: claim, build, store, post, confirm. Returns an outcome."""
    due = datetime.fromisoformat(sub.next_due_at or now.isoformat())
    next_at = _following(sub, due, now)
    claim = ledger.claim(db, sub.id, period(sub.frequency, due, sub.tz), now)
    if not claim.fresh:
        if claim.state != "claimed":  # delivered before a crash moved the schedule on
            ledger.advance_only(db, sub.id, next_at)
            return "already"
        if claim.message is not None:
            return "pending"  # an unfinished claim: recover_unfinished owns it
    if now - due > timedelta(minutes=config.grace_minutes):
        late = int((now - due).total_seconds() // 60)
        ledger.finish(
            db,
            claim.id,
            sub.id,
            "skipped",
            f"missed by {late} min (grace {config.grace_minutes} min)",
            now,
            next_at,
        )
        return "skipped"
    digest = build_digest(db, config, sub, due, cache=cache)
    if digest.message is None:
        ledger.finish(db, claim.id, sub.id, "skipped", "nothing new", now, next_at)
        return "empty"
    try:
        channel = open_channel(client, sub.kind, sub.target)
    except SlackApiError as exc:
        claim.channel, claim.message = "?", digest.message
        return _failed(db, sub, claim, error_of(exc), now, next_at)
    ledger.prepare(db, claim.id, channel, digest.message, digest.paper_ids)
    claim.channel, claim.message, claim.paper_ids = channel, digest.message, digest.paper_ids
    return send(db, client, sub, claim, now, next_at)


def recover_unfinished(db: Database, client_for: ClientFor, now: datetime) -> Counter:
    """Settle claims a crash or a transient error left open: confirm or re-post each once."""
    outcomes: Counter = Counter()
    for claim in ledger.unfinished(db, now):
        sub = by_id(db, claim.subscription_id)
        client = client_for(sub.team_id) if sub else None
        if sub is None or client is None or sub.status != "active":
            ledger.finish(
                db,
                claim.id,
                claim.subscription_id,
                "failed",
                "subscription gone or paused",
                now,
                None,
            )
            outcomes["dropped"] += 1
            continue
        next_at = None
        if sub.frequency != "instant" and sub.next_due_at:
            next_at = _following(sub, datetime.fromisoformat(sub.next_due_at), now)
        outcomes[send(db, client, sub, claim, now, next_at)] += 1
    return outcomes


def _deliver_sub(
    db: Database,
    config: Config,
    client_for: ClientFor,
    sub: Subscription,
    now: datetime,
    cache: TrendingCache,
) -> str:
    """One due digest, with every failure turned into an outcome."""
    client = client_for(sub.team_id)
    try:
        if client is None:
            claim = ledger.claim(db, sub.id, "no-token", now)
            ledger.finish(
                db,
                claim.id,
                sub.id,
                "failed",
                "no bot token for this team",
                now,
                None,
                pause_reason="no bot token",
            )
            return "paused"
        return deliver_one(db, config, client, sub, now, cache)
    except Exception:
        log.exception("delivery for subscription %s failed", sub.id)
        return "error"


class _Pacer:
    """Hands out due digests so that each channel gets at most CHANNEL_BURST at once and
    then one per CHANNEL_INTERVAL seconds (Slack's ~1 message/second/channel), while other
    channels go ahead: a busy channel never holds up the rest, and 429s stay rare."""

    def __init__(self, groups: list[list[Subscription]]) -> None:
        self._queues = [deque(group) for group in groups]
        self._sent = [0] * len(groups)
        self._first: list[float | None] = [None] * len(groups)
        self._heap = [(0.0, index) for index in range(len(groups))]
        self._lock = threading.Lock()

    def take(self) -> tuple[int, Subscription] | None:
        """The next digest to send (waiting until its channel may take it), or None."""
        with self._lock:
            if not self._heap:
                return None
            ready_at, index = heapq.heappop(self._heap)
        delay = ready_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return index, self._queues[index].popleft()

    def done(self, index: int) -> None:
        """A digest of channel `index` went out: schedule the channel's next one, paced
        from when the channel's first message was answered (Slack counted it by then)."""
        with self._lock:
            self._sent[index] += 1
            if self._first[index] is None:
                self._first[index] = time.monotonic()
            if self._queues[index]:
                pace = max(0, self._sent[index] - CHANNEL_BURST + 1) * CHANNEL_INTERVAL
                heapq.heappush(self._heap, ((self._first[index] or 0.0) + pace, index))


def deliver_due(db: Database, config: Config, client_for: ClientFor, now: datetime) -> Counter:
    """Deliver every due digest; one bad subscription never holds up the others.

    Digests are grouped by channel and sent in order within a channel, paced to Slack's
    per-channel rate, by DELIVERY_THREADS threads that serve the other channels meanwhile."""
    outcomes = recover_unfinished(db, client_for, now)
    groups: dict[tuple[str, str], list[Subscription]] = {}
    for sub in ledger.due(db, now, limit=DUE_PER_RUN):
        groups.setdefault((sub.team_id, sub.target), []).append(sub)
    if groups:
        pacer, cache, lock = _Pacer(list(groups.values())), TrendingCache(), threading.Lock()

        def worker() -> None:
            own = connect(config.db_path)
            try:
                while (item := pacer.take()) is not None:
                    outcome = _deliver_sub(own, config, client_for, item[1], now, cache)
                    with lock:
                        outcomes[outcome] += 1
                    pacer.done(item[0])
            finally:
                own.close()

        threads = [
            threading.Thread(target=worker, name=f"deliver-{n}")
            for n in range(min(DELIVERY_THREADS, len(groups)))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if outcomes:
        log.info("deliveries: %s", dict(outcomes))
    return outcomes
