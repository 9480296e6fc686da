"""The worker's lease while another process (a long `papers ingest` or `papers reindex`)
holds the database's write lock longer than the busy timeout: the worker waits and says so,
then takes the lease once the lock is gone; it never dies."""

from __future__ import annotations

import logging
import sqlite3

import pytest

import storage.db
from jobs.worker import Lease, _held_or_logged
from storage.errors import PapersError


@pytest.mark.parametrize(
    "begin", ["BEGIN IMMEDIATE", "BEGIN EXCLUSIVE"], ids=["write", "exclusive"]
)
def test_a_locked_database_makes_the_worker_wait_for_its_lease_not_crash(
    worker_config, monkeypatch, caplog, begin
):
    # The lock outlasts the busy timeout (15 s in production, shortened here).
    monkeypatch.setattr(storage.db, "BUSY_TIMEOUT_MS", 50)
    hold = Lease(worker_config)
    other = sqlite3.connect(worker_config.db_path, timeout=0)
    other.execute(begin)
    try:
        with caplog.at_level(logging.ERROR, logger="jobs.worker"):
            assert _held_or_logged(hold) is False
        assert "database" in caplog.text and "locked" in caplog.text
        with pytest.raises(PapersError, match="locked"):  # run() logs it in one line
            hold.release()
    except sqlite3.OperationalError as exc:
        pytest.fail(f"the worker would die with a traceback: {exc}")
    finally:
        other.rollback()
        other.close()
    assert _held_or_logged(hold) is True
