"""Answering a command or a click: a reply Slack refuses is said, in the log and to the
member."""

from __future__ import annotations

import logging

import pytest

from tests.bot.conftest import wait_for
from tests.bot.test_commands import buttons


@pytest.fixture
def refuse_next(slack, monkeypatch, caplog):
    """Arms Slack to refuse the next response_url post (an invalid block), as it answers one
    it cannot show: with an HTTP error, which Bolt's respond returns instead of raising.
    Returns the ids of the response_urls refused."""
    caplog.set_level(logging.WARNING)

    def arm() -> list[str]:
        post = slack.response_url_post
        refused: list[str] = []

        def refuse(response_id: str, body: dict):
            if not refused:
                refused.append(response_id)
                return 400, "invalid_blocks"
            return post(response_id, body)

        monkeypatch.setattr(slack, "response_url_post", refuse)
        return refused

    return arm


def test_a_reply_slack_refuses_is_logged_and_the_user_still_hears_back(slack, refuse_next, caplog):
    """The member saw nothing after their command, and the log said nothing either."""
    refused = refuse_next()
    sent = slack.command("language")
    answer = wait_for(lambda: slack.responses(sent["response_id"]))[0]
    assert refused == [sent["response_id"]] and "went wrong" in answer["text"]
    assert "refused by Slack: HTTP 400 invalid_blocks" in caplog.text
    assert "/response/" not in caplog.text and sent["response_id"] not in caplog.text


@pytest.mark.parametrize(
    "button",
    [
        pytest.param("search_next", id="next-page"),
        pytest.param("more_like_", id="more-like-this"),
        pytest.param("save_paper_", id="save"),
    ],
)
def test_a_button_reply_slack_refuses_is_logged_and_the_clicker_hears_back(
    slack, reply, refuse_next, caplog, button
):
    """The click did nothing the clicker could see, and the log said nothing of why."""
    message = reply("language")
    refused = refuse_next()
    action = next(b for b in buttons(message) if b.startswith(button))
    clicked = slack.click(message, action)
    (answer,) = wait_for(lambda: slack.responses(clicked["response_id"]))
    assert refused == [clicked["response_id"]]
    assert "went wrong" in answer["text"] and answer["replace_original"] is False
    assert "refused by Slack: HTTP 400 invalid_blocks" in caplog.text
    assert clicked["response_id"] not in caplog.text  # never the response_url
