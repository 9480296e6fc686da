"""The worker lease: one holder at a time, renewed by its holder, lapsing when it dies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage import lease

T0 = datetime(2026, 3, 17, 8, 0, tzinfo=UTC)
TTL = timedelta(seconds=60)


@pytest.mark.parametrize(
    ("second_at", "renewed", "winner"),
    [
        pytest.param(30, False, "a", id="live-lease-makes-b-wait"),
        pytest.param(61, False, "b", id="dead-holder-lease-lapses"),
        pytest.param(61, True, "a", id="heartbeat-keeps-it"),
    ],
)
def test_one_holder_at_a_time(db, second_at, renewed, winner):
    assert lease.acquire(db, "worker", "a", T0, TTL).holder == "a"
    if renewed:
        assert lease.acquire(db, "worker", "a", T0 + timedelta(seconds=45), TTL).holder == "a"
    got = lease.acquire(db, "worker", "b", T0 + timedelta(seconds=second_at), TTL)
    assert got.holder == winner


def test_release_hands_over_at_once(db):
    lease.acquire(db, "worker", "a", T0, TTL)
    lease.release(db, "worker", "a")
    assert lease.acquire(db, "worker", "b", T0 + timedelta(seconds=1), TTL).holder == "b"
