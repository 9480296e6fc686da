"""A full session at DEBUG (serve, commands, OAuth install, worker, digest preview, hostile
requests, a feed with credentials in its URL): no bot token, signing secret, client secret,
URL password, API key or request body ever reaches a log line, and no request forges one."""

from __future__ import annotations

import io
import logging
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from papers.logsafe import scrub_url, setup_logging
from slackstub import SlackStandIn
from storage import connect
from storage.config import Config
from tests.bot.conftest import wait_for
from tests.conftest import add_subscription, count

PAPERS = str(Path(sys.executable).with_name("papers"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    handle = open(log, "w")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen([PAPERS, "-v", *args], env=env, stdout=handle, stderr=subprocess.STDOUT)


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_no_secret_in_any_log_line(seeded_path, tmp_path):
    token = "xoxb-" + "-".join(secrets.token_hex(6) for _ in range(3))
    signing, client_secret = secrets.token_hex(16), secrets.token_hex(16)
    url_password, api_key, body_marker = (secrets.token_hex(8) for _ in range(3))
    stub = SlackStandIn(token=token, signing_secret=signing).start()
    port, oauth_port = free_port(), free_port()
    stub.app_url = f"http://127.0.0.1:{port}/slack/events"
    base = {
        **os.environ,
        "PAPERS_DB": str(seeded_path),
        "SLACK_API_URL": stub.api_url,
        "SLACK_SIGNING_SECRET": signing,
        "PAPERS_INBOX": str(tmp_path / "inbox"),
    }
    base["PAPERS_FEEDS"] = f"http://reader:{url_password}@127.0.0.1:9/feed.xml?api_key={api_key}"
    single = {**base, "SLACK_BOT_TOKEN": token}
    oauth = {
        **base,
        "SLACK_CLIENT_ID": "111.222",
        "SLACK_CLIENT_SECRET": client_secret,
        "PAPERS_TOKEN_KEY": Fernet.generate_key().decode(),
    }
    processes = [
        start(["serve", "--port", str(port)], single, tmp_path / "serve.log"),
        start(["serve", "--port", str(oauth_port)], oauth, tmp_path / "oauth.log"),
    ]
    try:
        wait_for(lambda: listening(port) and listening(oauth_port), timeout=30)
        for text in ["lora", "subscribe lora daily", "list", "trending", "unsubscribe all"]:
            sent = stub.command(text)
            wait_for(lambda rid=sent["response_id"]: stub.responses(rid))
            count("hostile requests")
        # Bodies that must never be logged: signed, unsigned, stale, malformed, forging lines.
        signed = urllib.parse.urlencode(
            {
                "team_id": "T0LOCAL",
                "user_id": "U0LOCAL",
                "channel_id": "C0GENERAL",
                "command": "/papers",
                "text": "help",
                "response_url": stub.new_response_url()[1],
                "trigger_id": body_marker,
            }
        )
        forged = f"x=1\n2026-01-01 00:00:00,000 ERROR jobs.delivery: FORGED {body_marker}\n"
        for body, headers in [
            (signed, stub.sign(signed)),
            (signed, stub.sign(signed, timestamp=int(time.time()) - 600)),
            (forged, {"Content-Type": "application/x-www-form-urlencoded"}),
            (forged, {**stub.sign(forged), "X-Slack-Signature": "v0=" + "0" * 64}),
            (f"payload={body_marker}", stub.sign(f"payload={body_marker}")),
        ]:
            assert stub.send(body, headers)[0] in (200, 400, 401)
            count("hostile requests")
        stub.event({"type": "app_home_opened", "user": "U0LOCAL", "tab": "home"})
        wait_for(lambda: stub.state.views.get("U0LOCAL"))
        # The OAuth install: Bolt exchanges the code for a fresh bot token at the stand-in.
        # (the state cookie is Secure, so it is carried by hand over plain http)
        install = urllib.request.urlopen(f"http://127.0.0.1:{oauth_port}/slack/install", timeout=10)
        page = install.read().decode()
        cookie = install.headers["Set-Cookie"].split(";")[0]
        state = re.search(r"authorize\?state=([\w-]+)", page).group(1)
        callback = f"http://127.0.0.1:{oauth_port}/slack/oauth_redirect?code=c0de&state={state}"
        done = urllib.request.urlopen(
            urllib.request.Request(callback, headers={"Cookie": cookie}), timeout=10
        )
        assert done.status == 200
        installed = [t for t in stub.state.tokens if t != token]
        assert len(installed) == 1
        # The worker delivers a due digest; the CLI previews one.
        db = connect(seeded_path)
        sub = add_subscription(db, stub.team_id, "U0LOCAL", "C0GENERAL", due=datetime.now(UTC))
        processes.append(start(["worker"], single, tmp_path / "worker.log"))
        wait_for(lambda: stub.messages("C0GENERAL"), timeout=30)
        wait_for(lambda: "feed.xml" in (tmp_path / "worker.log").read_text(), timeout=30)
        preview = subprocess.run(
            [PAPERS, "-v", "digest", "--preview", "--subscription", str(sub.id)],
            env=single,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert preview.returncode == 0
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
        stub.stop()
    logs = "".join(p.read_text() for p in tmp_path.glob("*.log")) + preview.stderr
    assert " DEBUG " in logs and len(logs.splitlines()) > 100  # it really logged at DEBUG
    for secret in [token, signing, client_secret, url_password, api_key, body_marker, *installed]:
        assert secret not in logs
    assert "[redacted]" in logs
    assert not [line for line in logs.splitlines() if "FORGED" in line]
    assert "127.0.0.1:9/feed.xml" in logs  # the feed was logged, without its credentials


@pytest.mark.parametrize(
    ("message", "leaked"),
    [
        pytest.param("fetch https://bob:pw-123456@x.org/f", "pw-123456", id="url-password"),
        pytest.param("GET http://x.org/f?api_key=k-987654&q=1", "k-987654", id="api-key"),
        # A feed address's credentials, now fetched: a token alone as the user, a password
        # alone, and one holding an `@` were printed as they were.
        pytest.param("fetch http://ghp_tok987654@x.org/f", "ghp_tok987654", id="user-token"),
        pytest.param("fetch http://:pw-987654@x.org/f", "pw-987654", id="password-alone"),
        pytest.param("fetch http://u:p@pw-987654@x.org/f", "pw-987654", id="at-in-password"),
        pytest.param("body x\n2026 ERROR jobs.delivery: FORGED", "\n", id="newline-forgery"),
        pytest.param("body x\r\x1b[2K ERROR", "\x1b", id="terminal-escape"),
    ],
)
def test_a_log_record_carries_no_credential_and_stays_one_line(message, leaked):
    stream = io.StringIO()
    setup_logging(Config(), stream=stream)
    logging.getLogger("jobs.ingest").warning("%s", message)
    line = stream.getvalue()
    assert leaked not in line.rstrip("\n") and line.count("\n") == 1


def test_a_redacted_key_keeps_the_colon_the_report_puts_after_its_url():
    # `...?api_key=[redacted] FAILED:` swallowed the colon between the URL and its outcome.
    assert scrub_url("http://x.org/f?api_key=k-9: FAILED: HTTP 404") == (
        "http://x.org/f?api_key=[redacted]: FAILED: HTTP 404"
    )
