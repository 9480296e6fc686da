"""A local stand-in for Slack's servers, for the tests and for `make run` without Slack."""

from slackstub.server import SlackStandIn

__all__ = ["SlackStandIn"]
