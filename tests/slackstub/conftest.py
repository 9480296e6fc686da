"""The stand-in tests reuse the real app over HTTP (tests/bot/conftest.py)."""

from tests.bot.conftest import config, reply, slack, standin  # noqa: F401
