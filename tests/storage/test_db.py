"""The database file: WAL mode, forward migrations that keep data, two processes sharing it."""

from __future__ import annotations

import pytest
from sqlite_utils import Database

from storage.db import connect, migrations, schema_version


def test_new_database_is_wal_and_fully_migrated(tmp_path):
    db = connect(tmp_path / "p.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert schema_version(db) == len(migrations._migrations) >= 3
    tables = set(db.table_names())
    assert {"papers", "sightings", "subscriptions", "deliveries", "words"} <= tables
    # Search lives in the tantivy index beside the file; no FTS5 table is written any more.
    assert not {"papers_fts", "papers_vocab"} & tables


def test_old_database_migrates_forward_and_keeps_its_papers(tmp_path):
    path = tmp_path / "old.db"
    old = Database(path)
    migrations.apply(old, stop_before="m002_subscriptions")
    old.execute(
        "INSERT INTO papers (title, title_norm, abstract) VALUES ('Kept Paper', 'kept paper', 'x')"
    )
    old.conn.commit()
    assert "subscriptions" not in old.table_names()
    old.close()
    db = connect(path)
    assert [r["title"] for r in db.query("SELECT title FROM papers")] == ["Kept Paper"]
    assert "channel" in db["deliveries"].columns_dict
    assert schema_version(db) == len(migrations._migrations)


def test_two_connections_see_each_others_commits(tmp_path):
    first, second = connect(tmp_path / "p.db"), connect(tmp_path / "p.db")
    first["meta"].insert({"key": "a", "value": "1"})
    assert next(second.query("SELECT value FROM meta WHERE key = 'a'"))["value"] == "1"


def test_a_database_in_a_missing_folder_is_refused(tmp_path):
    import pytest

    from storage.errors import ConfigError

    with pytest.raises(ConfigError, match="does not exist"):
        connect(tmp_path / "missing" / "p.db")
    assert not (tmp_path / "missing").exists()


def test_database_files_are_private(tmp_path):
    db = connect(tmp_path / "p.db")
    db["meta"].insert({"key": "k", "value": "v"})
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.glob("p.db*")}
    assert set(modes) >= {"p.db", "p.db-wal", "p.db-shm"}
    assert set(modes.values()) == {0o600}


def test_text_blocking_keys_become_hashes_and_still_find_candidates(tmp_path):
    from storage.models import Entry, IngestReport
    from storage.papers import store_entries

    path = tmp_path / "old.db"
    old = Database(path)
    migrations.apply(old, stop_before="m012_block_hashes")
    title = "low rank adaptation of large language models"
    old.execute(
        "INSERT INTO papers (title, title_norm, abstract, abstract_key) VALUES (?, ?, ?, 'k')",
        ["Low-Rank Adaptation of Large Language Models", title, "We freeze the weights. " * 20],
    )
    # The blocks an older version wrote: the first and last four title words, as text.
    for key in ("tp:low rank adaptation of", "ts:of large language models"):
        old.execute("INSERT INTO blocks (key, paper_id) VALUES (?, 1)", [key])
    old.conn.commit()
    old.close()
    db = connect(path)
    assert db.execute("SELECT typeof(key) FROM blocks").fetchall() == [("integer",)] * 2
    # A retyped title shares only its last four words: found through the migrated keys.
    typo = Entry("We freeze the weights. " * 20, "Low-Rank Adaptaton of Large Language Models")
    report = store_entries(db, "feed", "test", "h", [typo], "2026-03-17", IngestReport("feed"))
    assert (report.new_papers, report.merges_by_rule) == (0, {"fuzzy-title": 1})


@pytest.mark.parametrize(
    ("migration", "name", "old_surname", "typed"),
    [
        # An older version read the comma as "Surname, Given" order.
        pytest.param(
            "m013_author_suffixes",
            "Robert W. Heath, Jr.",
            "robert w heath",
            "Robert W. Heath",
            id="suffix-after-comma",
        ),
        # An older version kept letters Unicode does not decompose.
        pytest.param(
            "m014_author_letters", "Paweł Wałęsa", "wałesa", "Pawel Walesa", id="polish-l"
        ),
        # An older version keyed a spelled-out umlaut apart from the umlaut.
        pytest.param(
            "m018_author_umlauts",
            "Juergen Mueller",
            "mueller",
            "Jürgen Müller",
            id="umlaut-spelled-out",
        ),
    ],
)
def test_an_author_stored_by_an_older_version_is_found_after_the_upgrade(
    tmp_path, migration, name, old_surname, typed
):
    from storage import authors

    path = tmp_path / "old.db"
    old = Database(path)
    migrations.apply(old, stop_before=migration)
    old.execute("INSERT INTO papers (title, title_norm, abstract) VALUES ('MIMO', 'mimo', 'x')")
    old.execute(
        "INSERT INTO paper_authors (paper_id, position, name, surname) VALUES (1, 0, ?, ?)",
        [name, old_surname],
    )
    old.conn.commit()
    old.close()
    db = connect(path)
    assert authors.papers_by(db, typed).paper_ids == [1]


def test_a_failed_files_recorded_version_survives_the_column_rename(tmp_path):
    # m016 renames last_error_sha256 (which also held "stat:..." values) to
    # last_error_version: a failure recorded before the upgrade is still known after it,
    # so the worker does not report an unchanged broken inbox file again.
    from storage.papers import failed_on

    path = tmp_path / "old.db"
    old = Database(path)
    migrations.apply(old, stop_before="m016_failed_version")
    old["sources"].insert_all(
        [
            {"name": "inbox/a.txt", "kind": "file", "last_error": "unreadable",
             "last_error_sha256": "stat:1774000000000000000:42"},
            {"name": "inbox/b.txt", "kind": "file", "last_error": "no paper",
             "last_error_sha256": "ab" * 32},
        ]
    )  # fmt: skip
    old.conn.commit()
    old.close()
    db = connect(path)
    assert "last_error_sha256" not in db["sources"].columns_dict
    assert failed_on(db, "inbox/a.txt", "stat:1774000000000000000:42") == "unreadable"
    assert failed_on(db, "inbox/b.txt", "ab" * 32) == "no paper"


def test_an_old_paper_an_older_version_listed_as_news_stops_trending(tmp_path):
    # An older version stored an arXiv API feed's old papers as dated listings, so they
    # trended; a paper with no listing of its own (listed = 0) has only such sightings.
    from datetime import UTC, datetime

    from storage.trending import trending

    path = tmp_path / "old.db"
    old = Database(path)
    migrations.apply(old, stop_before="m019_back_catalogue")
    old.execute("INSERT INTO sources (name, kind) VALUES ('https://export.arxiv.org/api', 'feed')")
    for title, listed, day in [("New Routing", 1, "2026-03-12"), ("Old Speech", 0, "2026-03-07")]:
        old.execute(
            "INSERT INTO papers (title, title_norm, abstract, listed) VALUES (?, ?, 'x', ?)",
            [title, title.lower(), listed],
        )
        old.execute(
            "INSERT INTO sightings (paper_id, source_id, listed_on, seen_at, listing)"
            " VALUES (last_insert_rowid(), 1, ?, '2026-03-17', 'dated')",
            [day],
        )
    old.conn.commit()
    old.close()
    db = connect(path)
    week = trending(db, datetime(2026, 3, 17, 6, tzinfo=UTC), "week")
    assert [p["title"] for p in week] == ["New Routing"]


def test_migrations_another_process_applied_meanwhile_are_not_applied_again(tmp_path, monkeypatch):
    # After an upgrade the bot and the worker start together: the other process may apply
    # the pending migrations between this one's look at the schema and its own migrating.
    # This one then failed to start ("UNIQUE constraint failed: _sqlite_migrations..." for
    # a migration that can run twice, such as m020's CREATE TABLE IF NOT EXISTS).
    from sqlite_utils.migrations import Migrations

    path = tmp_path / "old.db"
    old = Database(path)
    migrations.apply(old, stop_before="m019_back_catalogue")
    old.close()
    first = [True]

    def pending_then_the_other_process_migrates(db):
        found = Migrations.pending(migrations, db)
        if first:
            first.clear()
            other = Database(path)
            migrations.apply(other)
            other.close()
        return found

    monkeypatch.setattr(migrations, "pending", pending_then_the_other_process_migrates)
    db = connect(path)
    names = [m.name for m in migrations.applied(db)]
    assert names == [m.name for m in migrations._migrations]  # each once, in order


def test_a_write_refused_for_a_full_disk_is_named_for_the_member(tmp_path):
    """A full disk failed a subscribe with "Something went wrong" and a traceback; the
    error is named (the bot answers it in these words), and a bug's error is not."""
    import sqlite3

    import pytest

    from storage.db import write_refused

    db = connect(tmp_path / "papers.db")
    db.execute("CREATE TABLE filler (x TEXT)")
    db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
    with pytest.raises(sqlite3.OperationalError) as full:
        for _ in range(10_000):
            with db.conn:
                db.execute("INSERT INTO filler VALUES (?)", ["x" * 500])
    assert "disk is full" in str(write_refused(full.value))
    with pytest.raises(sqlite3.OperationalError) as bug:
        db.execute("SELECT * FROM no_such_table")
    assert write_refused(bug.value) is None
    assert write_refused(ValueError("a bug")) is None
