"""Fetching a source over HTTP: conditional GET, a total deadline, a size cap, and
redirects to http(s) only."""

from __future__ import annotations

import base64
import contextlib
import http.client
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any

from storage.errors import SourceError

READ_TIMEOUT_SECONDS = 20  # one read; the deadline bounds the whole fetch
DEADLINE_SECONDS = 120
MAX_BYTES = 25 * 1024 * 1024
CHUNK = 64 * 1024
USER_AGENT = "papers-slack-app/0.1 (+https://github.com/)"
SCHEMES = ("http", "https")


@dataclass
class Fetched:
    """A fetch result: the body, or not_modified when the validators still hold."""

    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http(s) only (urllib also follows ftp://)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        scheme = urllib.parse.urlsplit(urllib.parse.urljoin(req.full_url, newurl)).scheme
        if scheme.lower() not in SCHEMES:
            raise SourceError(f"{req.full_url}: redirect to {scheme}: refused")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class _Sockets:
    """The connections one fetch makes (a redirect makes another), hung up at its deadline:
    a thread reading headers a server drips, a byte within each read timeout, otherwise
    read on until the server stopped (the body loop checks `stop`; urllib's header reads,
    a proxy's tunnel and a TLS handshake never do)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.held: list[socket.socket] = []
        self.cut_off = False

    def connection(self, base: type[http.client.HTTPConnection]):
        """A maker of `base` connections whose sockets are noted as they connect."""

        def make(host: str, **kwargs: Any) -> http.client.HTTPConnection:
            conn = base(host, **kwargs)
            create = conn._create_connection  # what connect() opens its socket with

            def created(*args: Any, **kw: Any) -> socket.socket:
                sock = create(*args, **kw)
                self._add(sock)
                return sock

            conn._create_connection = created
            return conn

        return make

    def _add(self, sock: socket.socket) -> None:
        # A duplicate of the descriptor: a TLS socket takes the first one over (detaching
        # it), and a shutdown through any descriptor ends the connection for all of them.
        held = sock.dup()
        with self.lock:
            if not self.cut_off:
                self.held.append(held)
                return
        _hang_up(held)  # connected after the deadline

    def cut(self) -> None:
        """End every read on the fetch's connections at once (the reader gets an error)."""
        with self.lock:
            self.cut_off = True
            held, self.held = self.held, []
        for sock in held:
            _hang_up(sock)


def _hang_up(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # ended already: the fetch finished by itself
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, sockets: _Sockets) -> None:
        super().__init__()
        self.sockets = sockets

    def http_open(self, req: urllib.request.Request):
        return self.do_open(self.sockets.connection(http.client.HTTPConnection), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, sockets: _Sockets) -> None:
        super().__init__()
        self.sockets = sockets

    def https_open(self, req: urllib.request.Request):
        maker = self.sockets.connection(http.client.HTTPSConnection)
        return self.do_open(maker, req, context=self._context)


def _opener(sockets: _Sockets) -> urllib.request.OpenerDirector:
    """urllib's opener, redirecting to http(s) only, its connections noted in `sockets`."""
    return urllib.request.build_opener(
        _HttpOnlyRedirects, _HTTPHandler(sockets), _HTTPSHandler(sockets)
    )


def fetch(
    url: str,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int = MAX_BYTES,
    deadline: float = DEADLINE_SECONDS,
) -> Fetched:
    """GET a URL with If-None-Match / If-Modified-Since within `deadline` seconds in total
    (a source dripping one byte a second cannot hold it longer); raises SourceError."""
    try:
        scheme = urllib.parse.urlsplit(url).scheme
    except ValueError as exc:  # "http://[::1/feed": a mistyped URL, not a crash
        raise SourceError(f"{url}: {exc}") from exc
    if scheme.lower() not in SCHEMES:
        raise SourceError(f"{url}: only http and https sources are fetched")
    result: list[Fetched | BaseException] = []
    stop = threading.Event()
    sockets = _Sockets()
    opener = _opener(sockets)
    # The fetch runs in a daemon thread so that even a server dripping its headers (which
    # urllib reads line by line, each within the read timeout) cannot outlast the deadline.
    thread = threading.Thread(
        target=lambda: result.append(
            _guarded_get(opener, url, etag, last_modified, max_bytes, stop)
        ),
        name="fetch",
        daemon=True,
    )
    try:
        # All inside: a Ctrl-C may be handled anywhere, even as start() returns with the
        # thread already reading.
        thread.start()
        _wait(thread, deadline)
        late = thread.is_alive()
    finally:
        # Past the deadline or on Ctrl-C: the body loop ends at its next chunk, and a read
        # still waiting (on headers, or a chunk) fails now, so the thread ends too. (A fetch
        # that finished has closed its connections: this closes the duplicates.)
        stop.set()
        sockets.cut()
    if late:
        raise SourceError(f"{url}: took longer than {deadline:g} s, gave up")
    outcome = result[0]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


# A Ctrl-C the kernel hands to the fetch thread (any thread may get a process's signal)
# runs its handler on the main thread only when that wakes: at most this late, not at the
# end of a join() as long as the deadline.
WAKE_SECONDS = 0.2


def _wait(thread: threading.Thread, seconds: float) -> None:
    """Wait for the thread at most `seconds`, waking often enough for signal handlers."""
    end = time.monotonic() + seconds
    while thread.is_alive() and (left := end - time.monotonic()) > 0:
        thread.join(min(left, WAKE_SECONDS))


def _guarded_get(opener, url, etag, last_modified, max_bytes, stop) -> Fetched | BaseException:
    try:
        return _get(opener, url, etag, last_modified, max_bytes, stop)
    except BaseException as exc:  # handed to the caller's thread
        return exc


def _get(
    opener: urllib.request.OpenerDirector,
    url: str,
    etag: str | None,
    last_modified: str | None,
    max_bytes: int,
    stop: threading.Event,
) -> Fetched:
    # gzip is asked for (a feed compresses ~5×) and, as some servers send it unasked,
    # always understood; the size cap holds for what it unpacks to.
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    url, credentials = _without_credentials(url)
    request = urllib.request.Request(url, headers=headers)
    if credentials:  # sent to this address only: never to where a redirect points
        request.add_unredirected_header("Authorization", f"Basic {credentials}")
    try:
        with opener.open(request, timeout=READ_TIMEOUT_SECONDS) as response:
            unpack = _decoder(url, response.headers.get("Content-Encoding"))
            chunks, size, body_size = [], 0, 0
            while not stop.is_set() and (chunk := response.read1(CHUNK)):
                body_size += len(chunk)
                if unpack:
                    chunk = _unpacked(url, unpack, chunk, max_bytes - size)
                chunks.append(chunk)
                size += len(chunk)
                if size > max_bytes:
                    raise SourceError(f"{url}: larger than {max_bytes:,} bytes")
            # http.client's read1 ends quietly at a connection closed early: a cut feed
            # would parse as a shorter one, its ETag kept and the rest never fetched.
            if not stop.is_set() and response.length:
                total = body_size + response.length
                raise SourceError(
                    f"{url}: connection closed after {body_size:,} of {total:,} bytes"
                )
            if unpack and not stop.is_set() and not unpack.eof:
                raise SourceError(f"{url}: gzip body cut short")
            return Fetched(
                b"".join(chunks),
                response.headers.get("ETag"),
                response.headers.get("Last-Modified"),
            )
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Fetched(etag=etag, last_modified=last_modified, not_modified=True)
        if 300 <= exc.code < 400:  # urllib refuses a redirect to file: and the like itself
            raise SourceError(f"{url}: {_redirect_failure(exc)}") from exc
        raise SourceError(f"{url}: HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, OSError, ValueError, HTTPException) as exc:
        # HTTPException: http.client's InvalidURL ("http://host:rss/") and broken answers.
        reason = getattr(exc, "reason", exc)
        raise SourceError(f"{url}: {reason}") from exc


def _without_credentials(url: str) -> tuple[str, str | None]:
    """The URL without the `user:password@` a private feed's address may hold (urllib took
    it for part of the host name: "Name or service not known"), and those credentials for
    HTTP Basic authentication, or None."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    # Percent-escaped bytes go as they are (as curl sends them), typed ones as UTF-8.
    pair = urllib.parse.unquote_to_bytes(user) + b":" + urllib.parse.unquote_to_bytes(password)
    plain = urllib.parse.urlunsplit(parts._replace(netloc=host))
    return plain, base64.b64encode(pair).decode()


def _redirect_failure(exc: urllib.error.HTTPError) -> str:
    """Why a redirect was not followed, as an admin can act on it."""
    if "infinite loop" in str(exc.msg):  # urllib's words for a loop or over 10 redirects
        return f"redirect loop (HTTP {exc.code} back to an address already visited)"
    if exc.headers is not None and not (exc.headers.get("Location") or exc.headers.get("URI")):
        return f"HTTP {exc.code} redirect without a Location"
    return f"redirect refused (HTTP {exc.code})"


# Compressions other than gzip (the only one asked for): a body in one is unreadable here.
_COMPRESSIONS = frozenset({"br", "compress", "deflate", "x-compress", "zstd", "x-bzip2"})


def _decoder(url: str, encoding: str | None):
    """A gzip decoder for a gzip body, None for an unencoded one."""
    name = (encoding or "identity").strip().lower()
    if name in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if name in _COMPRESSIONS:  # compressed in a way not asked for: unreadable here
        raise SourceError(f"{url}: unsupported Content-Encoding: {encoding}")
    return None  # identity, or no compression at all (`none`, a charset: misconfigured)


def _unpacked(url: str, unpack, chunk: bytes, room: int) -> bytes:
    """A chunk of a gzip body unpacked, at most one byte past `room` (so a bomb of zeros is
    never held whole: the caller sees the size pass its cap and stops)."""
    try:
        data = unpack.decompress(chunk, max(room, 0) + 1)
    except zlib.error as exc:
        raise SourceError(f"{url}: broken gzip body ({exc})") from exc
    return data
