"""The worker: an APScheduler 3 scheduler that only adds jobs. Schedules live in SQLite,
so a restarted worker knows what is due."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from jobs.alerts import run_alerts
from jobs.author_alerts import run_author_alerts
from jobs.delivery import deliver_due
from jobs.inbox import ingest_sources
from jobs.slack import client_factory
from storage import connect
from storage import index as search_index
from storage.config import Config

log = logging.getLogger(__name__)


def ingest_and_alert(config: Config, now: datetime | None = None) -> None:
    """Job: ingest the inbox and feeds, then send keyword and author alerts for what arrived."""
    db = connect(config.db_path)
    try:
        now = now or datetime.now(UTC)
        ingest_sources(db, config, now)
        client_for = client_factory(config)
        run_alerts(db, client_for, now)
        run_author_alerts(db, client_for, now)
    finally:
        db.close()


def deliver(config: Config, now: datetime | None = None) -> None:
    """Job: deliver the digests that are due."""
    db = connect(config.db_path)
    try:
        deliver_due(db, config, client_factory(config), now or datetime.now(UTC))
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


def add_jobs(scheduler: BaseScheduler, config: Config) -> None:
    """Add the ingest+alerts job and the every-minute delivery job."""
    common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 60}
    scheduler.add_job(
        ingest_and_alert,
        IntervalTrigger(minutes=config.ingest_interval_minutes),
        args=[config],
        id="ingest",
        next_run_time=datetime.now(UTC),
        **common,
    )
    scheduler.add_job(
        deliver,
        IntervalTrigger(minutes=1),
        args=[config],
        id="deliver",
        next_run_time=datetime.now(UTC),
        **common,
    )


def run(config: Config) -> None:
    """Run the worker until interrupted."""
    db = connect(config.db_path)
    try:
        # Repair (or rebuild) the search index before serving: a crash may have left papers
        # in SQLite past the index's watermark.
        search_index.ensure(db)
    finally:
        db.close()
    scheduler = BlockingScheduler(timezone=UTC)
    add_jobs(scheduler, config)
    log.info(
        "worker started: ingest every %d min, deliveries every minute",
        config.ingest_interval_minutes,
    )
    scheduler.start()
