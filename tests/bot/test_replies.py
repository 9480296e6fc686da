"""Replies a person reads: misspelled subcommands, trending windows, plurals, and the query
echoed exactly as typed."""

from __future__ import annotations

import json

import pytest

from bot.commands import near_subcommand
from bot.text import code


def said(message: dict) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("lsit", "Did you mean `/papers list`?", id="lsit"),
        pytest.param("serch lora", "Did you mean `/papers search lora`?", id="serch"),
        pytest.param("unsubscrbe 3", "Did you mean `/papers unsubscribe 3`?", id="unsubscrbe"),
        pytest.param("trnding week", "Did you mean `/papers trending week`?", id="trnding"),
        pytest.param("hlep", "Did you mean `/papers help`?", id="hlep"),
        pytest.param("unsub 1", "Did you mean `/papers unsubscribe 1`?", id="unsub"),
        pytest.param("sub lora daily", "Did you mean `/papers subscribe lora daily`?", id="sub"),
        pytest.param("subscriptions", "Did you mean `/papers list`?", id="subscriptions"),
        pytest.param("find lora", "Did you mean `/papers search lora`?", id="find"),
    ],
)
def test_misspelled_subcommand_asks_instead_of_searching(reply, text, expected):
    answer = said(reply(text))
    assert expected in answer
    assert "/papers search " in answer  # the way out when a search was meant after all
    assert "No papers match" not in answer


@pytest.mark.parametrize(
    "word", ["lora", "lit", "language", "listening", "transformer", "ls"], ids=str
)
def test_real_search_words_are_not_taken_for_subcommands(word):
    assert near_subcommand(word) is None


@pytest.mark.parametrize("window", ["month", "year", "yesterday"], ids=str)
def test_trending_with_a_bad_window_names_the_valid_ones(reply, window):
    answer = said(reply(f"trending {window}"))
    assert f"`{window}` is not a trending window" in answer
    assert "`/papers trending today`" in answer and "`/papers trending week`" in answer


@pytest.mark.parametrize(
    ("window", "title"),
    [
        ("", "Trending on Tue, Mar 17"),
        ("today", "Trending on Tue, Mar 17"),
        ("week", "Trending in the week to Tue, Mar 17"),
    ],
    ids=["none", "today", "week"],
)
def test_trending_windows_that_work(reply, window, title):
    # The seeds' newest listing day (Mar 17 here) is long before today: the title names it
    # (it said "Trending today" over papers listed months ago, or on Friday on a Monday).
    message = reply(f"trending {window}")
    assert message["blocks"][0]["text"]["text"] == title
    assert message["text"].startswith(title + ": ")


@pytest.mark.parametrize(
    ("window", "title"),
    [("day", "Trending today"), ("week", "Trending this week")],
    ids=["day", "week"],
)
def test_trending_of_papers_listed_today_says_today(seeded, window, title):
    from datetime import UTC, datetime

    from bot.views import trending_message
    from storage.trending import anchor_day, trending

    now = datetime(2026, 3, 16, 18, 0, tzinfo=UTC)  # the day of the seeds' newest listing
    papers = trending(seeded, now, window, limit=5)
    message = trending_message(papers, window, anchor_day(seeded, now), now.date())
    assert message["blocks"][0]["text"]["text"] == title


@pytest.mark.parametrize(
    ("query", "text", "header"),
    [
        pytest.param("diffusion", "1 paper matches `diffusion`", "*1* paper matches", id="one"),
        pytest.param("lora", "2 papers match `lora`", "*2* papers match", id="two"),
    ],
)
def test_plurals(reply, query, text, header):
    message = reply(query)
    assert message["text"] == text
    assert message["blocks"][0]["text"]["text"].startswith(header)


def test_one_author_and_one_upvote_are_singular(reply):
    # The demo's first digest showed "1 authors" under a paper; a link preview "▲ 1 upvotes".
    from bot.views import reason_text, unfurl_blocks
    from storage.trending import Signals

    answer = said(reply('"predictions for pre-training language models"'))
    assert "1 author ·" in answer and "1 authors" not in answer
    paper = {"id": 1, "title": "A paper", "authors_count": 1, "upvotes": 1, "sources": 1}
    preview = json.dumps(unfurl_blocks(paper), ensure_ascii=False)
    assert "1 author" in preview and "1 authors" not in preview
    assert "▲ 1 upvote" in preview and "1 upvotes" not in preview
    assert reason_text(Signals(3, 1, "2026-03-12", 1, "2026-03-16")).startswith(
        "+1 upvote since Mar 12"
    )


@pytest.mark.parametrize(
    ("typed", "echo"),
    [
        pytest.param("diffus*", "`diffus*`", id="prefix-star"),
        pytest.param("*bold* words", "`*bold* words`", id="stars"),
        pytest.param("a ~b~ _c_", "`a ~b~ _c_`", id="strike-italic"),
        pytest.param("x <!channel> & y", "`x &lt;!channel&gt; &amp; y`", id="control-chars"),
        pytest.param("a `b` c", "`a ˋbˋ c`", id="backtick-cannot-be-inside"),
        # A code span cannot hold a line break (Shift+Enter in the command box): Slack
        # shows its backticks as typed and the rest outside it.
        pytest.param("zqxj\nwords", "`zqxj words`", id="line-break"),
        pytest.param("zqxj \r\n\n words", "`zqxj words`", id="blank-line"),
    ],
)
def test_the_query_is_echoed_as_typed(reply, typed, echo):
    answer = said(reply(typed))
    assert echo in answer
    assert "∗" not in answer  # no look-alike stars in what the user would copy back


def test_code_span_escapes_only_control_characters():
    assert code("diffus* <x> & `y`") == "`diffus* &lt;x&gt; &amp; ˋyˋ`"


def test_a_code_span_keeps_spaces_in_a_text_of_one_line():
    # A family emoji is joined by zero-width joiners (not printable): no line to join.
    typed = "👨\u200d👩\u200d👧  two  spaces"
    assert code(typed) == f"`{typed}`"


@pytest.mark.parametrize("text", ["?", "--help", "-h", "HELP", "help subscribe"], ids=str)
def test_the_usual_ways_of_asking_for_help_get_the_help(reply, text):
    """`/papers --help` answered "Add a word to look for: -word only leaves papers out" and
    `/papers ?` "Type a few words to search for"."""
    answer = said(reply(text))
    assert "*papers* keeps you on top of new ML papers." in answer
    assert ":warning:" not in answer


@pytest.mark.parametrize(
    ("asked", "operator"),
    [
        pytest.param("help", "a OR b", id="or"),
        pytest.param("help", "a AND b", id="and"),
        pytest.param("help", "NOT word", id="not"),
    ],
)
def test_help_names_the_search_operators(reply, asked, operator):
    """The operators the search takes are in the help, `AND` and `NOT` too (people type
    them as on arXiv; the help named only `OR` and `-exclude`)."""
    assert operator in said(reply(asked))


@pytest.mark.parametrize(
    "command",
    [
        "/papers lora adapters",
        "/papers 2106.09685",
        "/papers trending",
        "/papers subscribe lora",
        "/papers subscribe channel",
        "/papers list",
        "/papers unsubscribe",
        "/papers pause",
        "resume",
        '/papers author:"Edward J. Hu"',
        "/papers follow",
        "/papers unfollow",
        "/papers saved",
        "/papers help",
    ],
    ids=str,
)
def test_help_names_every_command_of_the_readme_table(reply, command):
    """The README's table and `/papers help` list the same commands: looking a paper up by
    its arXiv id or link was in the README only."""
    assert command in reply("help")["text"]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("lsit " + "&" * 4000, id="did-you-mean"),
        pytest.param("unsubscribe " + "<>" * 2000, id="no-such-subscription"),
        pytest.param("trending " + "&" * 4000, id="no-such-window"),
    ],
)
def test_a_reply_quoting_a_very_long_command_still_arrives(reply, text):
    """A reply that quotes the command back (twice, for a misspelled subcommand) carried
    it whole in its plain-text fallback, every `&` as `&amp;`: past the 40,000 characters a
    message's text may hold, Slack refused the reply and the member saw nothing at all."""
    answer = reply(text)
    assert len(answer["text"]) <= 12_000
    assert answer["text"].startswith(("`lsit` is not a command", ":warning:"))
