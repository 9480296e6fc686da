"""Which papers a digest holds: on a busy day, a keyword digest still finds its papers."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.corpus import generate
from storage import connect
from storage.digests import select_papers
from storage.models import Entry
from tests.conftest import add_subscription
from tests.storage.test_index import store

DAY = "2026-03-16"
DUE = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)


def test_a_keyword_digest_finds_its_paper_below_the_days_top_200(tmp_path):
    # A day of 300 listed papers, every one upvoted but ours: the only paper on
    # "qubitron" ranks last in the day's trending list. The digest drew on the top 200
    # only, so it came out empty while a matching paper was listed that day.
    db = connect(tmp_path / "papers.db")
    busy = [
        Entry(p.abstract, p.title, published=DAY, upvotes=50 + i % 40, listed_on=DAY)
        for i, p in enumerate(generate(300, seed=11))
    ]
    ours = Entry(
        "We build a qubitron, a small device that counts photons with a trained network, and"
        " show that it beats larger detectors on three public benchmarks of photon counting.",
        "Qubitron: Counting Photons with Small Trained Networks",
        published=DAY,
        listed_on=DAY,
    )
    store(db, [*busy, ours], "busy-day")
    sub = add_subscription(db, "T1", "U1", "U1", "personal", keywords="qubitron", now=DUE)
    papers = select_papers(db, sub, DUE, 5)
    assert [p["title"] for p in papers] == [
        "Qubitron: Counting Photons with Small Trained Networks"
    ]
    assert papers[0]["signals"].last_listed == DAY  # with its reason, as the digest shows it
    channel = add_subscription(db, "T1", "U1", "C1", now=DUE)
    assert len(select_papers(db, channel, DUE, 5)) == 5  # trending: the top 5
