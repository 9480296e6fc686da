"""Keyword alerts from the inbox, once per paper; broken sources never stop the worker."""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import replace
from datetime import UTC, datetime

import time_machine

from jobs import worker
from jobs.inbox import ingest_sources
from storage import connect
from tests.conftest import FIXTURES

NOW = datetime(2026, 3, 18, 6, tzinfo=UTC)
LORA_DUMP = (
    "Mar 18\n\nLoRA Routing: Mixing Low-Rank Adapters per Token\n\n"
    "We route each token to a mixture of LoRA adapters and show that a learned router beats "
    "static merging on eight instruction-following benchmarks at the same parameter budget.\n\n"
    "  • 4 authors\n·\nMar 17, 2026 12\n\n"
    "Sparse Attention for Long Video\n\n"
    "We sparsify attention over frames and keep quality on long video benchmarks while cutting "
    "compute by a factor of three compared to dense attention baselines.\n"
)


def run_job(config, moment: datetime) -> None:
    with time_machine.travel(moment, tick=False):
        worker.ingest_and_alert(config)


def test_inbox_dump_alerts_a_lora_subscriber_once(worker_config, subscribe, stub):
    run_job(worker_config, NOW)  # first run: the seeds are back catalogue, not news
    subscribe(NOW, frequency="instant", keywords="lora")
    subscribe(NOW, frequency="instant", keywords="quantum", user_id="U0OTHER", target="U0OTHER")
    inbox = worker_config.inbox_dir
    path = f"{inbox}/2026-03-18.txt"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(LORA_DUMP)
    run_job(worker_config, NOW.replace(minute=30))
    alerts = stub.messages("DU0LOCAL")
    assert len(alerts) == 1 and alerts[0]["text"] == "1 new papers on lora"
    assert "LoRA Routing" in alerts[0]["blocks"][1]["text"]["text"]
    assert stub.messages("DU0OTHER") == []
    shutil.copy(path, f"{inbox}/again.txt")  # the same dump dropped again
    run_job(worker_config, NOW.replace(hour=7))
    assert len(stub.messages("DU0LOCAL")) == 1


def test_malformed_dump_and_failing_feed_are_recorded_and_skipped(
    worker_config, file_server, tmp_path
):
    file_server.routes["/feed"] = (500, b"boom", {})
    file_server.routes["/rss"] = (200, (FIXTURES / "arxiv_rss.xml").read_bytes(), {})
    config = worker_config.__class__(
        **{
            **worker_config.__dict__,
            "feed_urls": (file_server.url("/feed"), file_server.url("/rss")),
        }
    )
    inbox = tmp_path / "inbox"
    inbox.mkdir(exist_ok=True)
    (inbox / "a-broken.txt").write_bytes(b"\xff\xfe\x00garbage\x00" * 50)
    (inbox / "b-good.txt").write_text(LORA_DUMP, encoding="utf-8")
    db = connect(config.db_path)
    reports = {r.source.rsplit("/", 1)[-1]: r for r in ingest_sources(db, config, NOW)}
    assert reports["a-broken.txt"].parsed == 0 and reports["a-broken.txt"].skipped >= 1
    assert reports["b-good.txt"].new_papers == 2
    assert reports["feed"].error.endswith("HTTP 500")
    assert reports["rss"].new_papers == 1 and reports["rss"].merged == 1
    failing = next(db.query("SELECT failures FROM sources WHERE name LIKE '%/feed'"))
    assert failing["failures"] == 1


def test_a_dripping_feed_never_holds_up_inbox_alerts(worker_config, subscribe, stub, drip_server):
    """The feed job runs on its own (here: its own thread, as in the worker's scheduler) and
    gives up at its deadline; the inbox job meanwhile ingests and alerts as usual."""
    config = replace(worker_config, feed_urls=(drip_server.url(),), feed_deadline_seconds=60)
    run_job(config, NOW)
    subscribe(NOW, frequency="instant", keywords="lora")
    feeds = threading.Thread(target=worker.feeds_and_alert, args=(config, NOW))
    feeds.start()
    try:
        with open(f"{config.inbox_dir}/2026-03-18.txt", "w", encoding="utf-8") as handle:
            handle.write(LORA_DUMP)
        run_job(config, NOW.replace(minute=30))
        assert feeds.is_alive(), "the feed finished first: this test proves nothing"
        alerts = stub.messages("DU0LOCAL")
        assert len(alerts) == 1 and "LoRA Routing" in json.dumps(alerts[0]["blocks"])
    finally:
        drip_server.close()  # the drip ends: the feed job fails and finishes
        feeds.join(timeout=30)
    assert not feeds.is_alive()
