"""Fetching a source over HTTP: conditional GET, a timeout and a size cap."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass

from storage.errors import SourceError

TIMEOUT_SECONDS = 20
MAX_BYTES = 25 * 1024 * 1024
USER_AGENT = "papers-slack-app/0.1 (+https://github.com/)"


@dataclass
class Fetched:
    """A fetch result: the body, or not_modified when the validators still hold."""

    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False


def fetch(
    url: str, etag: str | None = None, last_modified: str | None = None, max_bytes: int = MAX_BYTES
) -> Fetched:
    """GET a URL with If-None-Match / If-Modified-Since; raises SourceError on any failure."""
    headers = {"User-Agent": USER_AGENT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            body = response.read(max_bytes + 1)
            if len(body) > max_bytes:
                raise SourceError(f"{url}: larger than {max_bytes:,} bytes")
            return Fetched(
                body, response.headers.get("ETag"), response.headers.get("Last-Modified")
            )
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Fetched(etag=etag, last_modified=last_modified, not_modified=True)
        raise SourceError(f"{url}: HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SourceError(f"{url}: {reason}") from exc
