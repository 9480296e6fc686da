"""/papers list past one message: Next and Previous page through every subscription the
member sees (theirs and the channel's), each page within Slack's limits."""

from __future__ import annotations

import json

import pytest

from slackstub.limits import validate_blocks
from storage import connect
from tests.bot.conftest import listed_ids, page_through_list, wait_for
from tests.conftest import add_subscription


def channel_subscriptions(config, count: int, keyword_chars: int = 5) -> None:
    """`count` digests for #general, set up by as many members (one may have only 25)."""
    db = connect(config.db_path)
    for n in range(count):
        keywords = " ".join(f"k{n}w{i}" for i in range(60))[:keyword_chars].strip()
        add_subscription(db, "T0LOCAL", f"U0M{n}", "C0GENERAL", keywords=keywords)
    db.close()


def buttons(message: dict) -> list[str]:
    return [e["action_id"] for b in message["blocks"] for e in b.get("elements", [])]


@pytest.mark.parametrize(
    "keyword_chars",
    [pytest.param(5, id="short-keywords"), pytest.param(199, id="long-keywords")],
)
def test_a_list_past_one_message_pages_to_every_subscription(slack, reply, config, keyword_chars):
    """`/papers list` in a channel of 45 digests showed 40 (fewer with long keywords) and
    "…and N more." with no way to see the rest. Next goes on from the first one not shown,
    in place, until every one was shown once, each page within Slack's limits."""
    channel_subscriptions(config, 45, keyword_chars)
    first = reply("list")
    assert buttons(first) == ["list_next"]
    assert "(45) · 1–" in json.dumps(first["blocks"], ensure_ascii=False)
    pages = page_through_list(slack, first)
    shown = [n for page in pages for n in listed_ids(page)]
    assert shown == list(range(1, 46))
    assert all(page["replace_original"] for page in pages[1:])
    assert all(validate_blocks(page["blocks"]) == [] for page in pages)
    assert buttons(pages[-1]) == ["list_prev"]
    assert "Remove one with `/papers unsubscribe" in json.dumps(pages[-1]["blocks"])


def test_previous_goes_back_and_a_page_emptied_meanwhile_shows_the_last(slack, reply, config):
    """Previous returns to the first page; a Next pressed after the subscriptions it would
    show were removed shows the last page there is, not "No subscriptions yet"."""
    channel_subscriptions(config, 45)
    first = reply("list")
    clicked = slack.click(first, "list_next")
    second = wait_for(lambda: slack.responses(clicked["response_id"]))[0]
    clicked = slack.click(second, "list_prev")
    assert listed_ids(wait_for(lambda: slack.responses(clicked["response_id"]))[0]) == list(
        range(1, 41)
    )
    for n in range(40, 45):
        reply(f"unsubscribe {n + 1}", user=f"U0M{n}")
    clicked = slack.click(first, "list_next")
    stale = wait_for(lambda: slack.responses(clicked["response_id"]))[0]
    assert listed_ids(stale) == list(range(1, 41)) and buttons(stale) == []


def test_previous_after_short_pages_shows_the_page_before(slack, reply, config):
    """Keywords full of `&` (each sent as `&amp;`) fill a page with fewer than 40. Previous
    went back 40 from wherever it was: from the fourth page straight to the first, the
    second and third reachable only by Next again. It shows the page before, as Next showed
    it."""
    db = connect(config.db_path)
    for n in range(45):
        add_subscription(db, "T0LOCAL", f"U0M{n}", "C0GENERAL", keywords=f"q{n} " + "&" * 180)
    db.close()
    pages = page_through_list(slack, reply("list"))
    assert len(pages) > 3 and all(len(listed_ids(page)) < 40 for page in pages[:-1])
    for before, page in zip(pages[1:-1], pages[2:], strict=True):
        clicked = slack.click(page, "list_prev")
        back = wait_for(lambda c=clicked: slack.responses(c["response_id"]))[0]
        assert listed_ids(back) == listed_ids(before)
