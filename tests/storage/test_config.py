"""Configuration from the environment: every bad value is one message naming its variable."""

from __future__ import annotations

import pytest

from storage.config import Config
from storage.errors import ConfigError


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        # 0 made APScheduler run the ingest every second, hammering every feed.
        pytest.param("PAPERS_INGEST_MINUTES", "0", "at least 1", id="ingest-every-0-min"),
        pytest.param("PAPERS_INGEST_MINUTES", "-5", "at least 1", id="ingest-negative"),
        # 0 made every feed fail with "took longer than 0 s".
        pytest.param("PAPERS_FEED_DEADLINE", "0", "at least 1", id="feed-deadline-0"),
        # 0 made every search answer "keep it under 0".
        pytest.param("PAPERS_MAX_QUERY", "0", "between 1 and 900", id="max-query-0"),
        pytest.param("PAPERS_DIGEST_SIZE", "0", "between 1 and 15", id="digest-size-0"),
        pytest.param("PAPERS_DIGEST_SIZE", "-1", "between 1 and 15", id="digest-size-negative"),
        pytest.param("PAPERS_GRACE_MINUTES", "-1", "at least 0", id="grace-negative"),
        pytest.param("PAPERS_COMMANDS_PER_MINUTE", "-1", "at least 0", id="rate-negative"),
        pytest.param("SLACK_TIMEOUT_SECONDS", "0", "at least 1", id="slack-timeout-0"),
        pytest.param("PORT", "0", "between 1 and 65535", id="port-0"),
        pytest.param("PORT", "99999", "between 1 and 65535", id="port-too-big"),
        # 20 papers overflow a Slack message; a longer query overflows its buttons' value.
        pytest.param("PAPERS_DIGEST_SIZE", "20", "between 1 and 15", id="digest-too-big"),
        pytest.param("PAPERS_MAX_QUERY", "5000", "between 1 and 900", id="query-too-long"),
        # Both were clamped in silence: 1 s became 4 s, a batch of 0 or -5 became 1 entry.
        pytest.param("PAPERS_LEASE_SECONDS", "1", "at least 4", id="lease-1s"),
        pytest.param("PAPERS_LEASE_SECONDS", "-60", "at least 4", id="lease-negative"),
        pytest.param("PAPERS_INGEST_BATCH", "0", "at least 1", id="batch-0"),
        pytest.param("PAPERS_INGEST_BATCH", "-5", "at least 1", id="batch-negative"),
        # Python's int() took both, so a typo'd or pasted value ran as a number.
        pytest.param("PAPERS_INGEST_MINUTES", "1_0", "a whole number", id="underscore"),
        pytest.param("PAPERS_INGEST_MINUTES", "١٢", "a whole number", id="arabic-indic-digits"),
    ],
)
def test_an_impossible_number_names_its_variable(key, value, message):
    with pytest.raises(ConfigError) as raised:
        Config.from_env({key: value})
    assert str(raised.value) == f"{key} must be {message}, got {value!r}"


@pytest.mark.parametrize(
    ("key", "value", "field", "expected"),
    [
        pytest.param("PAPERS_GRACE_MINUTES", "0", "grace_minutes", 0, id="no-grace"),
        pytest.param("PAPERS_COMMANDS_PER_MINUTE", "0", "commands_per_minute", 0, id="no-limit"),
        pytest.param("PORT", "65535", "port", 65535, id="highest-port"),
        pytest.param("PAPERS_INGEST_MINUTES", "1", "ingest_interval_minutes", 1, id="every-min"),
        pytest.param("PAPERS_LEASE_SECONDS", "4", "lease_seconds", 4, id="shortest-lease"),
        pytest.param("PAPERS_INGEST_BATCH", "1", "ingest_batch", 1, id="one-entry-batches"),
    ],
)
def test_the_smallest_meaningful_values_are_accepted(key, value, field, expected):
    assert getattr(Config.from_env({key: value}), field) == expected


def test_dotenv_reads_export_lines_and_the_environment_wins(tmp_path, monkeypatch):
    # `export KEY=value` is a common .env line (shells source it; python-dotenv reads it):
    # it was ignored, so `make run` fell back to the stand-in with the token right there.
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# Slack\n"
        "export SLACK_BOT_TOKEN=bot-token-from-dotenv\n"
        "export  SLACK_SIGNING_SECRET = 'quoted'\n"
        "PAPERS_DIGEST_SIZE=7\n"
        "PORT=4000\n"
    )
    monkeypatch.setenv("PORT", "5000")
    config = Config.from_env(dotenv=dotenv)
    assert config.slack_bot_token == "bot-token-from-dotenv"
    assert config.slack_signing_secret == "quoted"
    assert (config.digest_size, config.port) == (7, 5000)


@pytest.mark.parametrize(
    "encoding", ["utf-16", "utf-8-sig", "utf-16-be"], ids=["notepad", "bom", "big-endian"]
)
def test_a_dotenv_saved_as_utf16_or_with_a_bom_is_read(tmp_path, monkeypatch, encoding):
    # Notepad's "Unicode" and PowerShell's `>` write UTF-16: every command was a traceback.
    monkeypatch.delenv("PAPERS_DIGEST_SIZE", raising=False)
    dotenv = tmp_path / ".env"
    text = "PAPERS_DIGEST_SIZE=7\n"
    data = text.encode(encoding)
    dotenv.write_bytes(b"\xfe\xff" + data if encoding == "utf-16-be" else data)
    assert Config.from_env(dotenv=dotenv).digest_size == 7


def test_a_dotenv_that_is_no_text_is_one_clear_error(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_bytes(b"PAPERS_DIGEST_SIZE=\xff\xfe7\n")
    with pytest.raises(ConfigError, match=r"\.env is not UTF-8 text: save it as UTF-8"):
        Config.from_env(dotenv=dotenv)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"PAPERS_DB=/x.db\0\n", id="nul"),
        pytest.param("PAPERS_DB=/x.db\n".encode("utf-16-le"), id="utf16-without-its-mark"),
    ],
)
def test_a_dotenv_holding_nul_bytes_is_one_clear_error(tmp_path, data):
    # A NUL made `papers ingest` raise "embedded null byte"; UTF-16 without its mark was
    # read as keys full of NULs, and every setting was silently dropped.
    dotenv = tmp_path / ".env"
    dotenv.write_bytes(data)
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        Config.from_env(dotenv=dotenv)


def test_a_dotenv_saved_as_utf32_is_read(tmp_path, monkeypatch):
    monkeypatch.delenv("PAPERS_DIGEST_SIZE", raising=False)
    dotenv = tmp_path / ".env"
    dotenv.write_bytes("PAPERS_DIGEST_SIZE=7\n".encode("utf-32"))  # its mark starts FF FE
    assert Config.from_env(dotenv=dotenv).digest_size == 7


def test_a_comment_after_a_dotenv_value_is_not_part_of_it(tmp_path, monkeypatch):
    # `KEY=value  # why` (as python-dotenv and docker compose read it) kept the comment in
    # the value: a signing secret so noted made Slack's every request a 401, a feed list
    # gained the feeds `#` and `arXiv`. A `#` inside quotes or a word stays.
    for key in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "PAPERS_FEEDS", "PAPERS_EMPTY_DIGEST"):
        monkeypatch.delenv(key, raising=False)
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "SLACK_SIGNING_SECRET=abc123  # from Basic Information\n"
        "SLACK_BOT_TOKEN='xoxb-1 #2' # quoted: the # is the token's\n"
        "PAPERS_FEEDS=https://a.example/rss#top https://b.example/rss\t# arXiv\n"
        "PAPERS_EMPTY_DIGEST=note # or skip\n"
    )
    config = Config.from_env(dotenv=dotenv)
    assert config.slack_signing_secret == "abc123"
    assert config.slack_bot_token == "xoxb-1 #2"
    assert config.feed_urls == ("https://a.example/rss#top", "https://b.example/rss")
    assert config.empty_digest == "note"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        # Without its scheme it was taken for a file path: "no such file, folder or URL"
        # warned at every run, and the feed was never read.
        pytest.param("export.arxiv.org/rss/cs.LG", "export.arxiv.org/rss/cs.LG", id="no-scheme"),
        pytest.param("ftp://example.org/feed.xml", "ftp://example.org/feed.xml", id="ftp"),
        pytest.param("https://", "https://", id="no-host"),
        pytest.param("http://[::1/feed", "http://[::1/feed", id="unparsable"),
        # Its password is not printed.
        pytest.param("reader:hunter2@example.org/rss", "[redacted]@example.org/rss", id="secret"),
        # Nor a key in its query (PAPERS_FEEDS URLs carry them: tests/test_secrets.py).
        pytest.param(
            "example.org/rss?api_key=hunter2&n=5", "example.org/rss?[redacted]", id="query-key"
        ),
    ],
)
def test_a_feed_that_is_no_http_url_names_its_variable(value, shown):
    good = "https://export.arxiv.org/rss/cs.LG"
    with pytest.raises(ConfigError) as raised:
        Config.from_env({"PAPERS_FEEDS": f"{good} {value}"})
    assert str(raised.value) == (
        f"PAPERS_FEEDS must list http(s) URLs (https://host/path), got {shown!r}"
    )
    assert "hunter2" not in str(raised.value)


def test_feed_urls_of_any_case_are_accepted():
    urls = "HTTPS://export.arxiv.org/rss/cs.LG http://user:pw@host:8080/f.xml?key=1"
    assert Config.from_env({"PAPERS_FEEDS": urls}).feed_urls == tuple(urls.split())


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        pytest.param("SLACK_API_URL", "localhost:3001/api/", "localhost:3001/api/", id="slack"),
        pytest.param(
            "PAPERS_ARXIV_API",
            "export.arxiv.org/api/query?key=hunter2",
            "export.arxiv.org/api/query?[redacted]",
            id="arxiv",
        ),
        pytest.param(
            "PAPERS_ARXIV_API", "ftp://export.arxiv.org/api", "ftp://export.arxiv.org/api", id="ftp"
        ),
        # A port that is no number passed, and then every call failed.
        pytest.param(
            "SLACK_API_URL", "https://slack.com:api/", "https://slack.com:api/", id="port"
        ),
    ],
)
def test_a_url_setting_that_is_no_http_url_is_refused_at_start(key, value, shown):
    """Read as given, every call to it failed at every run: the bot answered no command
    (SLACK_API_URL), a pasted arXiv link was never looked up (PAPERS_ARXIV_API)."""
    with pytest.raises(ConfigError) as raised:
        Config.from_env({key: value})
    assert str(raised.value) == f"{key} must be an http(s) URL (https://host/path), got {shown!r}"
    assert "hunter2" not in str(raised.value)


# Token shapes put together at run time, as tests/test_secrets.py does: no token-like
# string is committed.
@pytest.mark.parametrize(
    "value",
    [
        pytest.param("xox" + "b-1234-5678-hunter2", id="bot-token"),
        pytest.param("xap" + "p-1-A0123-hunter2", id="app-token"),
        pytest.param("SLACK_BOT_TOKEN=xox" + "b-1234-hunter2", id="a-line-pasted-whole"),
    ],
)
def test_a_token_set_as_slack_api_url_is_not_printed(value):
    """A bot token pasted into SLACK_API_URL (a line of .env shifted, a variable mixed up)
    is no URL: the error at start printed it whole, on a terminal or into a log that the
    log filter never sees (it is said before logging is set up)."""
    with pytest.raises(ConfigError) as raised:
        Config.from_env({"SLACK_API_URL": value})
    assert "SLACK_API_URL must be an http(s) URL" in str(raised.value)
    assert "hunter2" not in str(raised.value) and "[redacted]" in str(raised.value)
