"""Looking up one paper by id through a local arXiv API: an id arXiv does not know is not
asked again for hours, but an outage (an error status, an HTML error page, no answer) is
retried after a few minutes, so a link pasted during a short outage unfurls soon after."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jobs.arxiv_lookup import fetch_paper, lookup_url
from tests.conftest import FIXTURES, NOW

LORA = "2106.09685"  # in tests/fixtures/arxiv_api.atom
HTML = b"<!DOCTYPE html><html><body><h1>arXiv is down for maintenance</h1></body></html>"
# What arXiv's API answers for an id it does not know: a valid feed without that paper.
EMPTY_FEED = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>arXiv Query</title>
<id>http://arxiv.org/api/x</id><updated>2026-03-17T00:00:00-04:00</updated></feed>"""


def _path(server, arxiv_id: str) -> str:
    return lookup_url(server.url("/api/query"), arxiv_id).split(server.url(""), 1)[1]


@pytest.mark.parametrize(
    "outage",
    [
        pytest.param((503, b"Service Unavailable", {}), id="http-503"),
        pytest.param((500, b"Internal Server Error", {}), id="http-500"),
        pytest.param((200, HTML, {"Content-Type": "text/html"}), id="html-error-page"),
        pytest.param(None, id="connection-refused"),
    ],
)
def test_a_lookup_that_failed_during_an_outage_is_retried_minutes_later(db, file_server, outage):
    api = file_server.url("/api/query")
    if outage is None:
        down = "http://127.0.0.1:9/api/query"  # nothing listens on the discard port
    else:
        down = api
        file_server.routes[_path(file_server, LORA)] = outage
    assert fetch_paper(db, down, LORA, NOW) is None
    # arXiv is back; the user pastes the link again ten minutes later.
    file_server.routes[_path(file_server, LORA)] = (
        200,
        (FIXTURES / "arxiv_api.atom").read_bytes(),
        {},
    )
    paper = fetch_paper(db, api, LORA, NOW + timedelta(minutes=10))
    assert paper is not None
    assert paper["title"].startswith("LoRA: Low-Rank Adaptation")


def test_an_outage_is_not_asked_about_again_within_a_minute(db, file_server):
    file_server.routes[_path(file_server, LORA)] = (503, b"Service Unavailable", {})
    api = file_server.url("/api/query")
    assert fetch_paper(db, api, LORA, NOW) is None
    # A burst of pastes during the outage does not hammer the API.
    assert fetch_paper(db, api, LORA, NOW + timedelta(seconds=30)) is None
    assert len(file_server.requests) == 1


@pytest.mark.parametrize(
    ("later", "asked_again"),
    [
        pytest.param(timedelta(minutes=10), False, id="ten-minutes"),
        pytest.param(timedelta(hours=5, minutes=59), False, id="under-six-hours"),
        pytest.param(timedelta(hours=6, minutes=1), True, id="over-six-hours"),
    ],
)
def test_an_id_arxiv_does_not_know_is_asked_again_only_after_six_hours(
    db, file_server, later, asked_again
):
    file_server.routes[_path(file_server, LORA)] = (200, EMPTY_FEED, {})
    api = file_server.url("/api/query")
    assert fetch_paper(db, api, LORA, NOW) is None
    fetch_paper(db, api, LORA, NOW + later)
    assert len(file_server.requests) == (2 if asked_again else 1)
