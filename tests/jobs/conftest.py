"""Worker fixtures: a seeded database, the stand-in as Slack, and a worker config."""

from __future__ import annotations

from datetime import datetime

import pytest

from slackstub import SlackStandIn
from storage import connect
from storage import subscriptions as subs
from storage.config import Config
from tests.conftest import add_subscription


@pytest.fixture(autouse=True)
def worker_not_stopping():
    """A test that stops a worker in this process (worker.stop) leaves the tests after it
    a worker that still runs its jobs, as a new worker process would."""
    yield
    from jobs import worker

    worker._STOPPING.clear()


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
    """Create a subscription directly in storage (as /papers subscribe would): by default a
    daily 09:00 Europe/Berlin digest by DM to U0LOCAL."""

    def make(now: datetime, **fields) -> subs.Subscription:
        values = {
            "user_id": "U0LOCAL",
            "target": "U0LOCAL",
            "kind": "personal",
            "tz": "Europe/Berlin",
            **fields,
        }
        db = connect(worker_config.db_path)
        try:
            return add_subscription(db, stub.team_id, now=now, **values)
        finally:
            db.close()

    return make
