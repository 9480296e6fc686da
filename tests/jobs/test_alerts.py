"""Keyword alerts from the inbox, once per paper; broken sources never stop the worker."""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import time_machine

from jobs import worker
from jobs.inbox import ingest_sources
from storage import connect
from storage import deliveries as ledger
from storage import subscriptions as subs
from storage.search import search
from storage.trending import trending
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


def run_feeds(config, moment: datetime) -> None:
    with time_machine.travel(moment, tick=False):
        worker.feeds_and_alert(config)


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
    assert len(alerts) == 1 and alerts[0]["text"] == "1 new paper on lora"
    assert "LoRA Routing" in alerts[0]["blocks"][1]["text"]["text"]
    assert stub.messages("DU0OTHER") == []
    shutil.copy(path, f"{inbox}/again.txt")  # the same dump dropped again
    run_job(worker_config, NOW.replace(hour=7))
    assert len(stub.messages("DU0LOCAL")) == 1


@pytest.mark.parametrize(
    ("keywords", "alerted"),
    [
        pytest.param("qlora OR routing", True, id="or-upper"),
        pytest.param("QLoRA | Routing", True, id="bar-mixed-case"),
        pytest.param("routing NOT adapters", False, id="not-excludes"),
        pytest.param("Routing -Adapters", False, id="minus-excludes"),
        pytest.param("LoRA AND routing", True, id="and-upper"),
        pytest.param("routing AND video", False, id="and-needs-both"),
        pytest.param("LORA ROUTING", True, id="case-ignored"),
        # Full-width letters are the same query to /papers (NFKC): ＯＲ is OR there.
        pytest.param("qlora ＯＲ routing", True, id="or-full-width"),
        pytest.param("routing ＮＯＴ adapters", False, id="not-full-width"),
    ],
)
def test_alert_keywords_keep_their_operators(worker_config, subscribe, stub, keywords, alerted):
    """`a OR b` alerts on either word, as /papers finds it: alert keywords are grouped
    case-insensitively, but OR, AND and NOT are operators only in upper case."""
    run_job(worker_config, NOW)
    subscribe(NOW, frequency="instant", keywords=keywords)
    with open(f"{worker_config.inbox_dir}/2026-03-18.txt", "w", encoding="utf-8") as handle:
        handle.write(LORA_DUMP)
    run_job(worker_config, NOW.replace(minute=30))
    alerts = stub.messages("DU0LOCAL")
    assert len(alerts) == int(alerted), [a["text"] for a in alerts]
    if alerted:
        assert "LoRA Routing" in alerts[0]["blocks"][1]["text"]["text"]


def test_alert_keywords_fold_case_as_search_does(worker_config, subscribe, stub):
    """`Gauß` finds a Gauß-Newton paper in /papers (the index lower-cases and folds ß to ss,
    on both sides), so the alert on `Gauß` fires for it too."""
    run_job(worker_config, NOW)
    subscribe(NOW, frequency="instant", keywords="Gauß")
    with open(f"{worker_config.inbox_dir}/2026-03-18.txt", "w", encoding="utf-8") as handle:
        handle.write(LORA_DUMP.replace("LoRA Routing:", "Gauß-Newton Routing:"))
    run_job(worker_config, NOW.replace(minute=30))
    db = connect(worker_config.db_path)
    found = [p["title"] for p in search(db, "Gauß").papers]
    assert found == ["Gauß-Newton Routing: Mixing Low-Rank Adapters per Token"]
    alerts = stub.messages("DU0LOCAL")
    assert [a["text"] for a in alerts] == ["1 new paper on Gauß"]


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
    assert reports["a-broken.txt"].error == "not a dump, feed or JSON (binary data)"
    assert reports["b-good.txt"].new_papers == 2
    assert reports["feed"].error.endswith("HTTP 500")
    assert reports["rss"].new_papers == 1 and reports["rss"].merged == 1
    failing = next(db.query("SELECT failures FROM sources WHERE name LIKE '%/feed'"))
    assert failing["failures"] == 1
    broken = next(db.query("SELECT failures FROM sources WHERE name LIKE '%a-broken.txt'"))
    assert broken["failures"] == 1


def test_arxiv_replacements_are_stored_but_never_alerted_nor_listed_today(
    worker_config, subscribe, stub, file_server
):
    run_job(worker_config, NOW.replace(hour=5))  # first run: bookmark the back catalogue
    subscribe(NOW, frequency="instant", keywords="lora")
    file_server.routes["/rss"] = (200, (FIXTURES / "arxiv_rss_replace.xml").read_bytes(), {})
    config = replace(worker_config, feed_urls=(file_server.url("/rss"),))
    db = connect(config.db_path)
    ernie_before = next(db.query("SELECT id FROM papers WHERE title LIKE 'ERNIE 3.0%'"))["id"]
    papers_before = db["papers"].count
    db.close()
    run_feeds(config, NOW)
    alerts = stub.messages("DU0LOCAL")
    assert len(alerts) == 1 and alerts[0]["text"] == "1 new paper on lora"
    assert "LoRA Routing" in alerts[0]["blocks"][1]["text"]["text"]
    db = connect(config.db_path)
    # The two replacements of unseen papers are stored (and found by search) ...
    assert db["papers"].count == papers_before + 3
    found = {p["title"] for p in search(db, "lora", limit=20).papers}
    assert {"QLoRA Revisited: Quantized Low-Rank Adapters at Scale"} <= found
    # ... but none of the replacements is listed today; the new paper is.
    today = {p["title"] for p in trending(db, NOW, "day", limit=50)}
    assert "LoRA Routing: Mixing Low-Rank Adapters per Token" in today
    assert not today & {"QLoRA Revisited: Quantized Low-Rank Adapters at Scale"}
    assert not any(title.startswith(("LoRA for Speech", "ERNIE 3.0")) for title in today)
    # A known paper's replacement updates it in place: the new version and its abstract.
    ernie = next(db.query("SELECT * FROM papers WHERE title LIKE 'ERNIE 3.0%'"))
    assert ernie["id"] == ernie_before and ernie["arxiv_version"] == 3
    assert ernie["abstract"].startswith("Large pre-trained language models improve with scale")
    assert ernie["id"] in {p["id"] for p in search(db, "knowledge retention").papers}
    # Each replaced paper keeps (or, unseen, does not get) a date: never the day of its new
    # version, which would show a 2021 paper as published today.
    assert ernie["published"] == "2021-07-05"
    dates = {r["arxiv_id"]: r["published"] for r in db["papers"].rows_where("arxiv_id > '24'")}
    assert dates == {"2409.01234": None, "2410.04321": None, "2603.05555": "2026-03-18"}
    db.close()


def drop_lora_dump(config) -> None:
    with open(f"{config.inbox_dir}/2026-03-18.txt", "w", encoding="utf-8") as handle:
        handle.write(LORA_DUMP)


def test_alert_to_a_deactivated_user_pauses_with_the_reason(worker_config, subscribe, stub):
    stub.add_user("U0GONE", "gone", deleted=True)
    run_job(worker_config, NOW)
    sub = subscribe(NOW, frequency="instant", keywords="lora", user_id="U0GONE", target="U0GONE")
    drop_lora_dump(worker_config)
    run_job(worker_config, NOW.replace(minute=30))
    db = connect(worker_config.db_path)
    paused = subs.by_id(db, sub.id)
    # Exactly as a digest to that user would: paused, the reason shown in /papers list.
    assert (paused.status, paused.paused_reason) == ("paused", "Slack said user_disabled")
    assert [(r["state"], r["detail"]) for r in ledger.ledger(db)] == [("failed", "user_disabled")]
    assert stub.messages() == []


def test_alert_for_a_team_without_a_bot_token_pauses(worker_config, subscribe, stub):
    # OAuth mode with no installation for the team: no token to send with.
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()  # required in OAuth mode
    config = replace(worker_config, slack_bot_token="", slack_client_id="C0APP", token_key=key)
    run_job(config, NOW)
    sub = subscribe(NOW, frequency="instant", keywords="lora")
    drop_lora_dump(config)
    run_job(config, NOW.replace(minute=30))
    paused = subs.by_id(connect(config.db_path), sub.id)
    assert (paused.status, paused.paused_reason) == ("paused", "no bot token for this team")


def test_alert_whose_dm_cannot_open_yet_is_retried_and_sent_once(worker_config, subscribe, stub):
    run_job(worker_config, NOW)
    subscribe(NOW, frequency="instant", keywords="lora")
    drop_lora_dump(worker_config)
    stub.state.fail_next["conversations.open"] = ["internal_error"]
    run_job(worker_config, NOW.replace(minute=30))
    assert stub.messages() == []
    # The next ingest finds nothing new; the delivery job retries the stored alert.
    run_job(worker_config, NOW.replace(hour=7))
    with time_machine.travel(NOW.replace(hour=7, minute=5), tick=False):
        worker.deliver(worker_config)
        worker.deliver(worker_config)
    alerts = stub.messages("DU0LOCAL")
    assert len(alerts) == 1 and alerts[0]["text"] == "1 new paper on lora"


def test_an_alert_slack_refuses_for_good_is_tried_once_and_the_next_one_comes(
    worker_config, subscribe, stub
):
    """An alert Slack refuses for what it is (msg_blocks_too_long) was posted again by each
    delivery run up to five times; now it is recorded as failed once, and the subscription
    still alerts on the next paper."""
    run_job(worker_config, NOW)
    sub = subscribe(NOW, frequency="instant", keywords="lora")
    drop_lora_dump(worker_config)
    stub.state.fail_next["chat.postMessage"] = ["msg_blocks_too_long"] * 10
    run_job(worker_config, NOW.replace(minute=30))
    for minute in range(35, 60, 5):  # delivery runs, each past the retry backoff
        with time_machine.travel(NOW.replace(hour=7, minute=minute), tick=False):
            worker.deliver(worker_config)
    assert len([c for c in stub.state.calls if c[0] == "chat.postMessage"]) == 1
    db = connect(worker_config.db_path)
    assert [(r["state"], r["detail"]) for r in ledger.ledger(db)] == [
        ("failed", "Slack refused it: msg_blocks_too_long")
    ]
    assert subs.by_id(db, sub.id).status == "active"
    stub.state.fail_next.clear()
    with open(f"{worker_config.inbox_dir}/2026-03-19.txt", "w", encoding="utf-8") as handle:
        handle.write(
            "Mar 19\n\nMerging LoRA Adapters Without Interference\n\n"
            "We merge task-specific LoRA adapters into one model by projecting out the "
            "directions where they conflict, keeping each task's accuracy within a point.\n\n"
            "  • 3 authors\n·\nMar 18, 2026 7\n"
        )
    run_job(worker_config, NOW.replace(hour=8))
    alerts = stub.messages("DU0LOCAL")
    assert len(alerts) == 1 and "Merging LoRA Adapters" in json.dumps(alerts[0]["blocks"])


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


SECOND_LORA_DUMP = (
    "Mar 19\n\nQLoRA on a Phone: Four-Bit Adapters at the Edge\n\n"
    "We fine-tune LoRA adapters over four-bit weights on a phone and match server-side "
    "accuracy on six instruction benchmarks while using a tenth of the memory.\n\n"
    "  • 3 authors\n·\nMar 18, 2026 4\n"
)


def test_a_worker_killed_after_posting_an_alert_never_alerts_its_papers_again(
    worker_config, subscribe, stub
):
    from jobs.alerts import BOOKMARK
    from jobs.inbox import ingest_inbox
    from jobs.slack import client_factory, open_channel, post
    from storage import meta
    from storage.papers import newest_paper_id

    run_job(worker_config, NOW)
    sub = subscribe(NOW, frequency="instant", keywords="lora")
    drop_lora_dump(worker_config)
    db = connect(worker_config.db_path)
    ingest_inbox(db, worker_config, NOW.replace(minute=30))
    # What a worker killed right after Slack took the alert leaves: a prepared, posted,
    # unconfirmed claim, and the alert bookmark not yet moved past the new papers.
    after, newest = meta.get(db, BOOKMARK), newest_paper_id(db)
    (routing,) = [p["id"] for p in search(db, "lora routing").papers]
    claim = ledger.claim(db, sub.id, f"alert:{after}-{newest}", NOW.replace(minute=30))
    message = {"text": "1 new paper on lora", "blocks": []}
    ledger.prepare(db, claim, message, [routing])
    client = client_factory(worker_config)(stub.team_id)
    ledger.set_channel(db, claim, open_channel(client, sub.kind, sub.target))
    post(client, str(claim.channel), message, claim.key)
    # Restarted, the worker ingests another dump before the delivery job recovers the claim.
    with open(f"{worker_config.inbox_dir}/2026-03-19.txt", "w", encoding="utf-8") as handle:
        handle.write(SECOND_LORA_DUMP)
    run_job(worker_config, NOW.replace(hour=7))
    with time_machine.travel(NOW.replace(hour=7, minute=5), tick=False):
        worker.deliver(worker_config)
    texts = [json.dumps(m, ensure_ascii=False) for m in stub.messages("DU0LOCAL")]
    assert len(texts) == 2 and json.loads(texts[1])["text"] == "1 new paper on lora"
    assert "QLoRA on a Phone" in texts[1] and "LoRA Routing" not in texts[1]
    assert ledger.sent_paper_ids(db, sub.id) == {routing, newest_paper_id(db)}


NOTICE = {
    "channel_not_found": "Slack cannot find it (deleted, or private without me): invite me, then",
    "not_in_channel": "I am no longer in it: type `/invite @papers` there, then",
    "is_archived": "it was archived: unarchive it, then",
}


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "is_archived"])
def test_a_channel_alert_slack_refuses_pauses_once_and_is_not_retried(
    worker_config, subscribe, stub, error
):
    stub.add_channel("C0GONE", "gone", error=error)
    run_job(worker_config, NOW)
    sub = subscribe(NOW, frequency="instant", keywords="lora", target="C0GONE", kind="channel")
    other = subscribe(NOW, frequency="instant", keywords="lora")
    drop_lora_dump(worker_config)
    run_job(worker_config, NOW.replace(minute=30))
    db = connect(worker_config.db_path)
    paused = subs.by_id(db, sub.id)
    assert (paused.status, paused.paused_reason) == ("paused", f"Slack said {error}")
    # The other subscriber still got theirs, and the channel's owner (the same member here)
    # was told of the pause, once.
    assert [m["text"] for m in stub.messages("DU0LOCAL")] == [
        f"Your alerts *#{sub.id}* for <#C0GONE> are paused: {NOTICE[error]} type"
        f" `/papers resume {sub.id}`, or `/papers unsubscribe {sub.id}` to stop it.",
        "1 new paper on lora",
    ]
    assert subs.by_id(db, other.id).status == "active"
    calls = len(stub.state.calls)
    with open(f"{worker_config.inbox_dir}/2026-03-19.txt", "w", encoding="utf-8") as handle:
        handle.write(SECOND_LORA_DUMP)
    run_job(worker_config, NOW.replace(hour=7))
    with time_machine.travel(NOW.replace(hour=7, minute=30), tick=False):
        worker.deliver(worker_config)
    assert not [c for c in stub.state.calls[calls:] if c[1].get("channel") == "C0GONE"]
    assert len(stub.messages("DU0LOCAL")) == 3


def test_rate_limited_mid_fan_out_every_alert_goes_out_once(worker_config, subscribe, stub):
    stub.add_user("U0OTHER", "other")
    run_job(worker_config, NOW)
    first = subscribe(NOW, frequency="instant", keywords="lora")
    subscribe(NOW, frequency="instant", keywords="lora", target="C0GENERAL", kind="channel")
    subscribe(NOW, frequency="instant", keywords="lora", user_id="U0OTHER", target="U0OTHER")
    drop_lora_dump(worker_config)
    # More 429s (Retry-After: 0) than one call retries: the first alert waits for the
    # delivery job, the ones after it go out now.
    stub.state.force_429, stub.state.retry_after = 7, 0
    run_job(worker_config, NOW.replace(minute=30))
    assert stub.state.force_429 == 0
    assert [len(stub.messages(c)) for c in ("DU0LOCAL", "C0GENERAL", "DU0OTHER")] == [0, 1, 1]
    db = connect(worker_config.db_path)
    assert [r["state"] for r in ledger.ledger(db, first.id)] == ["claimed"]
    for minutes in (31, 35, 40):
        with time_machine.travel(NOW.replace(minute=minutes), tick=False):
            worker.deliver(worker_config)
        run_job(worker_config, NOW.replace(minute=minutes))
    assert [len(stub.messages(c)) for c in ("DU0LOCAL", "C0GENERAL", "DU0OTHER")] == [1, 1, 1]
    assert [r["state"] for r in ledger.ledger(db, first.id)] == ["sent"]


def _api_entry(ident: str, version: int, published: str, updated: str, title: str) -> str:
    return f"""<entry>
    <id>http://arxiv.org/abs/{ident}v{version}</id>
    <updated>{updated}T17:37:18Z</updated>
    <published>{published}T17:37:18Z</published>
    <title>{title}</title>
    <summary>  We study {title.lower()} with low-rank adapters (LoRA) and report results
on twelve benchmarks against full fine-tuning.
</summary>
    <author><name>Edward J. Hu</name></author>
    <link href="http://arxiv.org/abs/{ident}v{version}" rel="alternate" type="text/html"/>
    <arxiv:primary_category term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
  </entry>"""


def test_an_old_paper_in_an_arxiv_api_feed_is_stored_but_not_alerted_as_news(
    worker_config, subscribe, stub, file_server
):
    # An export.arxiv.org query sorted by lastUpdatedDate lists every paper that got a new
    # version, 2021 ones too: stored and searchable, but a 2021 paper is not news today.
    run_job(worker_config, NOW.replace(hour=5))  # first run: bookmark the back catalogue
    subscribe(NOW, frequency="instant", keywords="lora")
    feed = f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">
  <title type="html">ArXiv Query: search_query=cat:cs.CL</title>
  <id>http://arxiv.org/api/abc</id>
  <updated>2026-03-18T00:00:00-04:00</updated>
  {_api_entry("2603.17001", 1, "2026-03-17", "2026-03-17", "Routing Adapters per Token")}
  {_api_entry("2105.11111", 3, "2021-05-24", "2026-03-17", "Adapters for Speech")}
</feed>"""
    file_server.routes["/api/query"] = (200, feed.encode(), {})
    config = replace(worker_config, feed_urls=(file_server.url("/api/query"),))
    run_feeds(config, NOW)
    alerts = stub.messages("DU0LOCAL")
    assert [a["text"] for a in alerts] == ["1 new paper on lora"]
    assert "Routing Adapters per Token" in alerts[0]["blocks"][1]["text"]["text"]
    db = connect(config.db_path)
    found = {p["title"] for p in search(db, "adapters speech").papers}
    assert "Adapters for Speech" in found
    db.close()


def test_an_alert_in_flight_when_the_delivery_job_runs_goes_out_once(
    worker_config, subscribe, stub
):
    """The alert job and the delivery job run side by side in one worker (every ingest
    interval they start together). An alert prepared and waiting on Slack (a 429's
    Retry-After) looked like one a crash left behind to the delivery job's recovery, which
    posted it; then the alert job's own post went out too: the subscriber got it twice."""
    from tests.bot.conftest import wait_for

    run_job(worker_config, NOW)
    sub = subscribe(NOW, frequency="instant", keywords="lora")
    drop_lora_dump(worker_config)
    stub.state.force_429, stub.state.retry_after = 1, 1  # the alert's first call waits 1 s
    alerting = threading.Thread(
        target=worker.ingest_and_alert, args=(worker_config, NOW.replace(minute=30))
    )
    alerting.start()
    try:
        wait_for(lambda: stub.state.throttled == 1)
        worker.deliver(worker_config, NOW.replace(minute=30, second=5))
    finally:
        alerting.join(timeout=30)
    assert [m["text"] for m in stub.messages("DU0LOCAL")] == ["1 new paper on lora"]
    db = connect(worker_config.db_path)
    assert [r["state"] for r in ledger.ledger(db, sub.id)] == ["sent"]


def test_a_stopping_worker_begins_no_further_alert_and_the_next_one_sends_the_rest(
    worker_config, subscribe, stub
):
    """A worker stopped (SIGTERM, Ctrl-C) while its alerts went out began alert after alert
    until every subscriber had one, its lease no longer renewed: the worker taking over
    could find one of them in flight and post it again. It now lets the one being posted
    finish and begins no other; the next worker sends the rest, each once."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from tests.bot.conftest import wait_for

    stub.add_user("U0OTHER", "other")
    run_job(worker_config, NOW)
    for user in ("U0LOCAL", "U0OTHER"):
        subscribe(NOW, frequency="instant", keywords="lora", user_id=user, target=user)
    subscribe(NOW, frequency="instant", keywords="lora", target="C0GENERAL", kind="channel")
    drop_lora_dump(worker_config)
    stub.state.force_429, stub.state.retry_after = 1, 1  # the first alert waits 1 s on Slack
    moment = NOW.replace(minute=30)
    alerting = threading.Thread(target=worker.ingest_and_alert, args=(worker_config, moment))
    alerting.start()
    try:
        wait_for(lambda: stub.state.throttled == 1)
        worker.stop(BackgroundScheduler(), worker.Lease(worker_config))  # the first in flight
    finally:
        alerting.join(timeout=30)
    db = connect(worker_config.db_path)
    assert [r["state"] for r in ledger.ledger(db)] == ["sent"]
    worker.add_jobs(BackgroundScheduler(), worker_config)  # the next worker starts
    run_job(worker_config, moment.replace(minute=45))
    targets = ["DU0LOCAL", "DU0OTHER", "C0GENERAL"]
    assert [len(stub.messages(t)) for t in targets] == [1, 1, 1]
    assert [r["state"] for r in ledger.ledger(db)] == ["sent"] * 3


@pytest.mark.parametrize(
    "killed_at",
    [
        "alerts_after_paper_id",
        "alerts_after_late_listing",
        "author_alerts_after_row",
        "author_alerts_after_late_listing",
    ],
)
def test_a_first_alert_run_killed_between_its_bookmarks_alerts_no_back_catalogue(
    worker_config, subscribe, stub, monkeypatch, killed_at
):
    """A paper looked up for a pasted link and listed since, before the worker's first alert
    run, is back catalogue. That run wrote the paper bookmark before the late listings' one:
    killed between the two, the next run was no first run and took every late listing as
    news."""
    from jobs.alerts import run_alerts
    from jobs.author_alerts import run_author_alerts
    from jobs.slack import client_factory
    from storage import authors, meta
    from storage.models import Entry, IngestReport
    from storage.papers import newest_late_listing, store_entries

    db = connect(worker_config.db_path)
    abstract = (
        "We route each token to a mixture of LoRA adapters and show that a learned router"
        " beats static merging on eight instruction-following benchmarks at equal budget."
    )
    entry = Entry(abstract, "LoRA Routing", arxiv_id="2603.01234", authors=["Edward J. Hu"])
    for name, sighting in [("lookup", replace(entry, looked_up=True)), ("listing", entry)]:
        store_entries(db, name, "test", name, [sighting], NOW.isoformat(), IngestReport(name))
    assert newest_late_listing(db) == 1
    subscribe(NOW, frequency="instant", keywords="lora")
    authors.follow(db, stub.team_id, "U0LOCAL", "Edward J. Hu", NOW)
    client_for = client_factory(worker_config)
    put = meta.put

    def killed(db, key: str, value: str) -> None:
        if key == killed_at:
            raise SystemExit("killed")
        put(db, key, value)

    monkeypatch.setattr(meta, "put", killed)
    run = run_alerts if killed_at.startswith("alerts") else run_author_alerts
    with pytest.raises(SystemExit):
        run(db, client_for, NOW)
    monkeypatch.setattr(meta, "put", put)
    for _ in range(2):  # the first runs (again), then a run with nothing new
        run_alerts(db, client_for, NOW)
        run_author_alerts(db, client_for, NOW)
    assert stub.messages("DU0LOCAL") == []
