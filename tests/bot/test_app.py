"""How the app is built and served: OAuth install page, config errors, the stand-in page."""

from __future__ import annotations

import threading
import urllib.request

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
