"""The worker: an APScheduler 3 scheduler that only adds jobs. Schedules live in SQLite,
so a restarted worker knows what is due; a lease in SQLite lets one worker at a time act."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlite_utils import Database

from jobs.alerts import run_alerts
from jobs.author_alerts import run_author_alerts
from jobs.delivery import deliver_due
from jobs.inbox import check_inbox, ingest_feeds, ingest_inbox
from jobs.slack import check_token_key, client_factory
from storage import connect, lease
from storage import index as search_index
from storage.config import Config
from storage.errors import PapersError

log = logging.getLogger(__name__)
LEASE = "worker"


def ingest_and_alert(config: Config, now: datetime | None = None) -> None:
    """Job: ingest the inbox, then send keyword and author alerts for what arrived. Feeds
    are their own job, so a slow feed never holds up the inbox or its alerts."""
    db = connect(config.db_path, create=False)
    try:
        now = now or datetime.now(UTC)
        with _INBOX:  # the regular job and make run's watch never read one file together
            ingest_inbox(db, config, now)
        _alerts(db, config, now)
    finally:
        db.close()


_INBOX = threading.Lock()
# The inbox and the feeds jobs may finish together: one alert run at a time, so both never
# alert the same new paper from the same bookmark (other workers are kept out by the lease).
_ALERTS = threading.Lock()
# Held by a delivery run. stop() waits for it and for _ALERTS before it gives the lease up:
# a worker taking over would find a digest or alert still being posted here, take it for
# one a crash left behind, and post it a second time.
_DELIVERING = threading.Lock()
# Set by stop(): a delivery run takes no further digest (those stay due, for the next
# worker) and an ingest that finishes sends no alerts (its bookmark stays where it was).
_STOPPING = threading.Event()


def _alerts(db: Database, config: Config, now: datetime) -> None:
    """Keyword alerts, then author alerts, for what the ingest brought."""
    client_for = client_factory(config)
    with _ALERTS:
        if _STOPPING.is_set():
            return
        run_alerts(db, client_for, now, _STOPPING)
        run_author_alerts(db, client_for, now, _STOPPING)


def feeds_and_alert(config: Config, now: datetime | None = None) -> None:
    """Job: fetch the feeds (each within the feed deadline), then send their alerts."""
    db = connect(config.db_path, create=False)
    try:
        now = now or datetime.now(UTC)
        ingest_feeds(db, config, now)
        _alerts(db, config, now)
    finally:
        db.close()


def deliver(config: Config, now: datetime | None = None) -> None:
    """Job: deliver the digests that are due."""
    db = connect(config.db_path, create=False)
    try:
        with _DELIVERING:
            now = now or datetime.now(UTC)
            deliver_due(db, config, client_factory(config), now, stopping=_STOPPING)
    finally:
        db.close()


def _listing(inbox: Path) -> frozenset[tuple[str, int, int]]:
    try:
        return frozenset(
            (p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in inbox.iterdir() if p.is_file()
        )
    except OSError:
        return frozenset()


class InboxWatch:
    """Job for `make run`: ingest (and alert) as soon as a file appears or changes in the
    inbox, instead of at the next ingest run. Polling a folder listing costs nothing; a
    change is acted on once two polls agree, so a file still being copied is not read."""

    def __init__(self, config: Config) -> None:
        self.config = config
        # What is there at start is the regular ingest job's first run.
        self.seen = _listing(Path(config.inbox_dir))
        self.pending: frozenset | None = None

    def __call__(self, now: datetime | None = None) -> bool:
        """Ingest when the inbox changed and then held still for a poll; returns whether
        it did."""
        current = _listing(Path(self.config.inbox_dir))
        if current == self.seen or current != self.pending:
            self.pending = None if current == self.seen else current
            return False
        self.seen, self.pending = current, None
        ingest_and_alert(self.config, now)
        return True


class Lease:
    """This worker's hold on the SQLite lease: taken or renewed before every job and by a
    heartbeat; while another live worker holds it, jobs wait (and the log says so)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._waiting_for: str | None = None
        self._released = False
        self._lock = threading.Lock()

    def held(self, now: datetime | None = None) -> bool:
        """Take or renew the lease; False (logged once per holder) while another has it,
        and for good once released (a job still running at shutdown takes it no more)."""
        with self._lock:  # never renewed between release()'s check and its delete
            if self._released:
                return False
            db = connect(self.config.db_path, create=False)
            try:
                ttl = timedelta(seconds=self.config.lease_seconds)
                got = lease.acquire(db, LEASE, self.holder, now or datetime.now(UTC), ttl)
            finally:
                db.close()
        if got.holder == self.holder:
            if self._waiting_for:
                log.info("took over the worker lease from %s", self._waiting_for)
            self._waiting_for = None
            return True
        if got.holder != self._waiting_for:
            log.info(
                "another worker (%s) holds the lease until %s; waiting instead of running jobs",
                got.holder,
                got.expires_at,
            )
        self._waiting_for = got.holder
        return False

    def release(self) -> None:
        """Give the lease up (clean shutdown), so another worker need not wait for expiry."""
        with self._lock:
            db = connect(self.config.db_path, create=False)
            try:
                lease.release(db, LEASE, self.holder)
            finally:
                db.close()
            # Only once it is gone: a release that failed leaves the lease to lapse.
            self._released = True


def _guarded(job: Callable[[Config], None], config: Config, hold: Lease) -> Callable[[], bool]:
    """The job under the lease; a database problem is one logged line, never a crash."""

    def run() -> bool:
        """Run the job if this worker holds the lease; returns whether it held it."""
        try:
            if not hold.held():
                return False
            job(config)
        except PapersError as exc:
            log.error("%s: %s", job.__name__, exc)
        except Exception:
            log.exception("%s failed", job.__name__)
        return True

    run.__name__ = run.__qualname__ = job.__name__  # APScheduler logs jobs by this name
    return run


# How long a worker's first delivery run waits, at most, for the inbox's and the feeds'.
FIRST_INGEST_WAIT_SECONDS = 300


class _FirstIngest:
    """Starts a worker's deliveries once the inbox and the feeds have each been read once
    (or FIRST_INGEST_WAIT_SECONDS after the start, whichever comes first): after an outage,
    the digest that catches up the days it missed (storage.digests.window_days) must hold
    the papers listed meanwhile, which the worker ingests as it starts. Started with the
    other jobs, the digest went out before the feeds were read."""

    def __init__(self, scheduler: BaseScheduler, jobs: tuple[str, ...], retry: timedelta) -> None:
        self.scheduler = scheduler
        self._left = set(jobs)
        self._lock = threading.Lock()
        self._retry = retry

    def marked(self, job_id: str, run: Callable[[], bool]) -> Callable[[], None]:
        """The job `run`; its first run under the lease, whatever came of it, counts as done.
        One that found the lease held elsewhere (a worker killed with it) runs again at
        `retry`: counted, it started deliveries before an ingest an interval away."""

        def marked_run() -> None:
            ran = True
            try:
                ran = run()
            finally:
                if ran:
                    self._done(job_id)
                else:
                    self._again(job_id)

        marked_run.__name__ = marked_run.__qualname__ = run.__name__
        return marked_run

    def _done(self, job_id: str) -> None:
        with self._lock:
            # Only the run that completes the set starts them: not every later run.
            last = job_id in self._left and len(self._left) == 1
            self._left.discard(job_id)
        if last:
            self.start_deliveries()

    def _again(self, job_id: str) -> None:
        with self._lock:
            if job_id not in self._left:  # its first run is done, or the deadline came
                return
        # After the scheduler's own update of the job: it holds its job store's lock from
        # submitting a run until then, and modify_job takes that lock too.
        with contextlib.suppress(JobLookupError):  # the worker stopped meanwhile
            self.scheduler.modify_job(job_id, next_run_time=datetime.now(UTC) + self._retry)

    def start_deliveries(self) -> None:
        """Run the paused delivery job now, and every minute from then on (once)."""
        with self._lock:
            if self._left:  # the deadline came first
                log.warning("deliveries begin before the first run of: %s", sorted(self._left))
                self._left.clear()
            try:
                job = self.scheduler.get_job("deliver")
                if job is not None and job.next_run_time is None:
                    self.scheduler.modify_job("deliver", next_run_time=datetime.now(UTC))
            except JobLookupError:  # the worker stopped meanwhile
                pass


def add_jobs(scheduler: BaseScheduler, config: Config, hold: Lease | None = None) -> Lease:
    """Add the inbox, feeds and delivery jobs (deliveries once both have run, see
    _FirstIngest), and the lease heartbeat; returns the lease."""
    hold = hold or Lease(config)
    _STOPPING.clear()
    common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 60}
    start = datetime.now(UTC)
    beat = timedelta(seconds=config.lease_seconds / 4)
    first = _FirstIngest(scheduler, ("ingest", "feeds"), retry=beat)
    for job_id, job, trigger in [
        ("ingest", ingest_and_alert, IntervalTrigger(minutes=config.ingest_interval_minutes)),
        ("feeds", feeds_and_alert, IntervalTrigger(minutes=config.ingest_interval_minutes)),
    ]:
        run = first.marked(job_id, _guarded(job, config, hold))
        scheduler.add_job(run, trigger, id=job_id, next_run_time=start, **common)
    # Added paused (no next run time): _FirstIngest starts it.
    deliveries = _guarded(deliver, config, hold)
    scheduler.add_job(
        deliveries, IntervalTrigger(minutes=1), id="deliver", next_run_time=None, **common
    )
    wait = timedelta(seconds=FIRST_INGEST_WAIT_SECONDS)
    scheduler.add_job(first.start_deliveries, DateTrigger(start + wait), id="deliver-start")
    # The heartbeat: a long delivery run must not let the lease lapse.
    scheduler.add_job(
        _held_or_logged,
        IntervalTrigger(seconds=beat.total_seconds()),
        args=[hold],
        id="lease",
        **common,
    )
    return hold


def watch_inbox(scheduler: BaseScheduler, config: Config, hold: Lease, seconds: int) -> None:
    """For `make run`: ingest files dropped into the inbox within seconds, under the lease
    like every other job."""
    watch = InboxWatch(config)

    def inbox_watch(_config: Config) -> None:
        watch()

    trigger = IntervalTrigger(seconds=seconds)
    scheduler.add_job(
        _guarded(inbox_watch, config, hold),
        trigger,
        id="inbox-watch",
        max_instances=1,
        coalesce=True,
    )


def _held_or_logged(hold: Lease) -> bool:
    try:
        return hold.held()
    except PapersError as exc:
        log.error("lease: %s", exc)
        return False


def prepare_index(config: Config) -> None:
    """Repair (or rebuild) the search index before the jobs start: a crash may have left
    papers in SQLite past the index's watermark. Only the lease holder writes the index."""
    db = connect(config.db_path, create=False)
    try:
        search_index.ensure(db)
        hint = search_index.split_hint(db)
        if hint:
            log.warning("%s", hint)
    finally:
        db.close()


def stop_on_sigterm() -> None:
    """Make SIGTERM (and SIGHUP: the terminal of a `make run` closed) stop the main thread
    as Ctrl-C does (KeyboardInterrupt), once; by default SIGHUP killed the process with its
    lease held, and the next `make run` ran no job until it lapsed.

    The handler takes no lock: Python runs it in the main thread between any two bytecodes,
    so one that set an Event (or woke a scheduler) could run while the main thread held that
    very lock, inside Event.wait or a first handler's Event.set, and hang for good. A second
    SIGTERM, as `make` forwards its group's to `papers run`, is ignored: it must not cut the
    shutdown short (the lease release)."""
    stopping = False

    def on_term(*_) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)


def stop(scheduler: BaseScheduler, hold: Lease) -> None:
    """Shut the scheduler down, let the digests and alerts being posted finish (a delivery
    run takes no further one), then give the worker lease up (a failure is logged: the
    lease expires on its own)."""
    _STOPPING.set()
    if scheduler.running:
        scheduler.shutdown(wait=False)
    # Nothing of this worker's is in flight past here. The heartbeat stopped with the
    # scheduler: the lease is renewed while a post waits on Slack (a 429's Retry-After),
    # or another worker could take it over and post what is in flight a second time.
    renew = max(hold.config.lease_seconds / 4, 0.1)
    for lock in (_DELIVERING, _ALERTS):
        while not lock.acquire(timeout=renew):
            hold.held()
        lock.release()
    try:
        hold.release()
    except PapersError as exc:
        log.error("lease: %s", exc)


def run(config: Config) -> None:
    """Run the worker until interrupted (SIGTERM or Ctrl-C), then release the lease."""
    # With no token every due digest and alert would pause its subscription ("no bot token
    # for this team"), and stay paused once the token is back: refuse to start, as the bot
    # does; in OAuth mode a missing or bad PAPERS_TOKEN_KEY too (the store checks it).
    config.check_slack_credentials()
    check_inbox(config)  # one line now, not a failed ingest at every run
    scheduler = BlockingScheduler(timezone=UTC)
    hold = Lease(config)
    idle = threading.Event()  # never set: a wait that SIGTERM or Ctrl-C ends
    connect(config.db_path).close()  # create and migrate; a bad file stops here, in one line
    # OAuth: a missing, bad or changed PAPERS_TOKEN_KEY stops here, once for the process
    # (the environment is read once), instead of failing every delivery after.
    check_token_key(config)
    log.info("worker %s started", hold.holder)
    try:
        stop_on_sigterm()
        # Jobs start once this worker holds the lease, so taking over from a dead worker
        # runs them at once instead of an ingest interval later.
        while not _held_or_logged(hold):
            idle.wait(config.lease_seconds / 4)
        prepare_index(config)
        add_jobs(scheduler, config, hold)
        log.info(
            "worker %s runs the jobs: inbox and feeds every %d min, deliveries every minute",
            hold.holder,
            config.ingest_interval_minutes,
        )
        scheduler.start()
    except KeyboardInterrupt:
        pass
    finally:
        stop(scheduler, hold)
