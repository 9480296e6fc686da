"""All SQL lives here: schema, dedup, full-text search, trending, subscriptions."""

from storage.db import connect, transaction

__all__ = ["connect", "transaction"]
