"""The inbox: watched in `make run` so a dropped file is ingested within seconds, and a copy
of a file already ingested says so in the log."""

from __future__ import annotations

import logging
import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from jobs.worker import InboxWatch, ingest_and_alert
from storage import connect
from storage.papers import stats
from tests.conftest import NOW, SEEDS

DUMP = sorted(SEEDS.iterdir())[-1]


def papers(config) -> int:
    return connect(config.db_path)["papers"].count


def drop(config, name: str, when) -> Path:
    path = Path(config.inbox_dir) / name
    shutil.copyfile(DUMP, path)
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path


def test_a_dropped_file_is_ingested_on_the_second_poll(worker_config, tmp_path):
    Path(worker_config.inbox_dir).mkdir()
    fresh = tmp_path / "fresh.db"
    connect(fresh).close()
    config = worker_config.with_db(str(fresh))
    watch = InboxWatch(config)
    assert watch(NOW) is False  # nothing changed
    drop(config, "new.txt", NOW)
    assert watch(NOW) is False  # still being copied, maybe: wait for one more poll
    assert papers(config) == 0
    assert watch(NOW + timedelta(seconds=2)) is True
    assert papers(config) == 11
    assert watch(NOW + timedelta(seconds=4)) is False  # ingested once


def test_a_copy_of_an_ingested_file_says_so_once(worker_config, caplog):
    Path(worker_config.inbox_dir).mkdir()
    ingest_and_alert(worker_config, NOW)  # the scan mark
    drop(worker_config, "copy-of-seed.txt", NOW + timedelta(minutes=1))
    with caplog.at_level(logging.INFO, logger="jobs.inbox"):
        ingest_and_alert(worker_config, NOW + timedelta(minutes=30))
        ingest_and_alert(worker_config, NOW + timedelta(minutes=60))
    said = [r.getMessage() for r in caplog.records if "already ingested" in r.getMessage()]
    assert len(said) == 1 and "copy-of-seed.txt" in said[0]


def test_a_file_whose_name_is_not_utf8_is_ingested_with_the_others(worker_config):
    # Recording the name (bytes kept as lone surrogates) raised, and the worker's inbox job
    # failed at that file at every run: no other file was ever ingested after it.
    inbox = Path(worker_config.inbox_dir)
    inbox.mkdir()
    odd = inbox / os.fsdecode(b"r\xe9sum\xe9.txt")  # Latin-1, as an old Windows share names it
    # New bytes (the seeds are stored already): each is an input of its own.
    odd.write_bytes(sorted(SEEDS.iterdir())[0].read_bytes() + b"\n")
    (inbox / "zz-today.txt").write_bytes(DUMP.read_bytes() + b"\n")
    ingest_and_alert(worker_config, NOW)
    names = {s["name"] for s in stats(connect(worker_config.db_path))["sources"]}
    assert {str(inbox / "r\\xe9sum\\xe9.txt"), str(inbox / "zz-today.txt")} <= names
    assert all(s["last_error"] is None for s in stats(connect(worker_config.db_path))["sources"])
    # One that fails is recorded once and stays failing (its escaped name is no file to
    # look for: it was taken for deleted and failed again at every scan).
    broken = inbox / os.fsdecode(b"caf\xe9.txt")
    broken.write_bytes(b"\x00\x01 not a dump")
    for minutes in (30, 60, 90):
        ingest_and_alert(worker_config, NOW + timedelta(minutes=minutes))
    (row,) = [
        s
        for s in stats(connect(worker_config.db_path))["sources"]
        if s["name"] == str(inbox / "caf\\xe9.txt")
    ]
    assert row["failures"] == 1 and row["last_error"]


def test_a_broken_link_in_the_inbox_is_logged_and_counted_once(worker_config, caplog):
    inbox = Path(worker_config.inbox_dir)
    inbox.mkdir()
    link = inbox / "today.txt"
    link.symlink_to(inbox.parent / "not-there-yet.txt")
    with caplog.at_level(logging.INFO, logger="jobs"):
        for minutes in (0, 30, 60, 90):
            ingest_and_alert(worker_config, NOW + timedelta(minutes=minutes))
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warned == [f"ingest {link} failed: broken link: its target does not exist"]
    (row,) = [s for s in stats(connect(worker_config.db_path))["sources"] if s["name"] == str(link)]
    assert (row["failures"], row["last_error_at"]) == (1, NOW.isoformat())
    # The admin fixes it (with a dump not ingested yet).
    (inbox.parent / "not-there-yet.txt").write_bytes(DUMP.read_bytes() + b"\n")
    ingest_and_alert(worker_config, NOW + timedelta(minutes=120))
    (row,) = [s for s in stats(connect(worker_config.db_path))["sources"] if s["name"] == str(link)]
    assert row["last_error"] is None


def test_an_empty_file_in_the_inbox_is_logged_as_empty_once(worker_config, caplog):
    inbox = Path(worker_config.inbox_dir)
    inbox.mkdir()
    ingest_and_alert(worker_config, NOW)  # the scan mark
    empty = inbox / "2026-03-17.txt"
    empty.touch()
    os.utime(empty, ((NOW + timedelta(minutes=1)).timestamp(),) * 2)
    with caplog.at_level(logging.INFO, logger="jobs"):
        ingest_and_alert(worker_config, NOW + timedelta(minutes=30))
        ingest_and_alert(worker_config, NOW + timedelta(minutes=60))
    said = [r.getMessage() for r in caplog.records if "2026-03-17.txt" in r.getMessage()]
    assert said == [f"{empty}: empty file, nothing ingested"]


def source_row(config, path: Path) -> dict:
    (row,) = [s for s in stats(connect(config.db_path))["sources"] if s["name"] == str(path)]
    return row


def test_a_binary_file_in_the_inbox_is_logged_and_counted_once_until_it_changes(
    worker_config, caplog
):
    inbox = Path(worker_config.inbox_dir)
    inbox.mkdir()
    image = inbox / "figure.txt"
    image.write_bytes(bytes(range(256)) * 40)  # an image saved under a dump's name
    with caplog.at_level(logging.INFO, logger="jobs"):
        for minutes in (0, 30, 60, 90):
            ingest_and_alert(worker_config, NOW + timedelta(minutes=minutes))
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warned == [f"ingest {image} failed: not a dump, feed or JSON (binary data)"]
    row = source_row(worker_config, image)
    assert (row["failures"], row["last_error_at"]) == (1, NOW.isoformat())
    # Changed, it is read again: another binary file fails again, once ...
    image.write_bytes(bytes(range(255, -1, -1)) * 40)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="jobs"):
        for minutes in (120, 150):
            ingest_and_alert(worker_config, NOW + timedelta(minutes=minutes))
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == warned
    assert source_row(worker_config, image)["failures"] == 2
    # ... and a dump in its place is ingested, and the failure cleared.
    image.write_bytes(DUMP.read_bytes() + b"\n")
    ingest_and_alert(worker_config, NOW + timedelta(minutes=180))
    assert source_row(worker_config, image)["last_error"] is None


def test_a_broken_link_fixed_to_content_already_ingested_no_longer_fails(worker_config):
    inbox = Path(worker_config.inbox_dir)
    inbox.mkdir()
    link = inbox / "today.txt"
    link.symlink_to(inbox.parent / "not-there-yet.txt")
    ingest_and_alert(worker_config, NOW)
    assert source_row(worker_config, link)["last_error"].startswith("broken link")
    # Fixed, to a seed dump the store already holds: nothing new, but nothing wrong either.
    shutil.copyfile(DUMP, inbox.parent / "not-there-yet.txt")
    ingest_and_alert(worker_config, NOW + timedelta(minutes=30))
    row = source_row(worker_config, link)
    assert (
        row["last_error"] is None and row["last_ok_at"] == (NOW + timedelta(minutes=30)).isoformat()
    )


def unreadable(path: Path, monkeypatch) -> None:
    """Make `path` unreadable: mode 000, and as root (who reads through modes) opening it
    raises what the kernel raises for anyone else."""
    path.chmod(0)
    if os.geteuid() != 0:
        return
    real_open = Path.open

    def deny(self, *args, **kwargs):
        if self == path and path.stat().st_mode & 0o444 == 0:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", deny)


def test_an_unreadable_file_in_the_inbox_is_warned_about_once(worker_config, caplog, monkeypatch):
    inbox = Path(worker_config.inbox_dir)
    inbox.mkdir()
    locked = drop(worker_config, "locked.txt", NOW)
    unreadable(locked, monkeypatch)
    with caplog.at_level(logging.INFO, logger="jobs"):
        for minutes in (0, 30, 60, 90):
            ingest_and_alert(worker_config, NOW + timedelta(minutes=minutes))
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warned == [f"ingest {locked} failed: [Errno 13] Permission denied: '{locked}'"]
    row = source_row(worker_config, locked)
    assert (row["failures"], row["last_error_at"]) == (1, NOW.isoformat())
    # Changed (written again, still unreadable), it is tried and told of again, once.
    os.utime(locked, ((NOW + timedelta(hours=1)).timestamp(),) * 2)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="jobs"):
        for minutes in (100, 110):
            ingest_and_alert(worker_config, NOW + timedelta(minutes=minutes))
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == warned
    assert source_row(worker_config, locked)["failures"] == 2
    # The admin fixes the permissions: it is read, and the failure cleared.
    locked.chmod(0o644)
    ingest_and_alert(worker_config, NOW + timedelta(minutes=120))
    assert source_row(worker_config, locked)["last_error"] is None
    assert papers(worker_config) > 0


@pytest.mark.parametrize(
    "make_failing",
    [
        pytest.param(lambda p: p.write_bytes(bytes(range(256)) * 40), id="binary-file"),
        pytest.param(lambda p: p.symlink_to(p.parent / "nowhere.txt"), id="broken-link"),
        pytest.param(lambda p: p.mkdir(), id="folder"),
    ],
)
def test_a_failing_inbox_file_that_is_deleted_stops_showing_as_failing(worker_config, make_failing):
    inbox = Path(worker_config.inbox_dir)
    inbox.mkdir()
    bad = inbox / "bad.txt"
    make_failing(bad)
    ingest_and_alert(worker_config, NOW)
    assert source_row(worker_config, bad)["last_error"]
    bad.rmdir() if bad.is_dir() and not bad.is_symlink() else bad.unlink()
    ingest_and_alert(worker_config, NOW + timedelta(minutes=30))
    failing = [
        s["name"] for s in stats(connect(worker_config.db_path))["sources"] if s["last_error"]
    ]
    assert failing == []


def test_a_deleted_inbox_file_that_brought_papers_keeps_its_history(worker_config):
    inbox = Path(worker_config.inbox_dir)
    inbox.mkdir()
    fresh = inbox / "fresh.txt"
    fresh.write_bytes(DUMP.read_bytes() + b"\n")
    ingest_and_alert(worker_config, NOW)
    fresh.write_bytes(bytes(range(256)) * 40)  # overwritten with something unreadable
    ingest_and_alert(worker_config, NOW + timedelta(minutes=30))
    assert source_row(worker_config, fresh)["last_error"]
    fresh.unlink()
    ingest_and_alert(worker_config, NOW + timedelta(minutes=60))
    row = source_row(worker_config, fresh)  # its papers came from it: it stays listed
    assert row["last_error"] is None and row["failures"] == 1


def test_the_worker_finishing_a_killed_ingest_logs_what_it_finished(caplog):
    """A worker killed mid-ingest, restarted, finished the file and logged "0 new, 0 merged,
    0 skipped", as if the file had brought nothing: its papers came from the killed run."""
    from jobs.inbox import _logged
    from storage.models import IngestReport

    report = IngestReport("inbox/e.txt", parsed=5, new_papers=2, resumed=3)
    with caplog.at_level(logging.INFO, logger="jobs.inbox"):
        _logged([report])
    assert "2 new, 0 merged, 0 skipped, 3 stored by an earlier, unfinished ingest" in caplog.text


def test_a_failing_feed_is_one_log_line_per_run(worker_config, caplog):
    """Each run of a feed that fails (an outage) is one warning, not a second INFO line
    saying the same."""
    from dataclasses import replace

    from jobs.worker import feeds_and_alert

    url = "http://127.0.0.1:9/feed.xml"
    config = replace(worker_config, feed_urls=(url,), feed_deadline_seconds=5)
    with caplog.at_level(logging.INFO, logger="jobs"):
        for minutes in (0, 30):
            feeds_and_alert(config, NOW + timedelta(minutes=minutes))
    said = [(r.levelname, r.getMessage()) for r in caplog.records if url in r.getMessage()]
    assert len(said) == 2, said
    assert all(
        level == "WARNING" and msg.startswith(f"ingest {url} failed: ") for level, msg in said
    )
