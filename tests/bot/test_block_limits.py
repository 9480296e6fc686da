"""Every message with the per-paper buttons stays within Slack's Block Kit limits, at the
largest sizes the app produces (checked by the stand-in's own limit checker)."""

from __future__ import annotations

import json

import pytest

from bot import views
from slackstub.limits import validate_blocks
from storage.config import MAX_DIGEST_SIZE, MAX_QUERY_LIMIT
from storage.search import SearchResult, search


def big_paper(n: int) -> dict:
    return {
        "id": 10_000_000 + n,
        "title": "T" * 300,
        "abstract": "word " * 800,
        "url": f"https://arxiv.org/abs/2603.{n:05d}",
        "authors": [f"Author Number{i} Surname{'x' * 60}" for i in range(40)],
        "authors_count": 40,
        "published": "2026-03-16",
        "upvotes": 999,
        "sources": 3,
        "code_url": "https://github.com/" + "o" * 39 + "/" + "r" * 100,
    }


PAPERS = [big_paper(n) for n in range(40)]


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(views.alert_message(PAPERS, "lora", 1), id="alert"),
        pytest.param(views.author_alert_message(PAPERS, "Edward J. Hu", 1), id="author-alert"),
        pytest.param(views.fit_digest(PAPERS[:5], "Daily", 1, True)[1], id="digest"),
        pytest.param(
            views.fit_digest(PAPERS[:MAX_DIGEST_SIZE], "Daily", 1, True)[1], id="largest-digest"
        ),
        pytest.param(views.similar_message(PAPERS[0], PAPERS[:5]), id="more-like-this"),
        pytest.param(views.author_message("E. Hu", PAPERS[:5], 40, ["A", "B"]), id="author"),
        pytest.param(views.authors_message(PAPERS[0]), id="authors"),
        pytest.param(views.saved_message(PAPERS[:20], 400), id="saved"),
        pytest.param({"blocks": views.unfurl_blocks(PAPERS[0], "x" * 500)}, id="unfurl"),
    ],
)
def test_messages_with_paper_buttons_stay_within_block_kit_limits(message):
    assert validate_blocks(message["blocks"]) == []


def test_app_home_with_subscriptions_reading_list_and_preview_fits():
    preview = views.fit_digest(PAPERS[:5], "Daily", 1, True)[1]
    view = views.home_view([], {}, preview, saved=PAPERS[:20])
    assert validate_blocks(view["blocks"], surface="home") == []


@pytest.mark.parametrize(
    "word",
    [pytest.param("𝗹𝗼𝗿𝗮", id="math-bold"), pytest.param("ｌｏｒａ", id="full-width")],
)
def test_search_reply_to_a_pasted_styled_query_fits(seeded, word):
    """A query pasted in styled letters (as social posts write titles) searches as plain
    letters; its reply, whose buttons carry the query for Next and Share, stays valid."""
    query = " ".join([word] * 51)  # 255 characters, under the 256 a query may have
    result = search(seeded, query, limit=views.PAGE_SIZE)
    assert result.total == 2
    message = views.search_message(result, typed=query)
    assert validate_blocks(message["blocks"]) == []
    share = message["blocks"][-1]["elements"][0]["value"]
    assert views.page_from_value(share)[:2] == (query, 0)


def test_search_reply_to_the_longest_query_an_admin_may_allow_fits(seeded):
    """PAPERS_MAX_QUERY's upper bound: a query of that many characters, quotes included
    (each takes two in the buttons' JSON value), still gets a valid reply with its buttons."""
    # Every word of it is searched: it ends on a whole word, not a cut `"lo"`.
    query = '"lora" ' * ((MAX_QUERY_LIMIT - 11) // 7) + '"lora" lora'
    assert len(query) == MAX_QUERY_LIMIT
    result = search(seeded, query, limit=views.PAGE_SIZE, max_chars=MAX_QUERY_LIMIT)
    assert result.total == 2
    message = views.search_message(result, typed=query)
    assert validate_blocks(message["blocks"]) == []
    share = message["blocks"][-1]["elements"][0]["value"]
    assert views.page_from_value(share)[:2] == (query, 0)


# A feed entry with no arXiv id keeps the feed's own link, whatever its length (tracking
# parameters, a session in the query string): 4,000 characters here. A feed's author names
# are as long as the feed makes them.
LONG_LINKS = [
    {**big_paper(n), "url": "https://example.org/paper?" + "utm=x&" * 660} for n in (1, 2, 3)
]
LONG_NAMES = [{**big_paper(n), "authors": [c * 3000 for c in "ABCD"]} for n in (1, 2, 3)]
RENDERS = {
    "digest": lambda p: views.fit_digest(p, "Daily", 1, True)[1],
    "alert": lambda p: views.alert_message(p, "lora", 1),
    "saved": lambda p: views.saved_message(p, 3),
    "unfurl": lambda p: {"blocks": views.unfurl_blocks(p[0])},
    "trending": lambda p: views.trending_message(p, "day"),
    "authors": lambda p: views.authors_message(p[0]),
}


@pytest.mark.parametrize("render", list(RENDERS.values()), ids=list(RENDERS))
@pytest.mark.parametrize("papers", [LONG_LINKS, LONG_NAMES], ids=["long-link", "long-names"])
def test_a_paper_with_very_long_feed_text_stays_within_block_kit_limits(render, papers):
    """The link and the author names went into the blocks whole: past 3,000 characters a
    text refused by Slack (invalid_blocks) or rendering raised, so the digest, the reply or
    the preview never arrived."""
    message = render(papers)
    assert validate_blocks(message["blocks"]) == []
    texts = json.dumps(message["blocks"])
    assert "T" * 100 in texts  # the title is still shown


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("lsit " + "word " * 700, id="misspelled-subcommand"),
        pytest.param("serch " + "lora " * 700, id="misspelled-search"),
        pytest.param("unsubscribe " + "y" * 3500, id="unsubscribe"),
        pytest.param("trending " + "z" * 3500, id="trending-window"),
        pytest.param("subscribe lora at " + "9" * 3100, id="time"),
        pytest.param("subscribe lora at 9 Europe/" + "x" * 3100, id="zone"),
        pytest.param("unsubscribe " + "²" * 3100, id="non-ascii-number"),
    ],
)
def test_a_very_long_command_gets_its_reply_not_something_went_wrong(reply, text):
    """A reply quoting a command thousands of characters long was one section over Slack's
    3,000 characters: slack_sdk refused to build it and the user read "Something went wrong
    on my side; please try again in a minute" (and trying again did the same)."""
    answer = reply(text)
    assert "Something went wrong" not in answer["text"]
    assert validate_blocks(answer["blocks"]) == []
    first = answer["blocks"][0]["text"]["text"]
    assert first.startswith((":warning:", "`"))  # the reply to what was typed


# Paper text that grows when made safe for Slack: `&` is five characters as `&amp;`, and an
# emoji or a Hebrew letter a \u escape in the JSON Slack receives.
GROWING = {
    "ampersands": ("&" * 300, "&" * 4000),
    "emoji": ("🧠🔥" * 150, "🚀" * 4000),
    "rtl": ("\u202eשלום עולם " * 30, "مرحبا بالعالم " * 280),
}
SHOWN = {
    "digest": lambda p: views.fit_digest(p, "Daily", 1, True)[1],
    "alert": lambda p: views.alert_message(p, "lora", 1),
    "author-alert": lambda p: views.author_alert_message(p, "Edward J. Hu", 1),
}


@pytest.mark.parametrize("render", list(SHOWN.values()), ids=list(SHOWN))
@pytest.mark.parametrize("text", list(GROWING.values()), ids=list(GROWING))
def test_a_digest_or_alert_of_text_that_grows_when_escaped_fits_one_message(render, text):
    """The largest digest (PAPERS_DIGEST_SIZE 15) or alert of such papers was refused by
    Slack as a whole (msg_blocks_too_long): nobody got it. It now holds the papers that fit
    (at least one), and an alert counts the others in its "…and N more"."""
    papers = [{**big_paper(n), "title": text[0], "abstract": text[1]} for n in range(40)]
    message = render(papers[:MAX_DIGEST_SIZE])
    assert validate_blocks(message["blocks"]) == []
    shown = [b for b in message["blocks"] if b["type"] == "actions"][:-1]
    assert shown, "at least one paper"
    if "…and" in json.dumps(message["blocks"], ensure_ascii=False):
        more = message["blocks"][-2]["text"]["text"]
        assert more.startswith(f"…and {MAX_DIGEST_SIZE - len(shown)} more")


def _page(papers: list[dict]) -> dict:
    result = SearchResult(
        query="lora", papers=papers[: views.PAGE_SIZE], total=40, offset=0, limit=5
    )
    return views.search_message(result)


REPLIES = {
    "search-page": _page,
    "more-like-this": lambda p: views.similar_message(p[0], p[:5]),
    "author-page": lambda p: views.author_message("Hu", p[:5], 40, ["Hu"], views.AuthorPage("Hu")),
    # A middle page: Previous and Next, each holding the name as typed, count too.
    "author-page-of-a-long-name": lambda p: views.author_message(
        p[0]["authors"][0], p[:5], 40, ["Hu"], views.AuthorPage(p[0]["authors"][0], 5)
    ),
    "saved": lambda p: views.saved_message(p[:20], 40),
    "paper": lambda p: views.paper_message(p[0]),
    "trending": lambda p: views.trending_message(p[:5], "day"),
    "authors": lambda p: views.authors_message(p[0]),
}


@pytest.mark.parametrize("render", list(REPLIES.values()), ids=list(REPLIES))
@pytest.mark.parametrize("text", list(GROWING.values()), ids=list(GROWING))
def test_a_reply_of_papers_whose_text_grows_when_escaped_fits_one_message(render, text):
    """A title, abstract and author names of `&`s are five times as long escaped: a results
    page, More like this, an author's page, the reading list and a pasted paper were a
    section over Slack's 3,000 characters (slack_sdk refused to build it: the user read
    "Something went wrong", and the reading list with such a paper never showed again) or a
    message over Slack's total (msg_blocks_too_long). Each paper now shows, cut to fit."""
    names = [text[0][:120]] * 4
    papers = [
        {**big_paper(n), "title": text[0], "abstract": text[1], "authors": names} for n in range(40)
    ]
    message = render(papers)
    assert validate_blocks(message["blocks"]) == []
    sections = [b for b in message["blocks"] if b["type"] == "section"]
    if render is not REPLIES["authors"]:
        assert any(s["text"]["text"].startswith("*<https://arxiv.org/abs/") for s in sections)


@pytest.mark.parametrize("text", list(GROWING.values()), ids=list(GROWING))
def test_the_reading_list_on_app_home_of_papers_whose_text_grows_when_escaped(text):
    names = [text[0][:120]] * 4
    papers = [
        {**big_paper(n), "title": text[0], "abstract": text[1], "authors": names} for n in range(40)
    ]
    preview = views.similar_message(papers[0], papers[:5])
    view = views.home_view([], {}, preview, saved=papers[:10], again=("similar", "1"))
    assert validate_blocks(view["blocks"], surface="home") == []
    assert sum("saved_remove_" in json.dumps(b) for b in view["blocks"]) == 10
