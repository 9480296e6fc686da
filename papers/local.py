"""`make run` in one process: the bot, the worker and, without Slack credentials, the local
stand-in with a demo channel subscription due within a minute."""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import replace
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from bot.app import build_app, make_http_server
from jobs.arxiv_lookup import arxiv_lookup
from jobs.worker import add_jobs
from storage import connect
from storage import subscriptions as subs
from storage.config import Config
from storage.schedule import Frequency, Schedule
from storage.subscriptions import Kind

log = logging.getLogger(__name__)


def _demo_subscription(config: Config, team_id: str) -> None:
    """A daily #general digest at this time of day, the first one right away, so a newcomer
    sees one arrive."""
    db = connect(config.db_path)
    now = datetime.now(UTC)
    at = now.strftime("%H:%M")
    for sub in subs.visible_to(db, team_id, "U0LOCAL", "C0GENERAL"):
        if sub.kind == Kind.CHANNEL and sub.keywords == "":
            subs.remove(db, team_id, "U0LOCAL", str(sub.id), "C0GENERAL")
    subs.create(
        db,
        team_id=team_id,
        user_id="U0LOCAL",
        target="C0GENERAL",
        kind=Kind.CHANNEL,
        keywords="",
        schedule=Schedule(Frequency.DAILY, at, "UTC"),
        now=now,
        first_due=now,
    )
    db.close()


def run_local(config: Config, standin_port: int) -> None:
    """Run everything; with no Slack credentials, against the stand-in."""
    stub = None
    if not (config.slack_bot_token or config.slack_client_id or config.slack_app_token):
        from slackstub import SlackStandIn

        secret = secrets.token_hex(16)
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
        _demo_subscription(config, stub.team_id)
    app = build_app(config, lookup=arxiv_lookup(config))
    server = make_http_server(app, "127.0.0.1" if stub else "0.0.0.0", config.port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    scheduler = BackgroundScheduler(timezone=UTC)
    add_jobs(scheduler, config)
    scheduler.start()
    if stub:
        print(
            f"\n  papers is running against a local Slack stand-in.\n"
            f"  Open {stub.url} to type /papers commands; a digest for #general arrives"
            f" within a minute.\n  Drop dumps into {config.inbox_dir}/ to ingest them.\n",
            flush=True,
        )
    else:
        print(f"papers bot on port {config.port}; worker running.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        scheduler.shutdown(wait=False)
        server.shutdown()
