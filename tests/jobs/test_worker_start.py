"""What the worker does before its jobs run: the search index, and the first deliveries."""

from __future__ import annotations

import json
import logging
import threading

import pytest

from jobs.worker import prepare_index
from storage import connect
from storage import index as search_index


@pytest.mark.parametrize(
    ("split_from", "told"), [(10**9, False), (1, True)], ids=["small", "grown"]
)
def test_the_worker_says_when_a_grown_store_should_be_reindexed(
    worker_config, monkeypatch, caplog, split_from, told
):
    db = connect(worker_config.db_path)
    papers = db["papers"].count
    db.close()
    monkeypatch.setattr(search_index, "SHARD_PAPERS", split_from)
    with caplog.at_level(logging.WARNING, logger="jobs.worker"):
        prepare_index(worker_config)
    hint = f"The search index holds {papers} papers in one shard: run `papers reindex`"
    assert (hint in caplog.text) is told


def test_a_digest_that_catches_up_an_outage_waits_for_the_feeds_read_at_start(
    worker_config, subscribe, stub, file_server
):
    """The worker was down from before Wednesday's 09:00 until Thursday 10:00: Thursday's
    digest covers Wednesday too. All jobs start at once, and the digest went out before the
    feeds brought what was listed while the worker was down; now the first delivery waits
    for the first feeds run (the feed answers a second late here)."""
    from dataclasses import replace
    from datetime import UTC, datetime

    import time_machine
    from apscheduler.schedulers.background import BackgroundScheduler

    from jobs import worker
    from storage import deliveries as ledger
    from tests.bot.conftest import wait_for
    from tests.jobs.test_fuzz_ingest import rss

    title = "Outage Recovery: Papers Listed While the Worker Was Down"
    file_server.routes["/feed.xml"] = (200, rss([(title, "We study what a worker misses.")]), {})
    file_server.hold = threading.Event()
    threading.Timer(1.0, file_server.hold.set).start()
    config = replace(worker_config, feed_urls=(file_server.url("/feed.xml"),))
    subscribe(datetime(2026, 3, 17, 10, tzinfo=UTC), tz="UTC", at_time="09:00")
    scheduler = BackgroundScheduler()
    with time_machine.travel(datetime(2026, 3, 19, 10, tzinfo=UTC), tick=True):
        hold = worker.add_jobs(scheduler, config)
        scheduler.start()
        try:
            db = connect(config.db_path)
            wait_for(
                lambda: any(
                    r["period"] == "2026-03-19" and r["finished_at"] for r in ledger.ledger(db)
                )
            )
        finally:
            worker.stop(scheduler, hold)
    (digest,) = stub.messages("DU0LOCAL")
    assert digest["text"].startswith("Daily papers · Wed, Mar 18 – Thu, Mar 19")
    assert title in json.dumps(digest["blocks"])
