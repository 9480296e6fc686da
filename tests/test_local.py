"""The `make run` demo: what a newcomer's first digest holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from jobs import worker
from jobs.ingest import ingest_target
from papers.local import _demo_subscription
from slackstub import SlackStandIn
from storage import connect
from storage.config import Config
from tests.conftest import SEEDS


@pytest.fixture
def stub():
    server = SlackStandIn().start()
    yield server
    server.stop()


def test_first_demo_digest_on_a_fresh_clone_shows_titled_papers_with_reasons(tmp_path, stub):
    config = Config(
        db_path=str(tmp_path / "papers.db"),
        slack_bot_token=stub.token,
        slack_signing_secret="unused",
        slack_api_url=stub.api_url,
        inbox_dir=str(tmp_path / "inbox"),
    )
    now = datetime.now(UTC)  # as `make run` does: ingest seeds/ today, no --date
    db = connect(config.db_path)
    ingest_target(db, str(SEEDS), now)
    untitled = [r["title"] for r in db.query("SELECT title FROM papers WHERE title_derived = 1")]
    db.close()
    assert len(untitled) == 11
    _demo_subscription(config, stub.team_id)
    worker.deliver(config, datetime.now(UTC))  # the demo subscription is due at once
    (digest,) = stub.messages("C0GENERAL")
    assert digest["text"].endswith(": 5 papers")
    body = json.dumps(digest["blocks"], ensure_ascii=False)
    assert not any(title in body for title in untitled)
    assert body.count("listed Mar 16") == 5
