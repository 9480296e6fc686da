"""A full session at DEBUG (serve, commands, OAuth install, worker, digest preview): no bot
token, signing secret or client secret ever reaches a log line."""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from slackstub import SlackStandIn
from storage import connect
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
    single = {**base, "SLACK_BOT_TOKEN": token}
    oauth = {**base, "SLACK_CLIENT_ID": "111.222", "SLACK_CLIENT_SECRET": client_secret}
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
    for secret in [token, signing, client_secret, *installed]:
        assert secret not in logs
    assert "[redacted]" in logs
