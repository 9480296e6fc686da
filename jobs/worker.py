"""The worker: an APScheduler 3 scheduler that only adds jobs. Schedules live in SQLite,
so a restarted worker knows what is due."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from jobs.alerts import run_alerts
from jobs.delivery import deliver_due
from jobs.inbox import ingest_sources
from jobs.slack import client_factory
from storage import connect
from storage import index as search_index
from storage.config import Config

log = logging.getLogger(__name__)


def ingest_and_alert(config: Config, now: datetime | None = None) -> None:
    """Job: ingest the inbox and feeds, then send keyword alerts for what arrived."""
    db = connect(config.db_path)
    try:
        now = now or datetime.now(UTC)
        ingest_sources(db, config, now)
        run_alerts(db, client_factory(config), now)
    finally:
        db.close()


def deliver(config: Config, now: datetime | None = None) -> None:
    """Job: deliver the digests that are due."""
    db = connect(config.db_path)
    try:
        deliver_due(db, config, client_factory(config), now or datetime.now(UTC))
    finally:
        db.close()


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
