"""Configuration, read once from the environment and passed down."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from storage.errors import ConfigError


def _load_dotenv(path: Path) -> dict[str, str]:
    """Read KEY=VALUE lines from an ignored .env file; the real environment wins."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in _dotenv_text(path).splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip()
        if key.startswith("export ") or key.startswith("export\t"):  # a shell-sourced .env
            key = key[len("export") :].strip()
        values[key] = _dotenv_value(value)
    return values


def _dotenv_value(raw: str) -> str:
    """A .env value as python-dotenv reads it: a quoted one up to its closing quote, an
    unquoted one up to a ` #` comment (a comment kept in a signing secret failed every
    request's signature)."""
    raw = raw.strip()
    if raw[:1] in ('"', "'") and raw[0] in raw[1:]:
        return raw[1 : raw.index(raw[0], 1)]
    return re.split(r"\s#", raw, maxsplit=1)[0].strip().strip('"').strip("'")


def _dotenv_text(path: Path) -> str:
    """The .env file's text: UTF-8, or UTF-16 with its byte order mark (Notepad's
    "Unicode", PowerShell's `>`), which made every command a traceback."""
    data = path.read_bytes()
    try:
        if data[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
            text = data.decode("utf-32")
        elif data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            text = data.decode("utf-16")
        else:
            text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = "\0"
    if "\0" in text:  # not text, or UTF-16 without its mark: every setting would be lost
        raise ConfigError(f"{path} is not UTF-8 text: save it as UTF-8 and try again")
    return text


# Upper bounds that Slack's limits set (../slack-facts: 50 blocks and ~12k characters per
# message, 2,000 characters per button value): 15 papers of the longest kind fill a digest
# to 32 blocks, 20 overflow it; a search's Next and Share buttons carry its query, JSON-quoted
# (a `"` takes two characters).
MAX_DIGEST_SIZE = 15
MAX_QUERY_LIMIT = 900


def _int(
    env: dict[str, str], key: str, default: int, least: int | None = None, most: int | None = None
) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    # ASCII digits only: Python's int() also takes `1_0` and Arabic-Indic `١٢`.
    if not re.fullmatch(r"[+-]?[0-9]+", raw):
        raise ConfigError(f"{key} must be a whole number, got {raw!r}")
    value = int(raw)
    # Out of range is refused, not clamped: PAPERS_INGEST_MINUTES=0 would poll every second.
    if most is not None and least is not None and not least <= value <= most:
        raise ConfigError(f"{key} must be between {least} and {most}, got {raw!r}")
    if least is not None and value < least:
        raise ConfigError(f"{key} must be at least {least}, got {raw!r}")
    return value


def _feeds(raw: str) -> tuple[str, ...]:
    """PAPERS_FEEDS: space-separated http(s) URLs. Anything else (a URL without its scheme)
    was read as a file path and failed at every run, its feed never fetched."""
    urls = tuple(raw.split())
    for url in urls:
        if not _is_http(url):
            raise ConfigError(
                f"PAPERS_FEEDS must list http(s) URLs (https://host/path), got {_shown(url)!r}"
            )
    return urls


def _url(env: dict[str, str], key: str, default: str) -> str:
    """An http(s) URL setting: refused at start, or every call to it failed at every run
    (the bot answering nothing, a pasted link never looked up)."""
    raw = env.get(key, "").strip()
    if raw and not _is_http(raw):
        raise ConfigError(f"{key} must be an http(s) URL (https://host/path), got {_shown(raw)!r}")
    return raw or default


def _is_http(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a port that is no number (`host:badport`)
    except ValueError:  # `http://[::1`, `http://host:badport/`
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


# Slack's token shapes (bot, user, app-level, refresh), for papers.logsafe's log filter and
# for a token pasted into a URL setting, said at start before that filter exists.
SLACK_TOKENS = (re.compile(r"xox[abeposr]-[A-Za-z0-9-]+"), re.compile(r"xapp-\d-[A-Za-z0-9-]+"))


def _shown(url: str) -> str:
    """A URL as an error may print it: never its password, nor a key in its query, nor a
    Slack token set there by mistake."""
    shown = re.sub(r"^([^/]*//)?[^/]*@", r"\1[redacted]@", url)
    shown = re.sub(r"\?.*", "?[redacted]", shown)
    for token in SLACK_TOKENS:
        shown = token.sub("[redacted]", shown)
    return shown


def _folder(url: str) -> str:
    return url if not url or url.endswith("/") else url + "/"


@dataclass(frozen=True)
class Config:
    """Everything the bot and the worker need, from PAPERS_* and SLACK_* variables."""

    db_path: str = "data/papers.db"
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str = ""
    slack_client_id: str = ""
    slack_client_secret: str = ""
    slack_api_url: str = ""
    port: int = 3000
    inbox_dir: str = "data/inbox"
    feed_urls: tuple[str, ...] = field(default_factory=tuple)
    ingest_interval_minutes: int = 30
    digest_size: int = 5
    empty_digest: str = "skip"  # "skip": send nothing; "note": a short line
    grace_minutes: int = 180
    max_query_chars: int = 256
    commands_per_minute: int = 20
    slack_timeout_seconds: int = 15
    arxiv_api: str = "http://export.arxiv.org/api/query"  # looks up pasted links' papers
    token_key: str = ""  # Fernet key that encrypts OAuth tokens at rest
    feed_deadline_seconds: int = 120  # total time one feed fetch may take
    lease_seconds: int = 60  # a dead worker's lease lapses after this
    # Entries per ingest write transaction (storage.papers.BATCH): fewer, larger
    # transactions write less; smaller ones hold the write lock for less time.
    ingest_batch: int = 20_000

    @property
    def oauth(self) -> bool:
        """OAuth mode (many workspaces): client id and secret both set; otherwise the bot and
        the worker use the one SLACK_BOT_TOKEN. One rule, so both use the same tokens."""
        return bool(self.slack_client_id and self.slack_client_secret)

    def check_slack_credentials(self) -> None:
        """ConfigError, in one line, unless OAuth or a bot token is set up."""
        if self.oauth or self.slack_bot_token:
            return
        if self.slack_client_id or self.slack_client_secret:
            missing = "SLACK_CLIENT_SECRET" if self.slack_client_id else "SLACK_CLIENT_ID"
            raise ConfigError(
                f"{missing} is not set (OAuth needs SLACK_CLIENT_ID and SLACK_CLIENT_SECRET;"
                " or set SLACK_BOT_TOKEN for one workspace)"
            )
        raise ConfigError("SLACK_BOT_TOKEN is not set (or set SLACK_CLIENT_ID/SECRET for OAuth)")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, dotenv: Path | None = None) -> Config:
        """Build a Config from the environment (and an optional .env file)."""
        env = _load_dotenv(dotenv or Path(".env")) if environ is None else {}
        env.update(os.environ if environ is None else environ)
        empty = env.get("PAPERS_EMPTY_DIGEST", "skip").strip() or "skip"
        if empty not in ("skip", "note"):
            raise ConfigError("PAPERS_EMPTY_DIGEST must be 'skip' or 'note'")
        return cls(
            db_path=env.get("PAPERS_DB", "").strip() or "data/papers.db",
            slack_bot_token=env.get("SLACK_BOT_TOKEN", "").strip(),
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET", "").strip(),
            slack_app_token=env.get("SLACK_APP_TOKEN", "").strip(),
            slack_client_id=env.get("SLACK_CLIENT_ID", "").strip(),
            slack_client_secret=env.get("SLACK_CLIENT_SECRET", "").strip(),
            # The Web API's methods are joined to it as to a folder: without its last `/`,
            # `…/api` sent `chat.postMessage` to `…/chat.postMessage`.
            slack_api_url=_folder(_url(env, "SLACK_API_URL", "")),
            port=_int(env, "PORT", 3000, 1, 65535),
            inbox_dir=env.get("PAPERS_INBOX", "").strip() or "data/inbox",
            feed_urls=_feeds(env.get("PAPERS_FEEDS", "")),
            ingest_interval_minutes=_int(env, "PAPERS_INGEST_MINUTES", 30, 1),
            digest_size=_int(env, "PAPERS_DIGEST_SIZE", 5, 1, MAX_DIGEST_SIZE),
            empty_digest=empty,
            grace_minutes=_int(env, "PAPERS_GRACE_MINUTES", 180, 0),
            max_query_chars=_int(env, "PAPERS_MAX_QUERY", 256, 1, MAX_QUERY_LIMIT),
            commands_per_minute=_int(env, "PAPERS_COMMANDS_PER_MINUTE", 20, 0),
            slack_timeout_seconds=_int(env, "SLACK_TIMEOUT_SECONDS", 15, 1),
            arxiv_api=_url(env, "PAPERS_ARXIV_API", cls.arxiv_api),
            token_key=env.get("PAPERS_TOKEN_KEY", "").strip(),
            feed_deadline_seconds=_int(env, "PAPERS_FEED_DEADLINE", 120, 1),
            # The heartbeat renews the lease every quarter of it: at least a second.
            lease_seconds=_int(env, "PAPERS_LEASE_SECONDS", 60, 4),
            ingest_batch=_int(env, "PAPERS_INGEST_BATCH", cls.ingest_batch, 1),
        )

    @property
    def grace(self) -> timedelta:
        """How late a missed digest may still be sent (PAPERS_GRACE_MINUTES)."""
        return timedelta(minutes=self.grace_minutes)

    def with_db(self, db_path: str | None) -> Config:
        """Return a copy pointing at another database file."""
        if not db_path:
            return self
        return Config(**{**self.__dict__, "db_path": db_path})
