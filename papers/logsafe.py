"""Logging that never carries a secret (tokens, signing and client secrets, response URLs,
URL passwords and API keys) and that request content cannot forge lines in."""

from __future__ import annotations

import logging
import re
import sys

from storage.config import SLACK_TOKENS, Config

# Slack token shapes, and response_url / webhook capabilities.
_PATTERNS = [*SLACK_TOKENS, re.compile(r"https://hooks\.slack\.com/\S+")]
# Credentials inside URLs: user:password@host, and secret-looking query parameters (a value
# never ends with the colon a report puts after the URL: `...?key=x: FAILED`).
_URL_SECRETS = [
    # Whatever stands before the host's last `@`: `user:password`, a token alone as the
    # user (`ghp_...@`), `:password`, a password holding an `@`.
    (re.compile(r"(?<=://)[^/?#\s]*@"), "[redacted]@"),
    (
        re.compile(
            r"(?i)(?<=[?&;])((?:api[_-]?key|apikey|key|token|access[_-]?token|secret|"
            r"client[_-]?secret|password|passwd|pwd|auth|sig|signature|code)=)[^&\s#]*[^&\s#:]"
        ),
        r"\1[redacted]",
    ),
]
# Line breaks and other control characters from request content or feeds would let a
# stranger write whole fake log lines ("... ERROR jobs.delivery: FORGED"): shown escaped.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
MAX_LINE = 2000  # long lines are request or response bodies: keep the start only


def scrub_url(text: str) -> str:
    """The text with URL passwords and secret query parameters replaced (for printing)."""
    for pattern, replacement in _URL_SECRETS:
        text = pattern.sub(replacement, text)
    return text


def one_line(text: str) -> str:
    """The text with control characters (line breaks included) shown as escapes."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


class RedactingFilter(logging.Filter):
    """Replaces every secret in a record's final message before any handler writes it."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 4]

    def redact(self, text: str) -> str:
        """The text with every known secret and token-shaped string replaced."""
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        for pattern in _PATTERNS:
            text = pattern.sub("[redacted]", text)
        text = scrub_url(text)
        if len(text) > MAX_LINE:
            text = text[:MAX_LINE] + f"… [{len(text) - MAX_LINE} more characters not logged]"
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = one_line(self.redact(record.getMessage()))
        record.args = None
        if record.exc_info:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def setup_logging(config: Config, verbose: bool = False, stream=None) -> logging.Handler:
    """Log to stderr through the redacting filter; APScheduler's per-run chatter is muted."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(
        RedactingFilter(
            [
                config.slack_bot_token,
                config.slack_signing_secret,
                config.slack_app_token,
                config.slack_client_secret,
            ]
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if verbose else logging.WARNING)
    return handler
