"""How the app is built and served: OAuth install page, config errors, the stand-in page."""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.app import build_app, make_http_server
from storage.config import Config
from storage.errors import ConfigError


def test_oauth_mode_serves_an_install_page_and_keeps_installs_in_sqlite(tmp_path, standin):
    config = Config(
        db_path=str(tmp_path / "p.db"),
        slack_signing_secret="s",
        slack_client_id="111.222",
        slack_client_secret="not-a-real-secret",
        token_key=Fernet.generate_key().decode(),
        slack_api_url=standin.api_url,
    )
    server = make_http_server(build_app(config), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/slack/install"
        with urllib.request.urlopen(url, timeout=5) as response:
            page = response.read().decode()
        assert "https://slack.com/oauth/v2/authorize?state=" in page and "client_id=111.222" in page
    finally:
        server.shutdown()
    import sqlite3

    tables = {
        r[0]
        for r in sqlite3.connect(tmp_path / "p.db").execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        )
    }
    assert "oauth_states" in tables


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param({}, "SLACK_SIGNING_SECRET is not set", id="no-secret"),
        pytest.param({"slack_signing_secret": "s"}, "SLACK_BOT_TOKEN is not set", id="no-token"),
        pytest.param(
            {"slack_signing_secret": "s", "slack_client_id": "1.2"},
            "SLACK_CLIENT_SECRET is not set",
            id="client-id-without-secret",
        ),
    ],
)
def test_missing_credentials_are_a_clear_error(tmp_path, fields, message):
    with pytest.raises(ConfigError, match=message):
        build_app(Config(db_path=str(tmp_path / "p.db"), **fields))


def test_standin_page_and_command_form(slack):
    with urllib.request.urlopen(slack.url + "/", timeout=5) as response:
        assert "papers (local)" in response.read().decode()
    request = urllib.request.Request(
        slack.url + "/_stub/command",
        data=b'{"text": "lora"}',
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert b'"status": 200' in response.read()


@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        pytest.param(b"GARBAGE", b"400", id="garbage"),
        pytest.param(b"POST /slack/events HTTP/9.9", b"400", id="unknown-version"),
        pytest.param(b"\x00\xff\xfe", b"400", id="binary"),
        pytest.param(b"GET /" + b"a" * 70_000 + b" HTTP/1.1", b"431", id="70-kb-line"),
    ],
)
def test_malformed_request_lines_get_a_4xx_and_no_traceback(slack, caplog, request_line, status):
    caplog.set_level(logging.DEBUG)
    port = int(slack.app_url.split(":")[2].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request_line + b"\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        answer = sock.recv(200)
    assert answer.split(b" ")[1] == status
    assert "Traceback" not in caplog.text
    assert slack.command("help")["status"] == 200


def test_the_app_answers_a_command_while_300_connections_hang_half_open(slack):
    """A small slowloris (bench/slowloris.py runs 4,000 and 9,000): a signed command is still
    answered while connections hold partial headers, and after they all close."""
    port = int(slack.app_url.split(":")[2].split("/")[0])
    hanging = []
    try:
        for _ in range(300):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            hanging.append(sock)
        assert slack.command("help")["status"] == 200
    finally:
        for sock in hanging:
            sock.close()
    assert slack.command("help")["status"] == 200


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Origin": "http://evil.example"}, id="foreign-origin"),
        pytest.param({"Sec-Fetch-Site": "cross-site"}, id="cross-site"),
        pytest.param({"Sec-Fetch-Site": "same-site", "Origin": "null"}, id="same-site-null"),
    ],
)
def test_standin_refuses_cross_origin_posts(slack, headers):
    request = urllib.request.Request(
        slack.url + "/_stub/command",
        data=b"text=subscribe+lora+daily",
        headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 403
    assert slack.state.responses == {}  # nothing was signed and sent to the app


def test_standin_never_takes_the_real_signing_secret_from_the_environment(tmp_path):
    env = {**os.environ, "SLACK_SIGNING_SECRET": "the-real-secret-0123456789"}
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    papers = str(Path(sys.executable).with_name("papers"))
    process = subprocess.Popen(
        [papers, "standin", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = [process.stdout.readline() for _ in range(3)]
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert "Slack stand-in at" in lines[0]
    assert "SLACK_SIGNING_SECRET=" in lines[2] and "the-real-secret" not in "".join(lines)


def test_a_bot_token_in_the_environment_logs_no_warning_at_start(tmp_path, monkeypatch, caplog):
    # Bolt reads SLACK_BOT_TOKEN itself and, as we hand it a client, warned "As you gave
    # `client` as well, `token` will be unused." at every start: a warning an admin who
    # set the token exactly as told would take for a mistake.
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-env")
    config = Config(
        db_path=str(tmp_path / "p.db"), slack_bot_token="xoxb-env", slack_signing_secret="s"
    )
    with caplog.at_level(logging.WARNING):
        build_app(config)
    # The start's own lines: an earlier test's reply thread (in the same xdist worker) may
    # still log its failed answer meanwhile.
    started = [r for r in caplog.records if r.thread == threading.get_ident()]
    assert [r.getMessage() for r in started if r.levelno >= logging.WARNING] == []


@pytest.mark.parametrize(
    "start",
    [
        pytest.param("bot", id="bot"),
        pytest.param("worker", id="worker"),
    ],
)
def test_a_changed_token_key_stops_the_start_in_one_line(tmp_path, start):
    """PAPERS_TOKEN_KEY changed after workspaces installed: the bot answered every /papers
    with a 500 (Slack showed the user a failure) and the worker logged a traceback per due
    subscription every minute; both now refuse to start and say why."""
    from dataclasses import replace

    from cryptography.fernet import Fernet
    from slack_sdk.oauth.installation_store import Installation

    from jobs.slack import check_token_key, client_factory
    from storage.installations import EncryptedInstallationStore

    config = Config(
        db_path=str(tmp_path / "p.db"),
        slack_signing_secret="s",
        slack_client_id="111.222",
        slack_client_secret="c",
        token_key=Fernet.generate_key().decode(),
    )
    build_app(config)
    store = EncryptedInstallationStore(
        database=config.db_path, client_id="111.222", key=config.token_key
    )
    token = "xoxb-" + uuid.uuid4().hex  # made here, as the stand-in makes its own
    installed = Installation(
        app_id="A0",
        team_id="T0",
        user_id="U0",
        bot_token=token,
        bot_id="B0",
        bot_user_id="U0BOT",
    )
    store.save(installed)
    changed = replace(config, token_key=Fernet.generate_key().decode())
    said = "PAPERS_TOKEN_KEY does not decrypt the stored tokens (was the key changed?)"
    if start == "bot":
        with pytest.raises(ConfigError, match=re.escape(said)):
            build_app(changed)
    else:  # `papers worker` as an admin starts it: the one line, before any job runs
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PAPERS_"))}
        env |= {"SLACK_CLIENT_ID": "111.222", "SLACK_CLIENT_SECRET": "c"}
        env["PAPERS_TOKEN_KEY"] = changed.token_key
        papers = str(Path(sys.executable).with_name("papers"))
        ran = subprocess.run(
            [papers, "--db", config.db_path, "worker"],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=60,
        )
        assert (ran.returncode, ran.stderr) == (2, f"Error: {said}\n")
    build_app(config)  # the right key still starts
    check_token_key(config)
    assert client_factory(config)("T0").token == token
