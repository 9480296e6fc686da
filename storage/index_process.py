"""The search index's writer in a process of its own, for a large input's ingest.

An ingest does two kinds of work per batch: dedup and the SQLite writes (Python), then the
index's documents (Python) and tantivy's indexing. In one process they share one
interpreter lock, so they run one after the other, even on a thread of their own
(measured). Here the index writer runs in a child process that reads each committed batch
from SQLite itself while the parent matches and writes the next one: two cores at work.

The parent sends one line per batch on the child's stdin (the ids of the papers the batch
touched: a stored paper it changed is indexed again; the new ones, past the index's
watermark, are found there anyway) and a last line to finish; the child answers once, at
the end, with what happened. A child that dies loses nothing: what it did not index lies
past the watermark and the next writer indexes it.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

from sqlite_utils import Database

from storage.db import database_file

log = logging.getLogger(__name__)

# An input of fewer entries is indexed in the ingest's own process: starting the child and
# importing tantivy costs ~0.3 s, about what 2,000 papers' indexing costs. Larger ones never
# index here: an index writer left the ingest's process ~40 MB bigger for good (an input of
# 9,942 papers into 200k; measured).
MIN_ENTRIES = 2_000
# The writer's memory for new segments (each shard's, as in a rebuild). In a process of
# its own the writer's CPU is the ingest's critical path: three times the in-process heap
# flushes a 50k-entry input into a few large segments instead of many small ones tantivy
# then merges (next-day file into 1M: 11.7-12.8 s against 14.3 s, 15 s CPU against 20; the
# process's peak 230 MB either way; measured).
HEAP = 192_000_000


class IndexProcess:
    """A child process indexing what each of the parent's committed batches stored."""

    def __init__(self, path: Path) -> None:
        # A fresh interpreter importing this module (nothing of the parent is pickled), from
        # this checkout (see _START). In a process group of its own, a terminal's Ctrl-C
        # (sent to the foreground group) never reaches it: the parent handles it and tells
        # it to finish, as after any input. (An ignored SIGINT set by the child itself came
        # too late when Ctrl-C fell during its start: a traceback.) Its stderr (a crash's
        # traceback) goes to a file, never to the terminal the parent shares: close() logs
        # its last line, through the parent's logging.
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        root = str(Path(__file__).resolve().parent.parent)
        try:
            self.child = subprocess.Popen(
                [sys.executable, "-P", "-c", _START, root, str(path), str(os.getpid())],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.errors,
                text=True,
                process_group=0,
            )
        except BaseException:
            self.errors.close()
            raise
        self.path = path

    def sync(self, changed: Iterable[int] = ()) -> None:
        """Tell the child a batch was committed (and which stored papers it changed)."""
        self._send({"sync": sorted(changed)})

    def _send(self, message: dict) -> None:
        try:
            self.child.stdin.write(json.dumps(message) + "\n")
            self.child.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass  # the child died: close() says so

    def close(self) -> dict:
        """Finish: wait for the child's last commit, log what it reports, and return it
        (with `peak_kb`, its own peak memory), or {} if it died."""
        self._send({"close": True})
        with contextlib.suppress(OSError):  # a child that died: its pipe is broken
            self.child.stdin.close()
        answer = self.child.stdout.read()
        code = self.child.wait()
        said = self._last_error_line()
        try:
            report = json.loads(answer.strip().splitlines()[-1])
        except (ValueError, IndexError):
            log.warning(
                "the search index's writer process for %s stopped (exit code %s%s): the papers"
                " it missed are indexed by the next ingest or start",
                self.path,
                code,
                f": {said}" if said else "",
            )
            return {}
        for level, name, message in report.get("log", []):
            logging.getLogger(name).log(level, "%s", message)  # as if logged here
        return report

    def _last_error_line(self) -> str:
        """The last line the child wrote to its stderr (a traceback's exception), or ""."""
        with self.errors:
            self.errors.seek(0, os.SEEK_END)
            self.errors.seek(max(self.errors.tell() - 4096, 0))
            tail = self.errors.read().decode(errors="replace")
        lines = [line.strip() for line in tail.splitlines() if line.strip()]
        return lines[-1] if lines else ""


# The child's start: the parent's checkout first on its import path, so that it runs the
# parent's code, never another copy in its working directory (-P leaves that off the path)
# or an older install; unless the path already holds it, as an installed copy's
# site-packages, which stays after the standard library. Imported, not run with -m: its
# records are logged under this module's name, not __main__.
_START = """\
import sys
root = sys.argv.pop(1)
if root not in sys.path:
    sys.path.insert(0, root)
from storage.index_process import serve
sys.exit(serve(sys.argv[1], int(sys.argv[2])))
"""


def open_for_ingest(db: Database, entries: int) -> IndexProcess | None:
    """An index writer process for an input of `entries` entries, or None when the input
    is small, the database is in memory or no process can start (the caller then indexes
    it in its own process)."""
    path = database_file(db)
    if entries < MIN_ENTRIES or path is None:
        return None
    try:
        return IndexProcess(path)
    except OSError as exc:  # no process to start (a limit reached): index it here
        log.warning("cannot start the search index's writer process (%s): indexing here", exc)
        return None


class _Records(logging.Handler):
    """The child's log records, kept to hand the parent, which logs them as its own."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[tuple[int, str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.levelno, record.name, self.format(record)))


def _lines(stream, into: queue.Queue) -> None:
    # Read on a thread of its own: the parent never waits on a full pipe while the child
    # indexes.
    for line in stream:
        into.put(line)
    into.put(None)


# prctl's option: the signal this process gets when the thread that started it ends.
PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> None:
    """Be killed with the ingest that started this process (Linux), as its index writer was
    when it ran inside it: kill -9 of an ingest leaves no writer holding the index's lock
    for the next one (what it had not committed is indexed again from the watermark)."""
    try:
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the closed pipe ends it instead
        return
    if os.getppid() != parent:  # the ingest died before the line above
        os._exit(0)


def serve(path: str, parent: int) -> int:
    """The child's loop: index each batch the parent announces, commit, answer at the end."""
    from storage import index as search_index
    from storage.db import connect

    _die_with(parent)
    records = _Records()
    logging.getLogger().addHandler(records)
    logging.getLogger().setLevel(logging.INFO)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(sys.stdin, lines), daemon=True).start()
    writer = None
    try:
        db = connect(path, migrate=False, create=False)
        writer = search_index.open_for_ingest(db, heap=HEAP)
        while (line := lines.get()) is not None:
            message = json.loads(line)
            if writer is not None:
                writer.sync(message.get("sync", ()))
            if message.get("close"):
                break
    except Exception:  # told to the parent, which logs it; the watermark keeps the rest
        log.exception("the search index's writer process failed")
    finally:
        # Also when the parent died (its pipe closed): what was read from SQLite is committed.
        # A commit that fails (a full disk) is told too; the watermark keeps what it lost.
        if writer is not None:
            try:
                writer.close()
            except Exception:
                log.exception("the search index's writer process could not commit")
    answer = {"log": records.records, "peak_kb": _peak_kb()}
    with contextlib.suppress(OSError):  # a parent that died reads no answer
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


def _peak_kb() -> int:
    """This process's own peak resident memory (VmHWM), or 0 where /proc has none."""
    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0
