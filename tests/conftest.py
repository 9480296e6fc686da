"""Shared fixtures: temporary databases, the seed dumps, and a local HTTP file server."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import threading
from collections import Counter
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from jobs.ingest import ingest_target
from papers.logsafe import RedactingFilter
from storage import connect
from storage.config import Config

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
NOW = datetime(2026, 3, 17, 8, 0, tzinfo=UTC)

# Hermetic: a developer's exported SLACK_*/PAPERS_* variables never reach the tests (nor the
# processes they start), and `hermetic_cwd` keeps a developer's .env out of Config.from_env().
for _key in [k for k in os.environ if k.startswith(("SLACK_", "PAPERS_"))]:
    del os.environ[_key]


@pytest.fixture(autouse=True)
def hermetic_cwd(tmp_path, monkeypatch):
    """Run each test in its own empty folder, so no .env or data/ of the checkout is read."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def no_pending_requests():
    """Forget the request keys the bot held in memory while a test held the write lock:
    the next test's first request would store them in its own database."""
    yield
    from storage import replays

    replays._PENDING.clear()


@pytest.fixture(autouse=True)
def restore_logging():
    """Undo the CLI's logging setup after each test that ran it in-process: an INFO root
    level left behind made a later test's caplog see slack_sdk's retry lines."""
    levels = {name: logging.getLogger(name).level for name in ("", "apscheduler", "jobs")}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    root = logging.getLogger()
    for handler in root.handlers[:]:
        if any(isinstance(f, RedactingFilter) for f in handler.filters):
            root.removeHandler(handler)


# `make test` runs a CI-sized sample of every property; `make fuzz` the long version.
settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "fuzz", max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# What the adversarial tests did, for the summary line and the README's figures.
FIGURES: Counter[str] = Counter()


def count(what: str, n: int = 1) -> None:
    """Count generated cases, fired requests and injected faults."""
    FIGURES[what] += n


def pytest_sessionfinish(session) -> None:
    # Under pytest-xdist each worker counts its own tests: it hands them to the controller.
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["figures"] = dict(FIGURES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """The controller adds up what each xdist worker counted."""
    FIGURES.update(getattr(node, "workeroutput", {}).get("figures", {}))


def pytest_terminal_summary(terminalreporter) -> None:
    if FIGURES:
        parts = ", ".join(f"{n} {what}" for what, n in sorted(FIGURES.items()))
        terminalreporter.write_line(f"adversarial figures: {parts}")


@pytest.fixture
def db(tmp_path):
    """A fresh, migrated database file."""
    database = connect(tmp_path / "papers.db")
    yield database
    database.close()


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory) -> Path:
    """The seed dumps ingested once per run (the undated dump listed on Mar 17)."""
    path = tmp_path_factory.mktemp("template") / "seeded.db"
    database = connect(path)
    for target in sorted(SEEDS.iterdir()):
        ingest_target(database, str(target), NOW, date(2026, 3, 17))
    database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    database.close()
    return path


@pytest.fixture
def seeded_path(tmp_path, seeded_template) -> Path:
    """A private copy of the seeded database file."""
    path = tmp_path / "papers.db"
    shutil.copyfile(seeded_template, path)
    # The search index beside it (a missing one would be rebuilt, at some cost per test).
    shutil.copytree(f"{seeded_template}.index", f"{path}.index")
    return path


@pytest.fixture
def seeded(seeded_path):
    """A database with the seed dumps in it, private to the test."""
    database = connect(seeded_path)
    yield database
    database.close()


def add_subscription(
    db,
    team_id: str,
    user_id: str,
    target: str,
    kind: str = "channel",
    now: datetime = NOW,
    due: datetime | None = None,
    **fields,
):
    """A daily 09:00 UTC trending subscription, optionally due at `due` (as storage makes it)."""
    from storage import subscriptions as subs
    from storage.schedule import Schedule

    values = dict(frequency="daily", at_time="09:00", tz="UTC", weekday=0)
    values.update(fields)
    schedule = Schedule(
        values.pop("frequency"), values.pop("at_time"), values.pop("tz"), values.pop("weekday")
    )
    return subs.create(
        db,
        team_id=team_id,
        user_id=user_id,
        target=target,
        kind=kind,
        keywords=values.pop("keywords", ""),
        schedule=schedule,
        now=now,
        first_due=due,
        **values,
    ).subscription


class FileServer:
    """A local HTTP server with routes set by the test: body, status, headers, ETag."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        # When set, every answer waits until the test sets this event (a slow upstream).
        self.hold: threading.Event | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                server.requests.append((self.path, dict(self.headers)))
                if server.hold is not None:
                    server.hold.wait(timeout=30)
                status, body, headers = server.routes.get(self.path, (404, b"not found", {}))
                etag = headers.get("ETag")
                if etag and self.headers.get("If-None-Match") == etag:
                    status, body = 304, b""
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def file_server():
    """A running local HTTP server for feeds and dumps."""
    server = FileServer()
    yield server
    server.close()


class DripServer:
    """A feed that sends its headers, then one byte per `interval` until closed: the slowest
    source a red team can build. With `headers`, it drips a header line instead, never
    ending its headers. close() ends every connection at once."""

    def __init__(self, interval: float = 0.2, headers: bool = False) -> None:
        self.stop = threading.Event()
        self.asked = threading.Event()  # set once a client is being dripped at
        self.hung_up = threading.Event()  # set once a client closed its connection
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                server.asked.set()
                if headers:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Drip: ")
                else:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    self.send_header("Content-Length", "1000000")
                    self.end_headers()
                # Event.wait is the drip's pace (a server thread, not the test's clock).
                while not server.stop.wait(interval):
                    try:
                        self.wfile.write(b"a" if headers else b"<")
                        self.wfile.flush()
                    except OSError:
                        server.hung_up.set()
                        return

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, path: str = "/feed.xml") -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def ctrl_c():
    """SIGINT taken as a terminal's Ctrl-C (KeyboardInterrupt) in this test and in the
    processes it starts: a test run started in the background (`cmd &`) inherits it ignored,
    and an ignored SIGINT stays ignored across exec."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture
def drip_server():
    """A local feed that drips one byte at a time, forever."""
    server = DripServer()
    yield server
    server.close()


@pytest.fixture
def header_drip_server():
    """A local feed that drips a header line one byte at a time, forever."""
    server = DripServer(headers=True)
    yield server
    server.close()


def printed_lines(stream, n: int, timeout: float = 10.0) -> list[str]:
    """Up to n lines a process prints within timeout (fewer if it prints no more)."""
    import queue

    got: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [got.put(line) for line in stream], daemon=True).start()
    lines: list[str] = []
    try:
        while len(lines) < n:
            lines.append(got.get(timeout=timeout))
    except queue.Empty:
        pass
    return lines


def install(config: Config, team: str, token: str, enterprise: str | None = None) -> None:
    """What Bolt stores when a workspace installs (or installs again) the app through
    /slack/install: its bot token, encrypted."""
    from slack_sdk.oauth.installation_store import Installation

    from storage.installations import EncryptedInstallationStore

    store = EncryptedInstallationStore(
        database=config.db_path, client_id=config.slack_client_id, key=config.token_key
    )
    store.save(
        Installation(
            app_id="A0LOCAL",
            enterprise_id=enterprise,
            team_id=team,
            user_id="U0LOCAL",
            bot_token=token,
            bot_id="B0BOT",
            bot_user_id="U0BOT",
            bot_scopes="commands,chat:write",
        )
    )
