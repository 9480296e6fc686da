"""Named exceptions, turned into friendly messages at the edges (CLI, Slack replies)."""


class PapersError(Exception):
    """Base class: the message is safe to show to a user as it is."""


class QueryError(PapersError):
    """A search query that cannot be run (empty, too long, only exclusions)."""


class SourceError(PapersError):
    """A source (file, folder, URL) that could not be read."""


class SubscriptionError(PapersError):
    """A subscription request that cannot be honoured."""


class NotFound(PapersError):
    """Something the user named does not exist (for their team)."""


class ConfigError(PapersError):
    """Configuration that is missing or malformed."""


class DatabaseError(PapersError):
    """The database file is corrupt, read-only, missing or was deleted under us."""
