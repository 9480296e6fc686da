"""What the worker does before its jobs run: the search index, and the first deliveries."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from apscheduler.schedulers.background import BackgroundScheduler

from jobs import worker
from jobs.worker import prepare_index
from storage import connect, lease
from storage import deliveries as ledger
from storage import index as search_index
from tests.bot.conftest import wait_for
from tests.jobs.test_fuzz_ingest import rss


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
    hint = f"The store holds {papers} papers and its search index one shard: run `papers reindex`"
    assert (hint in caplog.text) is told


@pytest.mark.parametrize(
    ("answer_after", "wait_at_most", "has_feed_paper"),
    [
        pytest.param(1.0, 300, True, id="feed-read-first"),
        # A feed that hangs holds the digests back no longer than FIRST_INGEST_WAIT_SECONDS.
        pytest.param(30.0, 1, False, id="feed-hangs"),
    ],
)
def test_a_digest_that_catches_up_an_outage_waits_for_the_feeds_read_at_start(
    worker_config,
    subscribe,
    stub,
    file_server,
    monkeypatch,
    caplog,
    answer_after,
    wait_at_most,
    has_feed_paper,
):
    """The worker was down from before Wednesday's 09:00 until Thursday 10:00: Thursday's
    digest covers Wednesday too. All jobs started at once, and the digest went out before
    the feeds brought what was listed while the worker was down; now deliveries begin once
    the inbox and the feeds have been read (here the feed answers a second late), or after
    FIRST_INGEST_WAIT_SECONDS at the most."""
    monkeypatch.setattr(worker, "FIRST_INGEST_WAIT_SECONDS", wait_at_most)
    title = "Outage Recovery: Papers Listed While the Worker Was Down"
    file_server.routes["/feed.xml"] = (200, rss([(title, "We study what a worker misses.")]), {})
    file_server.hold = threading.Event()
    answer = threading.Timer(answer_after, file_server.hold.set)
    answer.start()
    config = replace(worker_config, feed_urls=(file_server.url("/feed.xml"),))
    subscribe(datetime(2026, 3, 17, 10, tzinfo=UTC), tz="UTC", at_time="09:00")
    scheduler = BackgroundScheduler()
    db = connect(config.db_path)
    with time_machine.travel(datetime(2026, 3, 19, 10, tzinfo=UTC), tick=True):
        hold = worker.add_jobs(scheduler, config)
        scheduler.start()
        try:
            wait_for(lambda: [r for r in ledger.ledger(db) if r["state"] == "sent"])
        finally:
            answer.cancel()
            file_server.hold.set()
            worker.stop(scheduler, hold)
    (digest,) = stub.messages("DU0LOCAL")
    assert digest["text"].startswith("Daily papers · Wed, Mar 18 – Thu, Mar 19")
    assert (title in json.dumps(digest["blocks"])) is has_feed_paper
    begun_early = "deliveries begin before the first run of: ['feeds']" in caplog.text
    assert begun_early is not has_feed_paper


def test_a_worker_that_waited_for_a_dead_workers_lease_reads_the_feeds_before_deliveries(
    worker_config, subscribe, stub, file_server
):
    """`make run` started again right after one killed with the lease held: its first inbox
    and feeds runs found the lease taken and did nothing, yet counted as the first ingest,
    so once the lease lapsed the catch-up digest went out without the papers listed while
    it was down (the feeds came an ingest interval later). They now run once it is taken."""
    title = "Outage Recovery: Papers Listed While the Worker Was Down"
    file_server.routes["/feed.xml"] = (200, rss([(title, "We study what a worker misses.")]), {})
    config = replace(worker_config, feed_urls=(file_server.url("/feed.xml"),), lease_seconds=4)
    subscribe(datetime(2026, 3, 17, 10, tzinfo=UTC), tz="UTC", at_time="09:00")
    scheduler = BackgroundScheduler()
    db = connect(config.db_path)
    with time_machine.travel(datetime(2026, 3, 19, 10, tzinfo=UTC), tick=True):
        # The killed worker's lease, still live for a second.
        lease.acquire(db, worker.LEASE, "dead:1", datetime.now(UTC), timedelta(seconds=1))
        hold = worker.add_jobs(scheduler, config)
        scheduler.start()
        try:
            wait_for(lambda: [r for r in ledger.ledger(db) if r["state"] == "sent"])
        finally:
            worker.stop(scheduler, hold)
    (digest,) = stub.messages("DU0LOCAL")
    assert title in json.dumps(digest["blocks"])


def test_an_inbox_that_is_no_folder_stops_the_worker_in_one_line(worker_config, tmp_path, caplog):
    """PAPERS_INBOX naming a file: the worker started, then logged a FileExistsError
    traceback at every ingest run. It stops at start, naming the variable; should the
    folder turn into a file later, each run logs one line, not a traceback."""
    from storage.errors import ConfigError

    afile = tmp_path / "inbox.txt"
    afile.write_text("not a folder")
    config = replace(worker_config, inbox_dir=str(afile))
    with pytest.raises(ConfigError) as raised:
        worker.run(config)
    assert str(raised.value).startswith(f"PAPERS_INBOX {afile} is not a folder the worker can use")
    run = worker._guarded(worker.ingest_and_alert, config, worker.Lease(config))
    with caplog.at_level(logging.INFO, logger="jobs"):
        run()
    (record,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "PAPERS_INBOX" in record.getMessage() and record.exc_info is None
    assert "Traceback" not in caplog.text
