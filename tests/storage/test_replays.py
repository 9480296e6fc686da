"""Replayed requests: acted on once, however many arrive together."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from storage import connect, replays

NOW = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("keys_of", "firsts"),
    [
        pytest.param(lambda i: ["sig:same"], 1, id="one-request-delivered-forty-times"),
        pytest.param(lambda i: [f"sig:{i}"], 40, id="forty-different-requests"),
    ],
)
def test_requests_arriving_together_on_many_threads(tmp_path, keys_of, firsts):
    """The bot's request threads, each with its own connection, record at once: a request
    Slack delivered many times is first exactly once, and no distinct one is refused."""
    path = tmp_path / "papers.db"
    connect(path).close()

    def one(i: int) -> bool:
        db = connect(path)
        try:
            return replays.first_time(db, keys_of(i), NOW)
        finally:
            db.close()

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(one, range(40)))
    assert sum(results) == firsts


def test_a_request_is_new_again_after_an_hour(db):
    """Keys are kept for KEEP only: the table does not grow for ever."""
    assert replays.first_time(db, ["sig:a"], NOW)
    assert not replays.first_time(db, ["sig:a"], NOW + timedelta(minutes=5))
    assert replays.first_time(db, ["sig:a"], NOW + replays.KEEP + timedelta(minutes=6))
