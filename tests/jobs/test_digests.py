"""A digest as the worker builds it: the best papers that fit one Slack message."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jobs.digests import build_digest
from slackstub.limits import validate_blocks
from storage.config import Config
from storage.trending import trending
from tests.conftest import add_subscription

DUE = datetime(2026, 3, 17, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("title", "fits"),
    [
        pytest.param(None, {5}, id="all-fit"),
        # Each `&` is `&amp;` to Slack: five such papers are more than one message holds.
        pytest.param("&" * 300, {1, 2, 3, 4}, id="some-fit"),
    ],
)
def test_a_digest_holds_the_best_papers_that_fit_one_message(seeded, title, fits):
    """The digest sent is the message of the papers it marks sent: the best ones, as many as
    Slack takes in one message."""
    sub = add_subscription(seeded, "T1", "U1", "C1", now=DUE.replace(hour=0))
    top = trending(seeded, DUE, "day", limit=5)
    if title:
        for paper in top:
            seeded["papers"].update(paper["id"], {"title": title, "abstract": title * 10})
    digest = build_digest(seeded, Config(db_path="unused"), sub, DUE)
    assert digest.message is not None
    sections = [b for b in digest.message["blocks"] if b["type"] == "section"]
    assert len(sections) == len(digest.paper_ids) and len(sections) in fits
    assert digest.paper_ids == [p["id"] for p in top[: len(digest.paper_ids)]]
    assert digest.message["text"].endswith(f": {len(digest.paper_ids)} papers")
    assert validate_blocks(digest.message["blocks"]) == []
