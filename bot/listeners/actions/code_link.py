"""Code: a link button; Slack opens the URL and still sends the click, which needs an ack."""

from __future__ import annotations

from slack_bolt import Ack


def code_link(ack: Ack) -> None:
    """Acknowledge the click (nothing else to do: the browser opened the repository)."""
    ack()
