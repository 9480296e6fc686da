"""Fetching sources: size cap, timeouts and HTTP errors become SourceErrors."""

from __future__ import annotations

import pytest

from jobs.fetch import fetch
from storage.errors import SourceError


def test_body_over_the_cap_is_refused(file_server):
    file_server.routes["/big"] = (200, b"x" * 5000, {})
    assert len(fetch(file_server.url("/big"), max_bytes=5000).body) == 5000
    with pytest.raises(SourceError, match="larger than 4,999 bytes"):
        fetch(file_server.url("/big"), max_bytes=4999)


def test_last_modified_is_sent_back(file_server):
    file_server.routes["/feed"] = (
        200,
        b"<rss/>",
        {"Last-Modified": "Tue, 17 Mar 2026 04:00:00 GMT"},
    )
    first = fetch(file_server.url("/feed"))
    fetch(file_server.url("/feed"), first.etag, first.last_modified)
    assert file_server.requests[-1][1]["If-Modified-Since"] == "Tue, 17 Mar 2026 04:00:00 GMT"


@pytest.mark.parametrize("status", [404, 500, 503])
def test_http_errors(file_server, status):
    file_server.routes["/x"] = (status, b"no", {})
    with pytest.raises(SourceError, match=f"HTTP {status}"):
        fetch(file_server.url("/x"))


def test_a_dripping_source_is_cut_off_at_the_total_deadline(drip_server):
    # Each read gets a byte well within the read timeout; only a total deadline ends it.
    with pytest.raises(SourceError, match="took longer than 1 s, gave up"):
        fetch(drip_server.url(), deadline=1)


@pytest.mark.parametrize(
    "location",
    [
        pytest.param("ftp://127.0.0.1/feed.xml", id="ftp"),
        pytest.param("file:///etc/passwd", id="file"),
    ],
)
def test_redirects_leave_http_never(file_server, location):
    file_server.routes["/moved"] = (302, b"", {"Location": location})
    with pytest.raises(SourceError, match="refused"):
        fetch(file_server.url("/moved"))


def test_redirects_within_http_are_followed(file_server):
    file_server.routes["/moved"] = (301, b"", {"Location": "/feed"})
    file_server.routes["/feed"] = (200, b"<rss/>", {})
    assert fetch(file_server.url("/moved")).body == b"<rss/>"


@pytest.mark.parametrize("url", [pytest.param("ftp://127.0.0.1/x", id="ftp")])
def test_only_http_sources_are_fetched(url):
    with pytest.raises(SourceError, match="only http and https"):
        fetch(url)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        pytest.param("http://[::1/feed.xml", "Invalid IPv6 URL", id="unclosed-ipv6"),
        pytest.param("http://127.0.0.1:rss/feed.xml", "nonnumeric port", id="port-not-a-number"),
    ],
)
def test_a_mistyped_url_is_a_source_error(url, reason):
    with pytest.raises(SourceError, match=reason):
        fetch(url)
