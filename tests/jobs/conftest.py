"""Worker fixtures: a seeded database, the stand-in as Slack, and a worker config."""

from __future__ import annotations

from datetime import datetime

import pytest

from papers.config import Config
from slackstub import SlackStandIn
from storage import connect
from storage import subscriptions as subs


@pytest.fixture
def stub():
    """The stand-in, with a fast rate limit so time-travel tests are not throttled."""
    server = SlackStandIn().start()
    server.state.rate_per_second, server.state.burst = 1000.0, 1000.0
    yield server
    server.stop()


@pytest.fixture
def worker_config(seeded_path, stub, tmp_path) -> Config:
    return Config(
        db_path=str(seeded_path),
        slack_bot_token=stub.token,
        slack_signing_secret="unused",
        slack_api_url=stub.api_url,
        inbox_dir=str(tmp_path / "inbox"),
        empty_digest="note",
    )


@pytest.fixture
def subscribe(worker_config, stub):
    """Create a subscription directly in storage (as /papers subscribe would)."""

    def make(now: datetime, **fields) -> subs.Subscription:
        values = dict(
            team_id=stub.team_id,
            user_id="U0LOCAL",
            target="U0LOCAL",
            kind="personal",
            keywords="",
            frequency="daily",
            at_time="09:00",
            tz="Europe/Berlin",
            weekday=0,
        )
        values.update(fields)
        db = connect(worker_config.db_path)
        try:
            return subs.create(db, now=now, **values)
        finally:
            db.close()

    return make
