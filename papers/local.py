"""`make run` in one process: the bot, the worker and, without Slack credentials, the local
stand-in with a demo channel subscription due within a minute."""

from __future__ import annotations

import errno
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from sqlite_utils import Database

from bot.app import build_app, install_pages, make_http_server, socket_mode
from jobs.arxiv_lookup import arxiv_lookup
from jobs.inbox import check_inbox
from jobs.worker import add_jobs, stop, stop_on_sigterm, watch_inbox
from storage import connect, meta
from storage import subscriptions as subs
from storage.config import Config
from storage.errors import ConfigError
from storage.schedule import Frequency, Schedule
from storage.subscriptions import Kind

log = logging.getLogger(__name__)


DEMO_KEY = "demo_subscription"
DEMO_USER, DEMO_CHANNEL = "U0LOCAL", "C0GENERAL"
INBOX_POLL_SECONDS = 2


def demo_subscription(db: Database, team_id: str, now: datetime) -> subs.Subscription | None:
    """Once per database, a daily #general digest at this time of day, the first one right
    away, so a newcomer sees one arrive. Returns it when it was made now.

    A restart finds the mark and touches nothing: not the demo's subscription (whose time a
    user may have changed, or which they removed) and never one a user made."""
    if meta.get(db, DEMO_KEY) is not None:
        return None
    taken = [
        s
        for s in subs.visible_to(db, team_id, DEMO_USER, DEMO_CHANNEL)
        if s.target == DEMO_CHANNEL and s.keywords == ""
    ]
    made = None
    if not taken:  # a #general trending digest someone made already is the demo enough
        made = subs.create(
            db,
            team_id=team_id,
            user_id=DEMO_USER,
            target=DEMO_CHANNEL,
            kind=Kind.CHANNEL,
            keywords="",
            schedule=Schedule(Frequency.DAILY, now.strftime("%H:%M"), "UTC"),
            now=now,
            first_due=now,
            demo=True,
        ).subscription
    meta.put(db, DEMO_KEY, str(made.id if made else taken[0].id))
    return made


@contextmanager
def listening_on(port: int, setting: str) -> Iterator[None]:
    """Turn a port that is taken (a second `make run`) into one clear error."""
    try:
        yield
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise ConfigError(
            f"port {port} is already in use (is papers already running?); "
            f"stop that process or choose another port with {setting}."
        ) from exc


def run_local(config: Config, standin_port: int) -> None:
    """Run everything; with no Slack credentials, against the stand-in."""
    check_inbox(config)  # one line now, not a failed ingest at every run
    stub = demo = pages = None
    if not (config.slack_bot_token or config.slack_client_id or config.slack_app_token):
        from slackstub import SlackStandIn

        secret = secrets.token_hex(16)
        # `make run` takes no option: name its variable too.
        with listening_on(standin_port, "--standin-port (`make run STANDIN_PORT=N`)"):
            stub = SlackStandIn(
                signing_secret=secret,
                port=standin_port,
                app_url=f"http://127.0.0.1:{config.port}/slack/events",
            ).start()
        config = replace(
            config,
            slack_bot_token=stub.token,
            slack_signing_secret=secret,
            slack_api_url=stub.api_url,
        )
        db = connect(config.db_path)
        try:
            demo = demo_subscription(db, stub.team_id, datetime.now(UTC))
        finally:
            db.close()
    app = build_app(config, lookup=arxiv_lookup(config))
    if config.slack_app_token:
        # Socket Mode, as `papers serve`: connect out to Slack, listen on no port (but for
        # the install page, with OAuth).
        with listening_on(config.port, "PORT (`PORT=N make run`)"):
            pages = install_pages(app, config, "0.0.0.0")
        try:
            server = socket_mode(app, config)
        except ConfigError:
            if pages:
                pages.shutdown()
            raise
    else:
        with listening_on(config.port, "PORT (`PORT=N make run`)"):
            server = make_http_server(app, "127.0.0.1" if stub else "0.0.0.0", config.port)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    scheduler = BackgroundScheduler(timezone=UTC)
    hold = add_jobs(scheduler, config)
    # Ctrl-C or SIGTERM: stop, and give the worker lease up as `papers worker` does, so a
    # `make run` started again runs its jobs at once instead of waiting for it to lapse.
    # From the lease on: a Ctrl-C while the scheduler starts must release it too.
    try:
        stop_on_sigterm()
        if stub:
            watch_inbox(scheduler, config, hold, INBOX_POLL_SECONDS)
        scheduler.start()
        if stub:
            # A restart sends no demo digest: saying one comes would have the newcomer wait,
            # and the stand-in's channels start empty again (it keeps messages in memory).
            news = (
                "the demo's first digest for #general\n  arrives within a minute."
                if demo
                else "your subscriptions are kept,\n"
                "  the stand-in's messages are not (delete data/ to see the demo digest again)."
            )
            print(
                f"\n  papers is running against a local Slack stand-in.\n"
                f"  Open {stub.url} to type /papers commands; {news}\n"
                f"  Drop dumps into {config.inbox_dir}/: they are ingested within"
                f" seconds here (checked every {INBOX_POLL_SECONDS} s;\n"
                f"  `papers worker` alone checks every"
                f" {config.ingest_interval_minutes} minutes).\n",
                flush=True,
            )
        else:
            where = "in Socket Mode" if config.slack_app_token else f"on port {config.port}"
            if pages:
                where += f" (install page at http://localhost:{config.port}/slack/install)"
            print(f"papers bot {where}; worker running.", flush=True)
        while True:  # until Ctrl-C or SIGTERM (a KeyboardInterrupt)
            # A wait with a timeout: the kernel may hand the signal to another thread, and
            # Python runs its handler only once this thread wakes (a wait without one hung
            # about one stop in six, measured).
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop(scheduler, hold)
        if config.slack_app_token:
            server.close()
            if pages:
                pages.shutdown()
        else:
            server.shutdown()
