"""Opening the shared database file and migrating its schema forward."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from storage.config import Config
from storage.errors import ConfigError, DatabaseError

migrations = Migrations("papers")

# bm25 weights of the FTS5 table that search used until m007 (search is in storage.index now).
BM25_WEIGHTS = (10.0, 1.0, 2.0)
# Writers wait this long for the other process (bot or worker) to finish its transaction.
BUSY_TIMEOUT_MS = 15_000


def _private(path: Path) -> None:
    """Create the file 0600 (SQLite gives its -wal and -shm files the same mode) and tighten
    an existing one: it holds the workspaces' bot tokens."""
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if name.stat().st_mode & 0o077:
                name.chmod(0o600)
        except FileNotFoundError:
            continue
        except PermissionError:
            pass  # not ours to change (a read-only copy): the open below says what is wrong


def explain(path: str | Path, exc: Exception) -> DatabaseError:
    """One clear line for an SQLite failure on the database file."""
    text = str(exc).lower()
    if "not a database" in text or "malformed" in text:
        why = "is corrupt (not an SQLite database); restore it from a backup or move it away"
    elif "readonly" in text or "read-only" in text or "permission" in text:
        why = "is read-only; give the papers user write access to it and its folder"
    elif "unable to open" in text or "no such file" in text or "disk i/o" in text:
        why = "cannot be opened (missing folder, deleted or unreadable)"
    else:
        why = f"failed: {exc}"
    return DatabaseError(f"The database {path} {why}.")


def primary_code(exc: sqlite3.Error) -> int:
    """SQLite's primary result code of an error (SQLITE_BUSY for SQLITE_BUSY_SNAPSHOT too);
    an error without one counts as busy, as Python's sqlite3 raised it for a lock."""
    return getattr(exc, "sqlite_errorcode", sqlite3.SQLITE_BUSY) & 0xFF


def write_refused(exc: BaseException) -> DatabaseError | None:
    """A write SQLite refused for a cause outside papers, as one line a member may read:
    another process held the write lock past the busy timeout (an admin's sqlite3 shell, a
    stuck process), or the disk is full. None for any other error (a bug: its traceback)."""
    if getattr(exc, "sqlite_errorcode", None) is None:  # not raised by SQLite itself
        return None
    code = primary_code(exc)
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return DatabaseError(
            f"The database is busy: another process has held it for over "
            f"{BUSY_TIMEOUT_MS // 1000} s, so nothing was changed. Please try again in a minute."
        )
    if code == sqlite3.SQLITE_FULL:
        return DatabaseError(
            "The database's disk is full, so nothing was changed. Please tell whoever runs papers."
        )
    return None


def database_file(db: Database) -> Path | None:
    """The file of a database, or None for an in-memory one."""
    row = next((r for r in db.conn.execute("PRAGMA database_list") if r[1] == "main"), None)
    return Path(row[2]) if row and row[2] else None


def connect(path: str | Path, migrate: bool = True, create: bool = True) -> Database:
    """Open (and create or migrate) the database in WAL mode, safe to share between processes.

    Raises DatabaseError, one clear line, for a corrupt, read-only or missing file."""
    memory = str(path) == ":memory:"
    if not memory:
        path = Path(path)
        # A mistyped path is an error, never a new empty database in a new folder.
        if not create and not path.parent.is_dir():
            # `papers ingest` makes the default data/ folder only: elsewhere it fails too.
            default = path.parent == Path(Config.db_path).parent
            raise DatabaseError(
                f"There is no database at {path}: the folder {str(path.parent)!r} does not"
                f" exist; {'run `papers ingest` first' if default else 'check the path'}."
            )
        if not path.parent.is_dir():
            raise ConfigError(
                f"The folder {str(path.parent)!r} does not exist; create it first "
                f"or give a database path in an existing folder."
            )
        if path.is_dir():  # `--db data/`: SQLite's own words name no folder
            raise DatabaseError(
                f"The database {path} is a folder; give the path of a file in it"
                f" (such as {path / 'papers.db'})."
            )
        if not create and not path.exists():
            raise DatabaseError(f"There is no database at {path}; run `papers ingest` first.")
        try:
            _private(path)
        except OSError as exc:
            raise explain(path, exc) from exc
        if not os.access(path, os.R_OK | os.W_OK):
            raise explain(path, PermissionError("read-only"))
    try:
        return _open(path, memory, migrate)
    except sqlite3.DatabaseError as exc:
        raise explain(path, exc) from exc


def _open(path: str | Path, memory: bool, migrate: bool) -> Database:
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    db = Database(conn)
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA synchronous = NORMAL")
    if not memory:
        db.enable_wal()
        _private(Path(path))
    _refuse_newer(db, path)
    if migrate:
        _migrate(db)
    return db


def _migrate(db: Database) -> None:
    """Apply the pending migrations, each in a transaction of its own. The bot and the
    worker start together after an upgrade: each migration is chosen and applied under the
    write lock (BEGIN IMMEDIATE waits for the other process's), so one the other process
    applied meanwhile is never applied, or recorded, a second time."""
    while migrations.pending(db):
        with transaction(db):
            pending = migrations.pending(db)
            if pending:
                migrations.apply(db, stop_before=[m.name for m in pending[1:]])


_known: set[str] = set()


def _refuse_newer(db: Database, path: str | Path) -> None:
    """DatabaseError when a newer papers migrated the file: this one would misread the
    schema it does not know (a traceback, or worse, wrong writes), as after a rollback."""
    if not _known:  # every migration is pending on an empty database
        _known.update(m.name for m in migrations.pending(Database(memory=True)))
    unknown = [m.name for m in migrations.applied(db) if m.name not in _known]
    if unknown:
        db.close()
        raise DatabaseError(
            f"The database {path} was written by a newer version of papers (its schema has "
            f"{', '.join(unknown)}); run that version, or restore a backup made by this one."
        )


class Opener:
    """One connection per thread to a database file, refusing to go on writing into a file
    that was deleted or replaced while the process runs (it would vanish on exit)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._first: tuple[int, int] | None = None

    def _identity(self) -> tuple[int, int]:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError as exc:
            raise DatabaseError(
                f"The database {self.path} was deleted or moved while papers was running; "
                "restore it and restart papers."
            ) from exc
        return stat.st_dev, stat.st_ino

    def get(self) -> Database:
        """This thread's connection; DatabaseError if the file is gone or unusable."""
        held = getattr(self._local, "held", None)
        if held is not None:
            db, identity = held
            if self._identity() == identity:
                return db
            db.close()
            self._local.held = None
            raise self._replaced()
        if self._first is not None and self._identity() != self._first:
            raise self._replaced()
        # Only the first connection may create the file; later threads must find it.
        db = connect(self.path, create=self._first is None)
        identity = self._identity()
        self._first = self._first or identity
        self._local.held = (db, identity)
        return db

    def _replaced(self) -> DatabaseError:
        return DatabaseError(
            f"The database {self.path} was replaced while papers was running; restart papers."
        )


@contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """A write transaction taken with BEGIN IMMEDIATE.

    A deferred BEGIN that later upgrades to a write lock fails at once with
    "database is locked" when another process writes, ignoring busy_timeout;
    IMMEDIATE waits for the lock up front instead.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.conn.rollback()
        raise
    else:
        db.conn.execute("COMMIT")


def schema_version(db: Database) -> int:
    """How many migrations have been applied to this database."""
    return len(migrations.applied(db))


@migrations()
def m001_papers(db: Database) -> None:
    """Papers, where they were seen, and which inputs were already ingested."""
    db["sources"].create(
        {
            "id": int,
            "name": str,
            "kind": str,
            "etag": str,
            "last_modified": str,
            "last_ok_at": str,
            "last_error": str,
            "last_error_at": str,
            "failures": int,
        },
        pk="id",
        not_null={"name", "kind"},
        defaults={"failures": 0},
    )
    db["sources"].create_index(["name"], unique=True)
    db["inputs"].create(
        {
            "id": int,
            "source_id": int,
            "sha256": str,
            "ingested_at": str,
            "parsed": int,
            "new_papers": int,
            "merged": int,
            "skipped": int,
            "skip_reasons": str,
        },
        pk="id",
        foreign_keys=[("source_id", "sources", "id")],
    )
    db["inputs"].create_index(["sha256"], unique=True)
    db["papers"].create(
        {
            "id": int,
            "arxiv_id": str,
            "title": str,
            "title_norm": str,
            "title_derived": int,
            "abstract": str,
            "abstract_key": str,
            "authors_count": int,
            "authors": str,
            "published": str,
            "url": str,
            "first_seen_at": str,
            "updated_at": str,
        },
        pk="id",
        not_null={"title", "abstract"},
        defaults={"title_derived": 0},
    )
    db["papers"].create_index(["arxiv_id"], unique=True)
    db["papers"].create_index(["title_norm"])
    db["papers"].create_index(["abstract_key"])
    db["papers"].create_index(["first_seen_at"])
    db.execute(
        "CREATE TABLE blocks (key TEXT NOT NULL, paper_id INTEGER NOT NULL "
        "REFERENCES papers(id), PRIMARY KEY (key, paper_id)) WITHOUT ROWID"
    )
    db["sightings"].create(
        {
            "id": int,
            "paper_id": int,
            "source_id": int,
            "input_id": int,
            "listed_on": str,
            "upvotes": int,
            "comments": int,
            "seen_at": str,
        },
        pk="id",
        foreign_keys=[
            ("paper_id", "papers", "id"),
            ("source_id", "sources", "id"),
            ("input_id", "inputs", "id"),
        ],
    )
    db["sightings"].create_index(["paper_id", "input_id"], unique=True)
    db["sightings"].create_index(["listed_on"])
    # Full-text index, kept in step with papers by storage.papers (not by triggers): the
    # third column holds joined hyphen forms so "pre-training" finds "pretraining".
    db.execute(
        "CREATE VIRTUAL TABLE papers_fts USING fts5(title, abstract, extra, "
        "tokenize = 'porter unicode61 remove_diacritics 2')"
    )
    # Surface words (unstemmed) for "did you mean" suggestions.
    db.execute(
        "CREATE VIRTUAL TABLE words_fts USING fts5(body, detail = none, "
        "tokenize = 'unicode61 remove_diacritics 2')"
    )
    db.execute("CREATE VIRTUAL TABLE words_vocab USING fts5vocab(words_fts, row)")


@migrations()
def m002_subscriptions(db: Database) -> None:
    """Subscriptions with their schedules, the delivery ledger, and what each was sent."""
    db["subscriptions"].create(
        {
            "id": int,
            "team_id": str,
            "user_id": str,
            "target": str,  # channel id, or the user id for a DM
            "kind": str,  # "personal" or "channel"
            "keywords": str,
            "frequency": str,  # daily, weekdays, weekly, instant
            "weekday": int,  # 0 = Monday, for weekly
            "at_time": str,  # HH:MM local
            "tz": str,  # IANA name
            "status": str,  # active, paused
            "paused_reason": str,
            "next_due_at": str,  # UTC ISO; NULL for instant
            "last_delivered_at": str,
            "created_at": str,
        },
        pk="id",
        not_null={"team_id", "user_id", "target", "kind", "frequency", "status"},
        defaults={"keywords": "", "weekday": 0, "at_time": "09:00", "status": "active"},
    )
    db["subscriptions"].create_index(["team_id", "user_id"])
    db["subscriptions"].create_index(["status", "next_due_at"])
    db["deliveries"].create(
        {
            "id": int,
            "subscription_id": int,
            "period": str,
            "state": str,  # claimed, sent, skipped, failed
            "claimed_at": str,
            "finished_at": str,
            "message_ts": str,
            "detail": str,
            "paper_ids": str,
        },
        pk="id",
        foreign_keys=[("subscription_id", "subscriptions", "id")],
    )
    db["deliveries"].create_index(["subscription_id", "period"], unique=True)
    db.execute(
        "CREATE TABLE sent_papers (subscription_id INTEGER NOT NULL, paper_id INTEGER NOT NULL,"
        " PRIMARY KEY (subscription_id, paper_id)) WITHOUT ROWID"
    )
    db["teams"].create({"team_id": str, "status": str, "changed_at": str}, pk="team_id")
    db["meta"].create({"key": str, "value": str}, pk="key")


@migrations()
def m003_delivery_payload(db: Database) -> None:
    """Keep the rendered message and its channel on the claim, so a delivery interrupted by a
    crash is re-sent exactly as built (or found already delivered) instead of rebuilt."""
    db["deliveries"].add_column("channel", str)
    db["deliveries"].add_column("message", str)
    db["deliveries"].add_column("not_before", str)
    db["deliveries"].create_index(["state", "not_before"])


@migrations()
def m004_input_batches(db: Database) -> None:
    """Inputs are stored in batches: `complete` marks the ones whose last batch committed."""
    db["inputs"].add_column("complete", int, not_null_default=1)


@migrations()
def m005_words_table(db: Database) -> None:
    """Suggestion words in a plain table, written once per word instead of a second
    full-text index written for every paper (which halved ingest speed)."""
    db.execute("CREATE TABLE words (word TEXT PRIMARY KEY) WITHOUT ROWID")
    db.execute(
        "INSERT OR IGNORE INTO words (word) SELECT lower(term) FROM words_vocab"
        " WHERE length(term) >= 3 AND term NOT GLOB '*[0-9]*'"
    )
    db.execute("DROP TABLE words_vocab")
    db.execute("DROP TABLE words_fts")
    db.execute("CREATE VIRTUAL TABLE papers_vocab USING fts5vocab(papers_fts, row)")
    # The table's rank function, so queries order by `rank` (see BM25_WEIGHTS).
    weights = ", ".join(str(w) for w in BM25_WEIGHTS)
    db.execute(f"INSERT INTO papers_fts (papers_fts, rank) VALUES ('rank', 'bm25({weights})')")


@migrations()
def m006_delivery_attempts(db: Database) -> None:
    """The attempt count of an open claim gets its own column; `detail` keeps only the
    reason a delivery finished as it did."""
    db["deliveries"].add_column("attempts", int, not_null_default=0)
    db.execute(
        "UPDATE deliveries SET attempts = CAST(detail AS INTEGER), detail = NULL"
        " WHERE state = 'claimed' AND detail GLOB '[0-9]*'"
    )


@migrations()
def m007_demo_subscription(db: Database) -> None:
    """Mark the subscription `make run` creates for its demo, so a restart finds it instead of
    touching the subscriptions people made."""
    db["subscriptions"].add_column("demo", int, not_null_default=0)


@migrations()
def m008_authors_code_saved(db: Database) -> None:
    """Issue 15: author names per paper (for follows and `author:` search), a code link per
    paper, author follows as subscriptions with an `author`, the reading list, and the
    arXiv API lookups made for link unfurls (so each id is fetched once)."""
    # Imported here: these modules import storage.db themselves.
    from storage.authors import index_authors
    from storage.code_links import code_url_from_abstract

    db["papers"].add_column("code_url", str)
    db["subscriptions"].add_column("author", str)
    db["paper_authors"].create(
        {"id": int, "paper_id": int, "position": int, "name": str, "surname": str},
        pk="id",
        not_null={"paper_id", "position", "name", "surname"},
        foreign_keys=[("paper_id", "papers", "id")],
    )
    db["paper_authors"].create_index(["paper_id", "position"], unique=True)
    db["paper_authors"].create_index(["surname", "name"])
    db["saved"].create(
        {"team_id": str, "user_id": str, "paper_id": int, "saved_at": str},
        pk=("team_id", "user_id", "paper_id"),
        foreign_keys=[("paper_id", "papers", "id")],
    )
    db["arxiv_lookups"].create(
        {"arxiv_id": str, "looked_up_at": str, "found": int, "detail": str}, pk="arxiv_id"
    )
    for row in db.query("SELECT id, authors FROM papers WHERE authors IS NOT NULL ORDER BY id"):
        index_authors(db, row["id"], json.loads(row["authors"]))
    rows = db.query("SELECT id, abstract FROM papers WHERE abstract LIKE '%github.com/%'")
    for row in list(rows):
        url = code_url_from_abstract(row["abstract"])
        if url:
            db.execute("UPDATE papers SET code_url = ? WHERE id = ?", [url, row["id"]])


@migrations()
def m009_listing_kinds(db: Database) -> None:
    """How each sighting lists its paper: `dated` (a real listing date), `undated` (a dump
    without one: listed_on is the ingest day, which never sets trending's newest day),
    `revision` (an arXiv replacement: never news) or `lookup` (fetched for a pasted link:
    never news). Papers keep their arXiv version, and `listed` = 0 marks a paper known only
    from a replacement or a lookup, which keyword and author alerts skip."""
    db["sightings"].add_column("listing", str, not_null_default="dated")
    db["sightings"].create_index(["listing", "listed_on"])
    db["papers"].add_column("arxiv_version", int)
    db["papers"].add_column("listed", int, not_null_default=1)


@migrations()
def m010_search_index(db: Database) -> None:
    """Search moved to the tantivy index beside the database file (storage.index), built
    from SQLite on first use: the FTS5 tables and their per-paper writes go."""
    db.execute("DROP TABLE IF EXISTS papers_vocab")
    db.execute("DROP TABLE IF EXISTS papers_fts")


@migrations()
def m011_hardening(db: Database) -> None:
    """The worker lease (one worker at a time) and the requests already handled (replays and
    Slack's retries are acknowledged without acting twice)."""
    db["leases"].create(
        {"name": str, "holder": str, "acquired_at": str, "expires_at": str}, pk="name"
    )
    db["seen_requests"].create({"key": str, "seen_at": str}, pk="key")
    db["seen_requests"].create_index(["seen_at"])


@migrations()
def m012_block_hashes(db: Database) -> None:
    """Dedup blocking keys as 64-bit hashes (storage.papers.block_key) instead of text: the
    index a batch rewrites is a quarter of the size. Written in key order."""
    from storage.papers import block_key  # storage.papers imports this module

    db.conn.create_function("block_key", 1, block_key, deterministic=True)
    db.execute(
        "CREATE TABLE blocks_hashed (key INTEGER NOT NULL, paper_id INTEGER NOT NULL "
        "REFERENCES papers(id), PRIMARY KEY (key, paper_id)) WITHOUT ROWID"
    )
    db.execute(
        "INSERT OR IGNORE INTO blocks_hashed (key, paper_id) "
        "SELECT block_key(key), paper_id FROM blocks ORDER BY 1, 2"
    )
    db.execute("DROP TABLE blocks")
    db.execute("ALTER TABLE blocks_hashed RENAME TO blocks")


@migrations()
def m013_author_suffixes(db: Database) -> None:
    """Names such as "Robert W. Heath, Jr." were stored with the surname "robert w heath"
    (the comma read as "Surname, Given" order): their surnames are parsed again."""
    from storage.authors import refold_surnames  # storage.authors imports this module

    refold_surnames(db, "name LIKE '%,%'")


@migrations()
def m014_author_letters(db: Database) -> None:
    """Surnames with letters such as ł, ø or đ were stored with them ("wałesa"), so "Walesa"
    found nothing: names with any letter beyond ASCII are folded again."""
    from storage.authors import refold_surnames  # storage.authors imports this module

    refold_surnames(db, "name GLOB '*[^ -~]*'")


@migrations()
def m015_failed_content(db: Database) -> None:
    """The content hash a source last failed on: an inbox file that failed is read again
    only when its bytes change, not at every scan."""
    db["sources"].add_column("last_error_sha256", str)


@migrations()
def m016_failed_version(db: Database) -> None:
    """last_error_sha256 held a content hash or, for a file that could not be read (so not
    hashed), "stat:<mtime_ns>:<size>": it is renamed last_error_version, keeping its values,
    so no code takes it for a hash."""
    db.execute("ALTER TABLE sources RENAME COLUMN last_error_sha256 TO last_error_version")


@migrations()
def m017_slack_timezone(db: Database) -> None:
    """Whether a personal subscription's timezone is the member's Slack timezone (none was
    typed): it then follows that timezone when it changes (a user_change event). Existing
    ones are taken as typed: which they were is not known."""
    db["subscriptions"].add_column("slack_tz", int, not_null_default=0)


@migrations()
def m018_author_umlauts(db: Database) -> None:
    """Surnames are stored under a key that drops the e after a, o or u ("mueller" and
    "muller" are both "muller"), so a name typed "Mueller" finds the "Müller" its key once
    missed: the rows whose stored surname has such an e are keyed again."""
    from storage.authors import refold_surnames  # storage.authors imports this module

    refold_surnames(db, "surname GLOB '*[aou]e*'")


@migrations()
def m019_back_catalogue(db: Database) -> None:
    """A sighting of a feed item published long before the feed listed it (an arXiv API
    query by lastUpdatedDate lists 2021 papers) is `back-catalogue`: not news, so it never
    trends, as it was never alerted. Before, it was stored as `dated` and trended in any
    window that reached its date. A paper still `listed` = 0 has no listing of its own, so
    its dated sightings can only be such items."""
    db.execute(
        "UPDATE sightings SET listing = 'back-catalogue' WHERE listing IN ('dated', 'undated')"
        " AND paper_id IN (SELECT id FROM papers WHERE listed = 0)"
    )


@migrations()
def m020_late_listings(db: Database) -> None:
    """A paper stored before anything listed it (fetched for a pasted link, or known from
    an arXiv replacement) is news when a listing names it at last; its id lies behind the
    alerts' bookmarks by then, so each such listing is noted in order for them."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS late_listings"
        " (seq INTEGER PRIMARY KEY, paper_id INTEGER NOT NULL REFERENCES papers(id))"
    )


@migrations()
def m021_sightings_mark(db: Database) -> None:
    """The newest sighting a delivery's claim could see: a digest then takes the papers
    listed after its subscription's previous one was chosen, on days that digest covered
    (a paper added to a day's listing after that day's digest reached no digest at all).
    Rows from before have none, and their next digest takes its own days alone, as before."""
    db["deliveries"].add_column("sightings_mark", int)


@migrations()
def m022_author_news(db: Database) -> None:
    """Whether a name row is news for author alerts. Names a listed paper got from no
    listing (the arXiv API entry fetched for a pasted link, a back-catalogue feed item, an
    arXiv replacement) are stored for search, and news only if the paper was listed lately:
    a follower was told of a paper a dump had listed without names months before. Rows
    from before are news."""
    db["paper_authors"].add_column("news", int, not_null_default=1)
