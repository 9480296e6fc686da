"""Answering a click: a reply Slack refuses is said, in the log and to the clicker."""

from __future__ import annotations

import logging

import pytest

from tests.bot.conftest import wait_for
from tests.bot.test_commands import buttons


@pytest.mark.parametrize(
    "button",
    [
        pytest.param("search_next", id="next-page"),
        pytest.param("more_like_", id="more-like-this"),
        pytest.param("save_paper_", id="save"),
    ],
)
def test_a_button_reply_slack_refuses_is_logged_and_the_clicker_hears_back(
    slack, reply, monkeypatch, caplog, button
):
    """Slack answers a response_url post it refuses (an invalid block, a used URL) with an
    HTTP error, which Bolt's respond returns instead of raising: the click did nothing the
    clicker could see, and the log said nothing of why."""
    message = reply("language")
    post = slack.response_url_post
    refused = []

    def refuse_first(response_id: str, body: dict):
        if not refused:
            refused.append(response_id)
            return 400, "invalid_blocks"
        return post(response_id, body)

    monkeypatch.setattr(slack, "response_url_post", refuse_first)
    caplog.set_level(logging.WARNING)
    action = next(b for b in buttons(message) if b.startswith(button))
    clicked = slack.click(message, action)
    (answer,) = wait_for(lambda: slack.responses(clicked["response_id"]))
    assert refused == [clicked["response_id"]]
    assert "went wrong" in answer["text"] and answer["replace_original"] is False
    assert "refused by Slack: HTTP 400 invalid_blocks" in caplog.text
    assert clicked["response_id"] not in caplog.text  # never the response_url
