"""Plain records passed into and out of storage."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Entry:
    """One sighting of a paper as a source listed it, before dedup."""

    abstract: str
    title: str | None = None
    authors_count: int | None = None
    authors: list[str] = field(default_factory=list)
    published: str | None = None  # ISO date, YYYY-MM-DD
    upvotes: int | None = None
    comments: int | None = None
    arxiv_id: str | None = None
    url: str | None = None
    listed_on: str | None = None  # ISO date the listing (page, feed item) is from
    code_url: str | None = None  # the paper's code repository, when the source names one
    # No listing date anywhere (page, --date, file name): listed_on is only the day it was
    # ingested, which never decides trending's newest day.
    undated: bool = False
    announce: str | None = None  # arXiv announce type: new, cross, replace, replace-cross
    version: int | None = None  # arXiv version number, when the source gave one

    # Fetched on demand for a pasted link: stored and shown, but listed by no source.
    looked_up: bool = False
    # Published long before the feed listed it (an arXiv API query by lastUpdatedDate or
    # relevance lists 2021 papers): stored and searchable, but not news for alerts.
    back_catalogue: bool = False

    @property
    def is_revision(self) -> bool:
        """An arXiv replacement: a new version of a paper, not a new paper."""
        return self.announce in ("replace", "replace-cross")

    @property
    def is_listing(self) -> bool:
        """Whether this sighting lists the paper as news (for trending and alerts)."""
        return not (self.is_revision or self.looked_up or self.back_catalogue)


@dataclass
class IngestReport:
    """What ingesting one input did to the store."""

    source: str
    parsed: int = 0
    new_papers: int = 0
    merged: int = 0
    repeated: int = 0  # the same paper twice within this input
    # Entries an unfinished earlier ingest of the same bytes stored (killed, or still running
    # beside this one): recognised, not stored again, and no repeat within the input.
    resumed: int = 0
    skipped: int = 0
    skip_reasons: dict[str, int] = field(default_factory=dict)
    already_ingested: bool = False
    not_modified: bool = False
    empty: bool = False  # zero bytes: nothing parsed, nothing recorded
    error: str | None = None
    known_failure: bool = False  # the error its source already has: not recorded again
    revisions: int = 0  # arXiv replacements: stored or applied, never news
    undated: bool = False  # a dump with no listing date anywhere
    merges_by_rule: dict[str, int] = field(default_factory=dict)
    # The longest write transaction (the bot waits at most this), wall and CPU seconds.
    longest_write_s: float = 0.0
    longest_write_cpu_s: float = 0.0
    # The peak memory of the process that wrote the search index, when it was not this one.
    index_peak_mb: float = 0.0

    def as_dict(self) -> dict:
        """The report as JSON-ready data."""
        return dict(self.__dict__)
