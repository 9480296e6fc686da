"""Markup injection as a property: whatever a paper says, no message the app renders holds
a live mention, broadcast or disguised link."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import views
from storage.search import HIGHLIGHT, SearchResult
from storage.subscriptions import Subscription
from storage.text import clean
from tests.conftest import count

PIECES = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U123ABC>",
    "<#C123ABC>",
    "<!subteam^S1|@ml>",
    "<http://x|click>",
    "<https://evil.example/|arxiv.org>",
    "<mailto:a@b.c|mail>",
    "&",
    "&amp;",
    "&lt;!channel&gt;",
    "*",
    "_",
    "~",
    "`",
    "```",
    "<",
    ">",
    "|",
    " ",
    "lora",
    HIGHLIGHT[0],
]
TEXT = st.lists(
    st.one_of(st.sampled_from(PIECES), st.text(max_size=5)), min_size=1, max_size=14
).map("".join)
OUR_IDS = {"@U0LOCAL", "#C0GENERAL"}
_ANGLE = re.compile(r"<([^<>]*)>")


def mrkdwn_texts(node, in_mrkdwn: bool = True):
    """Every string Slack parses as mrkdwn: mrkdwn text objects and the message fallback."""
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
            yield node["text"]
        for key, value in node.items():
            if key != "text" or isinstance(value, dict | list):
                yield from mrkdwn_texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from mrkdwn_texts(item)


def mrkdwn_objects(node):
    """Every mrkdwn text object in blocks."""
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn":
            yield node
        for value in node.values():
            yield from mrkdwn_objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from mrkdwn_objects(item)


def live_markup(message: dict, links: set[str]) -> list[str]:
    """The control sequences in a message that did not come from the app itself."""
    texts = list(mrkdwn_texts(message.get("blocks", [])))
    if "text" in message:
        texts.append(message["text"])
    bad = []
    for text in texts:
        for match in _ANGLE.finditer(text):
            inner = match.group(1)
            url = inner.split("|", 1)[0]
            if url in links or inner in OUR_IDS:
                continue
            bad.append(inner)
    return bad


def paper(title: str, abstract: str, n: int) -> dict:
    # Paper text is stored as ingest cleans it (no control characters, so no fake markers).
    title, abstract = clean(title) or "t", clean(abstract) or "a"
    return {
        "id": n,
        "title": title,
        "abstract": abstract,
        "url": f"https://arxiv.org/abs/2603.{n:05d}",
        "arxiv_id": f"2603.{n:05d}",
        "authors": [title[:20]],
        "authors_count": 1,
        "published": "2026-03-16",
        "upvotes": 3,
        "sources": 2,
        "title_derived": False,
        "snippet": f"{HIGHLIGHT[0]}{abstract[:50]}{HIGHLIGHT[1]}{abstract[50:]}",
        "reason": title,
    }


NOW_ISO = datetime(2026, 3, 17, 9, tzinfo=UTC).isoformat()


def subscription(keywords: str) -> Subscription:
    return Subscription(
        id=1,
        team_id="T0LOCAL",
        user_id="U0LOCAL",
        target="C0GENERAL",
        kind="channel",
        keywords=keywords,
        frequency="daily",
        weekday=0,
        at_time="09:00",
        tz="UTC",
        status="paused",
        paused_reason=keywords,
        next_due_at=None,
        last_delivered_at=None,
        created_at=datetime(2026, 3, 1, tzinfo=UTC).isoformat(),
    )


@pytest.mark.fuzz
@given(titles=st.lists(TEXT, min_size=1, max_size=5), abstract=TEXT, query=TEXT)
def test_no_rendered_message_carries_paper_markup(titles, abstract, query):
    papers = [paper(t, abstract, n) for n, t in enumerate(titles)]
    links = {p["url"] for p in papers}
    result = SearchResult(query, papers, total=len(papers) + 10, offset=5, limit=5)
    sub = subscription(query)
    messages = [
        views.search_message(result),
        views.shared_message(result, "U0LOCAL"),
        views.trending_message(papers, "week"),
        views.fit_digest(papers, f"Daily papers on “{query}”", 1, note_if_empty=True)[1],
        views.alert_message(papers, query, 1),
        views.list_message([sub]),
        views.home_view(
            [sub],
            {1: {"state": "failed", "period": query, "finished_at": NOW_ISO, "detail": query}},
            views.alert_message(papers, query, 1),
        ),
        views.text_message(f"Subscribed: {views.describe(sub)}"),
        views.similar_message(papers[0], papers),
        views.author_message(query, papers, len(papers), [query, titles[0]]),
        views.authors_message({**papers[0], "authors": [query, *titles]}),
        views.saved_message(papers, len(papers) + 3),
        views.author_alert_message(papers, query, 1),
        {"blocks": views.unfurl_blocks({**papers[0], "authors": titles * 2}, query)},
    ]
    for message in messages:
        count("rendered messages")
        assert live_markup(message, links) == []
        # Verbatim: Slack links no plain URL, `#channel` or name of the paper's text
        # ("www.evil.example", "@here"), which escaping leaves as it is.
        assert all(o.get("verbatim") is True for o in mrkdwn_objects(message.get("blocks", [])))
        for text in mrkdwn_texts(message.get("blocks", [])):
            assert "<!" not in text
            # Our code spans (a query echoed as typed) pair up and hold no backtick, and
            # paper text has no * of its own left, so outside them our bold markers pair up.
            assert text.count("`") % 2 == 0, text
            assert re.sub(r"`[^`]*`", "", text).count("*") % 2 == 0, text


@pytest.mark.parametrize(
    ("feed", "shown"),
    [
        pytest.param("_Zorblax_ wins", "ˍZorblaxˍ wins", id="italic"),
        pytest.param("snake_case and __init__", "snake_case and ˍˍinitˍˍ", id="underscores"),
        pytest.param("We :fire: it", "We ∶fire: it", id="emoji"),
        pytest.param("BERT: at 10:30:00", "BERT: at 10:30:00", id="colons"),
        pytest.param("We :+1: :100:", "We ∶+1: ∶100:", id="emoji-without-letters"),
        pytest.param(
            "Code: https://x.io/my_tool_ _ok_", "Code: https://x.io/my_tool_ ˍokˍ", id="url-whole"
        ),
        pytest.param("\u202eMallory Evil, Bob", "Mallory Evil, Bob", id="right-to-left"),
        pytest.param("\u2067x\u2069 y", "x y", id="isolate"),
    ],
)
def test_feed_text_neither_formats_nor_turns_our_text_around(feed, shown):
    # A title's `_word_` closed our italics early, `:fire:` was an emoji, and an override
    # showed our date, upvotes and sources after an author's name right to left.
    assert views.escape_mrkdwn(feed) == shown
    assert "\u202e" not in clean(feed) and "\u2067" not in clean(feed)


def test_a_direction_override_stored_before_is_shown_nowhere():
    # Stored before ingest dropped them: the name's code span and its button carried it.
    from storage.papers import public

    row = {"id": 1, "title": "T\u202eX", "abstract": "A", "authors": '["Jane \u202eDoe"]'}
    message = views.authors_message(public(row))
    assert "\u202e" not in json.dumps(message, ensure_ascii=False)


@pytest.mark.parametrize("override", ["\u202e", "\u2067", "\u202b"])
def test_a_members_direction_override_turns_no_channel_message_around(override):
    # Typed keywords and queries are shown as typed: a right-to-left override pasted with
    # them showed a channel digest's date, an alert's heading and a shared search's
    # "· showing 1–5" right to left, for the whole channel.
    typed = f"{override}lora"
    papers = [paper("LoRA", "Low-rank adapters.", 1)]
    sub = subscription(typed)
    result = SearchResult(typed, papers, total=1, offset=0, limit=5)
    due = datetime(2026, 3, 17, 9, tzinfo=UTC)
    messages = [
        views.fit_digest(papers, views.digest_heading(sub, due), 1, note_if_empty=False)[1],
        views.alert_message(papers, typed, 1),
        views.author_alert_message(papers, f"Edward {override}Hu", 1),
        views.shared_message(result, "U0LOCAL"),
        views.list_message([sub]),
    ]
    for message in messages:
        assert override not in json.dumps(message, ensure_ascii=False), message
