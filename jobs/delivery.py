"""Delivering digests and alerts exactly once, along one path.

Each delivery is claimed in the ledger (unique per subscription and period), the message
is built and stored on the claim, then posted with its delivery key in Slack message
metadata, then confirmed. A worker killed between post and confirm finds the claim on
restart, looks for the key in the channel's history, and confirms the message it finds
instead of posting again; if the message is not there, it posts the stored one. Any
failure on the way (no token, a DM that cannot be opened, a refused post) pauses the
subscription with Slack's reason, records a message Slack refuses for what it is as failed
(once: no retry changes it), or retries later. So a due digest or alert goes out
once: never twice, never zero, and never silently lost.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlite_utils import Database

from bot import views
from jobs.digests import build_digest
from jobs.slack import (
    PAUSE_ERRORS,
    REFUSED_ERRORS,
    Clients,
    error_of,
    find_delivered,
    open_channel,
    post,
    token_refused,
)
from storage import connect, teams
from storage import deliveries as ledger
from storage import subscriptions as subs
from storage.config import Config
from storage.deliveries import Claim, State
from storage.digests import CATCH_UP_DAYS, TrendingCache
from storage.subscriptions import Status, Subscription

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
DELIVERY_THREADS = 8
CHANNEL_BURST = 3
CHANNEL_INTERVAL = 1.0  # seconds
DUE_PER_RUN = 20_000
RETRY_BACKOFF = timedelta(minutes=2)
ClientFor = Clients  # team_id → its WebClient (jobs.slack)


class Outcome(StrEnum):
    """What one delivery attempt came to (counted per run and logged)."""

    SENT = "sent"
    RECOVERED = "recovered"  # found already posted after a crash; confirmed, not re-posted
    ALREADY = "already"  # this period was delivered before
    PENDING = "pending"  # an open claim that recover_unfinished owns
    SKIPPED = "skipped"  # too late to send
    EMPTY = "empty"  # nothing new to send
    PAUSED = "paused"
    RETRY = "retry"
    FAILED = "failed"  # given up after MAX_ATTEMPTS
    REFUSED = "refused"  # Slack refused the message for good: recorded once, not retried
    DROPPED = "dropped"  # an open claim whose subscription is gone or paused
    ERROR = "error"  # a bug: logged with its traceback


@dataclass
class Message:
    """What a delivery posts: the rendered message and the papers it holds."""

    body: dict
    paper_ids: list[int] = field(default_factory=list)


@dataclass
class Skip:
    """Why a due delivery sends nothing (finished as skipped, schedule moved on)."""

    reason: str
    outcome: Outcome = Outcome.SKIPPED


Build = Callable[[], Message | Skip]


class _Owners:
    """The claims a delivery in this worker is sending right now. The alert jobs and the
    delivery job run side by side: an alert prepared and still waiting on Slack (a 429's
    Retry-After, a slow answer) must not look to recover_unfinished like one a crash left
    behind, or both post it. Other workers are kept out by the lease."""

    def __init__(self) -> None:
        self._ids: set[int] = set()
        self._lock = threading.Lock()

    @contextmanager
    def own(self, claim_id: int) -> Iterator[bool]:
        """Hold the claim while sending it; yields False when another delivery holds it."""
        with self._lock:
            mine = claim_id not in self._ids
            self._ids.add(claim_id)
        try:
            yield mine
        finally:
            if mine:
                with self._lock:
                    self._ids.discard(claim_id)


_OWNERS = _Owners()


def deliver(
    db: Database,
    client_for: ClientFor,
    sub: Subscription,
    period: str,
    build: Build,
    now: datetime,
    next_at: datetime | None = None,
) -> Outcome:
    """The one send path: claim the period, build, open the channel, store, post, confirm.

    `next_at` is the subscription's next due moment once this period is settled."""
    claim = ledger.claim(db, sub.id, period, now)
    if claim is None:  # paused or removed while it waited its turn in this run
        log.info("subscription %s: paused or removed before its delivery; not sent", sub.id)
        return Outcome.DROPPED
    with _OWNERS.own(claim.id) as mine:
        if not mine:
            return Outcome.PENDING  # recover_unfinished is sending it right now
        return _deliver_claim(db, client_for, sub, claim, build, now, next_at)


def _deliver_claim(
    db: Database,
    client_for: ClientFor,
    sub: Subscription,
    claim: Claim,
    build: Build,
    now: datetime,
    next_at: datetime | None,
) -> Outcome:
    """deliver() once the claim is this delivery's to send."""
    if not claim.fresh:
        if claim.state != State.CLAIMED:  # delivered before a crash moved the schedule on
            ledger.advance_only(db, sub.id, next_at)
            return Outcome.ALREADY
        if claim.message is not None:
            return Outcome.PENDING  # an unfinished claim: recover_unfinished owns it
    client = client_for(sub.team_id)
    if client is None:
        return _failed(db, sub, claim, subs.NO_TOKEN, now, next_at, pause=True)
    built = build()
    if isinstance(built, Skip):
        ledger.finish(db, claim, State.SKIPPED, built.reason, now, next_at)
        return built.outcome
    # Stored before anything goes to Slack: from here on a failure or a crash leaves a
    # prepared claim that recover_unfinished settles, for alerts and digests alike.
    ledger.prepare(db, claim, built.body, built.paper_ids)
    return send(db, client, sub, claim, now, next_at, client_for)


def send(
    db: Database,
    client: WebClient,
    sub: Subscription,
    claim: Claim,
    now: datetime,
    next_at: datetime | None,
    clients: ClientFor | None = None,
) -> Outcome:
    """Open the channel if need be, post a prepared claim (or find it already posted after a
    crash) and settle it: confirmed, paused, or retried later. `clients` (the run's) give
    the team's new token when Slack refuses the one this run read."""
    assert claim.message
    try:
        ts = kept = None
        if claim.channel is None:  # never posted: the channel (or DM) is opened first
            kept = _kept_dm(db, sub)
            ledger.set_channel(db, claim, kept or open_channel(client, sub.kind, sub.target))
        elif not claim.fresh:
            ts = _posted_already(client, claim, now)
        outcome = Outcome.RECOVERED if ts else Outcome.SENT
        ts = ts or _post_fresh(db, client, sub, claim, kept)
    except SlackApiError as exc:
        if error_of(exc) in subs.TOKEN_ERRORS and clients is not None:
            return _token_refused(db, clients, client, sub, claim, error_of(exc), now, next_at)
        return _failed(db, sub, claim, error_of(exc), now, next_at, client=client)
    except Exception as exc:  # timeouts, connection errors: the outcome is unknown
        return _failed(db, sub, claim, type(exc).__name__, now, next_at)
    ledger.confirm(db, claim, ts, now, next_at)
    return outcome


def _kept_dm(db: Database, sub: Subscription) -> str | None:
    """The DM a message of this personal subscription went to before, used again: opening
    it (conversations.open, Tier 3: about 50 a minute per workspace) for each of hundreds of
    DM digests due at one minute met its 429s every day, and they came minutes late. A
    user's DM with the bot keeps its id."""
    return ledger.last_channel(db, sub.id) if sub.kind == subs.Kind.PERSONAL else None


def _post_fresh(
    db: Database, client: WebClient, sub: Subscription, claim: Claim, kept: str | None
) -> str:
    """Post a claim never posted before; in a DM `kept` from an earlier message that Slack
    no longer knows, after opening the DM again (refused, nothing was posted), rather than
    pause the subscription for good as a missing channel does."""
    assert claim.message
    try:
        return post(client, str(claim.channel), claim.message, claim.key)
    except SlackApiError as exc:
        if not kept or error_of(exc) != "channel_not_found":
            raise
    ledger.set_channel(db, claim, open_channel(client, sub.kind, sub.target))
    return post(client, str(claim.channel), claim.message, claim.key)


def _claimed(claim: Claim, now: datetime) -> datetime:
    """When the claim was made (`now` for one that does not say)."""
    return datetime.fromisoformat(claim.claimed_at) if claim.claimed_at else now


def _posted_already(client: WebClient, claim: Claim, now: datetime) -> str | None:
    """The ts of the message a claim with a channel was posted as before a crash (a timeout
    Slack had in fact taken), or None. Searched from the claim on: however long ago that
    was, and however busy the channel has been since, it is found, never posted twice."""
    return find_delivered(client, str(claim.channel), claim.key, _claimed(claim, now))


def _token_refused(
    db: Database,
    clients: ClientFor,
    client: WebClient,
    sub: Subscription,
    claim: Claim,
    error: str,
    now: datetime,
    next_at: datetime | None,
) -> Outcome:
    """Slack refused the bot token this run read. A reinstall since then stored a new one:
    send with it. auth.test refuses the token too: it is dead, and the whole team stops
    until a reinstall. Otherwise the token works and the refusal concerned this one call."""
    fresh = clients.renewed(sub.team_id, client)
    if fresh is not None:
        log.info(
            "team %s: installed again during this run; sending with its new token", sub.team_id
        )
        return send(db, fresh, sub, claim, now, next_at, clients)
    refused = token_refused(client)
    if refused:
        log.warning(
            "team %s: Slack refused its bot token (%s); delivery stopped", sub.team_id, error
        )
        ledger.finish(db, claim, State.FAILED, error, now, next_at, pause_reason=teams.REFUSED)
        teams.deactivate(db, sub.team_id, teams.REFUSED, now)
        return Outcome.PAUSED
    if refused is False and error == "account_inactive":  # about this call, not the token
        return _failed(db, sub, claim, error, now, next_at, client=client)  # "Slack said ..."
    log.warning(
        "team %s: Slack refused its bot token once (%s); retrying later", sub.team_id, error
    )
    return _failed(db, sub, claim, error, now, next_at, retry=True)


# Why Slack refused a channel's message that a member can fix in the channel (a reinstall
# fixes the token's and scopes' refusals by itself, and resumes what they paused).
CHANNEL_REFUSALS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
    }
)


def _tell_owner(client: WebClient, sub: Subscription, error: str) -> None:
    """DM the member who set up a channel's digest that Slack refused it there and it is
    paused: the digest's absence tells nobody. Best effort: a DM that fails is logged."""
    try:
        dm = open_channel(client, subs.Kind.PERSONAL, sub.user_id)
        notice = views.paused_notice(sub, error)
        client.chat_postMessage(channel=dm, text=notice["text"], blocks=notice["blocks"])
    except Exception as exc:  # the pause stands; only the notice is lost
        log.warning(
            "subscription %s: could not tell %s it is paused (%s)", sub.id, sub.user_id, exc
        )


def _failed(
    db: Database,
    sub: Subscription,
    claim: Claim,
    error: str,
    now: datetime,
    next_at: datetime | None,
    pause: bool = False,
    retry: bool = False,
    client: WebClient | None = None,
) -> Outcome:
    """Pause on an error of the channel or token that will not fix itself (a channel's that
    its owner can fix is told them, through `client`), record a message Slack refuses for
    good as failed; otherwise retry with backoff, then give up. `pause` or `retry` decides
    for an error whatever it is."""
    if pause or (error in PAUSE_ERRORS and not retry):
        reason = error if pause else f"Slack said {error}"
        log.warning("subscription %s paused: %s", sub.id, reason)
        ledger.finish(db, claim, State.FAILED, error, now, next_at, pause_reason=reason)
        if client is not None and sub.kind == subs.Kind.CHANNEL and error in CHANNEL_REFUSALS:
            _tell_owner(client, sub, error)
        return Outcome.PAUSED
    if error in REFUSED_ERRORS:
        log.error(
            "subscription %s: Slack refused the message for %s (%s); not sent, not retried",
            sub.id,
            claim.period,
            error,
        )
        ledger.finish(db, claim, State.FAILED, f"Slack refused it: {error}", now, next_at)
        return Outcome.REFUSED
    attempts = ledger.postpone(db, claim.id, now + RETRY_BACKOFF * (claim.attempts + 1))
    if attempts >= MAX_ATTEMPTS:
        log.error(
            "subscription %s: giving up on %s after %d attempts (%s)",
            sub.id,
            claim.period,
            attempts,
            error,
        )
        ledger.finish(db, claim, State.FAILED, error, now, next_at)
        return Outcome.FAILED
    log.warning("subscription %s: %s failed (%s); retrying later", sub.id, claim.period, error)
    return Outcome.RETRY


def _following(sub: Subscription, now: datetime) -> datetime | None:
    """The next due moment once the period at hand is settled: the first slot after the one
    that came due. A schedule already pointing past `now` stays: it was changed while a claim
    waited for its retry, and the slot after that one would skip a whole period."""
    due = datetime.fromisoformat(sub.next_due_at) if sub.next_due_at else None
    if due is not None and due > now:
        return due
    return sub.schedule.next_fire_time(due, now)


def _missed(
    sub: Subscription, due: datetime, now: datetime, grace_minutes: int, next_at: datetime | None
) -> Skip:
    """The skip of a digest the worker was down for past grace, saying where its papers go."""
    late = int((now - due).total_seconds() // 60)
    # Its papers are not lost: storage.digests.window_days gives them to the next digest,
    # which reaches back CATCH_UP_DAYS local days (after weeks down, the last two weeks').
    local = sub.schedule.local
    apart = (local(next_at).date() - local(due).date()).days if next_at else CATCH_UP_DAYS
    where = (
        "its papers come in the next digest"
        if apart < CATCH_UP_DAYS
        else f"the next digest brings the last {CATCH_UP_DAYS} days' papers"
    )
    return Skip(f"{ledger.MISSED} {late} min (grace {grace_minutes} min); {where}")


def deliver_digest(
    db: Database,
    config: Config,
    client_for: ClientFor,
    sub: Subscription,
    now: datetime,
    cache: TrendingCache | None = None,
) -> Outcome:
    """Deliver one due digest (or skip it when it is too late or has nothing new)."""
    due = datetime.fromisoformat(sub.next_due_at or now.isoformat())
    grace = timedelta(minutes=config.grace_minutes)
    # A worker down over several slots: the ones beyond grace are missed, but a later one
    # still within grace (yesterday's 09:00 missed, today's an hour ago) is sent, now.
    latest = sub.schedule.next_fire_time(due, now - grace) if now - due > grace else None
    if latest is not None and latest <= now:
        missed = _missed(sub, due, now, config.grace_minutes, latest)
        outcome = deliver(
            db, client_for, sub, sub.schedule.period(due), lambda: missed, now, latest
        )
        moved = subs.by_id(db, sub.id)
        if (
            moved is None
            or moved.status != Status.ACTIVE
            or moved.next_due_at != latest.isoformat()
        ):
            return outcome
        sub, due = moved, latest
    following = _following(sub, now)

    def build() -> Message | Skip:
        if now - due > grace:
            return _missed(sub, due, now, config.grace_minutes, following)
        digest = build_digest(db, config, sub, due, cache=cache)
        if digest.message is None:
            return Skip(ledger.NOTHING_NEW, Outcome.EMPTY)
        return Message(digest.message, digest.paper_ids)

    return deliver(db, client_for, sub, sub.schedule.period(due), build, now, following)


def recover_unfinished(
    db: Database, client_for: ClientFor, now: datetime, stopping: threading.Event | None = None
) -> Counter:
    """Settle claims a crash or a transient error left open: confirm or re-post each once
    (until `stopping` is set)."""
    outcomes: Counter = Counter()
    for listed in ledger.unfinished(db, now):
        if stopping is not None and stopping.is_set():
            break
        with _OWNERS.own(listed.id) as mine:
            # Another delivery of this worker holds it (an alert waiting on Slack), or it
            # was settled since it was listed: not this run's to send.
            claim = ledger.unfinished_claim(db, listed.id) if mine else None
            if claim is not None:
                outcomes[_recover(db, client_for, claim, now)] += 1
    return outcomes


def _recover(db: Database, client_for: ClientFor, claim: Claim, now: datetime) -> Outcome:
    """Settle one unfinished claim this run holds."""
    sub = subs.by_id(db, claim.subscription_id)
    client = client_for(sub.team_id) if sub else None
    if sub is None or client is None or sub.status != Status.ACTIVE:
        ledger.finish(db, claim, State.FAILED, "subscription gone or paused", now, None)
        return Outcome.DROPPED
    later = None if sub.is_instant else _superseding(sub, claim, now)
    if later is not None:
        return _give_way(db, client, sub, claim, later, now)
    next_at = None if sub.is_instant or not sub.next_due_at else _following(sub, now)
    return send(db, client, sub, claim, now, next_at, client_for)


def _superseding(sub: Subscription, claim: Claim, now: datetime) -> datetime | None:
    """The schedule's slot, come since the claim was made, of a later period than the
    claim's: a digest whose retry waited past the next day's (or week's) slot, as for a
    worker down until then. None while the claim's own period is the latest."""
    latest = sub.schedule.last_fire_time(now)
    if (
        latest is None
        or latest <= _claimed(claim, now)
        or sub.schedule.period(latest) == claim.period
    ):
        return None
    return latest


def _give_way(
    db: Database,
    client: WebClient,
    sub: Subscription,
    claim: Claim,
    later: datetime,
    now: datetime,
) -> Outcome:
    """Settle a digest whose retry waited past the next slot without posting it: yesterday's
    digest, dated yesterday, posted today and counted as today's, moved the schedule past
    today's slot, and today's was never sent. Its period is closed as having given way, and
    the schedule is due at the later slot: that digest (sent within grace, as after any
    outage) covers the days of this one too (storage.digests). One already posted before a
    crash is confirmed instead."""
    try:
        # Posted before a crash: confirmed, as recovery does.
        ts = _posted_already(client, claim, now) if claim.channel else None
    except SlackApiError as exc:
        return _failed(db, sub, claim, error_of(exc), now, None, client=client)
    except Exception as exc:  # the history cannot be read now: settled on the next try
        return _failed(db, sub, claim, type(exc).__name__, now, None)
    due = datetime.fromisoformat(sub.next_due_at) if sub.next_due_at else None
    next_at = later if due is None or due < later else None  # a changed schedule stays
    if ts:
        ledger.confirm(db, claim, ts, now, next_at)
        return Outcome.RECOVERED
    period = sub.schedule.period(later)
    log.warning(
        "subscription %s: the digest for %s waited for its retry past the %s slot;"
        " not sent: it gives way to the digest of %s, which covers its days too",
        sub.id,
        claim.period,
        later.isoformat(),
        period,
    )
    # Shown in /papers list and on App Home: the day, as the digest's heading names it (a
    # period such as `2026-W13` means nothing to a reader).
    day = sub.schedule.local(later).strftime("%a, %b %-d")
    detail = f"{ledger.GAVE_WAY} {day}, which holds its papers (its retry waited past that slot)"
    ledger.finish(db, claim, State.SKIPPED, detail, now, next_at)
    return Outcome.SKIPPED


def _deliver_guarded(
    db: Database,
    config: Config,
    client_for: ClientFor,
    sub: Subscription,
    now: datetime,
    cache: TrendingCache,
) -> Outcome:
    """One due digest; an unexpected failure is logged and counted, never raised."""
    try:
        return deliver_digest(db, config, client_for, sub, now, cache)
    except Exception:
        log.exception("delivery for subscription %s failed", sub.id)
        return Outcome.ERROR


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

    def left(self) -> int:
        """How many digests were never taken (a run stopped before them)."""
        with self._lock:
            return sum(len(queue) for queue in self._queues)

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


def deliver_due(
    db: Database,
    config: Config,
    client_for: ClientFor,
    now: datetime,
    stopping: threading.Event | None = None,
) -> Counter:
    """Deliver every due digest; one bad subscription never holds up the others.

    Digests are grouped by channel and sent in order within a channel, paced to Slack's
    per-channel rate, by DELIVERY_THREADS threads that serve the other channels meanwhile.
    Once `stopping` is set (the worker is stopping), no further digest is begun: those
    stay due, for the next worker."""
    stopping = stopping or threading.Event()
    outcomes = recover_unfinished(db, client_for, now, stopping)
    for sub, due_at in subs.realign(db, now):
        log.warning(
            "subscription %s was next due at %s, beyond its schedule (the clock jumped?);"
            " rescheduled for %s",
            sub.id,
            sub.next_due_at,
            due_at.isoformat(),
        )
    groups: dict[tuple[str, str], list[Subscription]] = {}
    for sub in subs.due(db, now, limit=DUE_PER_RUN):
        groups.setdefault((sub.team_id, sub.target), []).append(sub)
    if groups:
        pacer, cache, lock = _Pacer(list(groups.values())), TrendingCache(), threading.Lock()

        def worker() -> None:
            own = connect(config.db_path)
            try:
                while not stopping.is_set() and (item := pacer.take()) is not None:
                    index, sub = item
                    outcome = _deliver_guarded(own, config, client_for, sub, now, cache)
                    with lock:
                        outcomes[outcome] += 1
                    pacer.done(index)
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
        if left := pacer.left():  # else a stop reads as a run that finished
            why = "stopping: " if stopping.is_set() else ""
            log.info("deliveries: %s%d due digests not begun, left for the next run", why, left)
    if outcomes:
        log.info("deliveries: %s", {str(k): v for k, v in outcomes.items()})
    return outcomes
