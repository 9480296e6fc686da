"""How `papers worker` and `make run` stop on SIGTERM: as on Ctrl-C, and never hung by a
second SIGTERM (make forwards its process group's to `papers run`)."""

from __future__ import annotations

import signal

import pytest

from jobs.worker import stop_on_sigterm


@pytest.fixture
def sigterm_restored():
    """Put pytest's own SIGTERM and SIGHUP handling back after the test."""
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP)
    yield
    signal.signal(signal.SIGTERM, before[0])
    signal.signal(signal.SIGHUP, before[1])


def test_sigterm_stops_like_ctrl_c_once_and_a_second_one_changes_nothing(sigterm_restored):
    # The old handler set an Event: run while the main thread held that Event's lock (a
    # second SIGTERM inside the first handler's set()), it waited on itself for good, and
    # `make run` stopped by `kill -- -PGID` hung instead of giving its lease up.
    stop_on_sigterm()
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGTERM)
    signal.raise_signal(signal.SIGTERM)  # during the shutdown: nothing is cut short
    handler = signal.getsignal(signal.SIGTERM)
    assert callable(handler) and handler(signal.SIGTERM, None) is None
