"""Storing entries as papers: dedup, sightings; the search index follows each batch."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from rapidfuzz import fuzz
from sqlite_utils import Database

from storage import index as search_index
from storage.authors import index_authors
from storage.code_links import code_url_from_abstract
from storage.db import transaction
from storage.models import Entry, IngestReport
from storage.text import derive_title, normalize_title

# Two titles are the same paper at this rapidfuzz ratio (0-100) on their normalized forms,
# if their numbers agree ("Part 1" vs "Part 2" never merge). Chosen so that punctuation,
# casing and one-word edits merge while distinct titles sharing a long prefix do not.
TITLE_SIMILARITY = 93
# Titles that fuzzy-match are the same paper only if their abstracts agree at this ratio:
# one changed word can turn a title into another paper's ("Explicit"/"Implicit Reasoning"),
# so the abstract decides. Distinct papers on one topic score at most ~58 on the seeds (the
# median of unrelated pairs is 44); a retyped or lightly revised abstract scores 80-100.
ABSTRACT_AGREE = 75
# Entries with near-identical abstracts (this ratio) are the same paper when one is untitled,
# or when their titles are related: spelling, hyphens and spaces aside ("Optimizing
# Retrieval-Augmented" / "Optimising Retrieval Augmented") at TITLE_RELATED, same numbers.
ABSTRACT_SIMILARITY = 95
TITLE_RELATED = 80
# Words that make a blocking key: candidates for the fuzzy pass share the first or the last
# BLOCK_WORDS words of the normalized title (or abstract), so a lookup is one index probe
# instead of a scan, at any store size.
BLOCK_WORDS = 4
ABSTRACT_BLOCK_WORDS = 8
ABSTRACT_COMPARE_CHARS = 600
# Entries per write transaction: small enough that the bot never waits long for the lock.
BATCH = 1000
_DIGITS = re.compile(r"\d+")


@dataclass
class _Match:
    paper_id: int
    how: str  # the rule that matched: one of RULES


RULES = ("arxiv", "title", "fuzzy-title", "abstract")


@dataclass
class _Keys:
    """Everything dedup and indexing derive from an entry, computed once."""

    title_norm: str | None
    abstract_norm: str
    abstract_key: str
    title_blocks: set[str]
    abstract_blocks: set[str]


def _keys(entry: Entry) -> _Keys:
    abstract_norm = normalize_title(entry.abstract)
    title_norm = normalize_title(entry.title) if entry.title else None
    return _Keys(
        title_norm=title_norm,
        abstract_norm=abstract_norm,
        abstract_key=hashlib.sha1(abstract_norm.encode()).hexdigest(),
        title_blocks=_title_blocks(title_norm) if title_norm else set(),
        abstract_blocks=_abstract_blocks(abstract_norm),
    )


def content_hash(data: bytes) -> str:
    """The identity of an input: the same bytes are ingested once."""
    return hashlib.sha256(data).hexdigest()


def _title_blocks(norm: str) -> set[str]:
    words = norm.split()
    return {"tp:" + " ".join(words[:BLOCK_WORDS]), "ts:" + " ".join(words[-BLOCK_WORDS:])}


def _abstract_blocks(abstract_norm: str) -> set[str]:
    words = abstract_norm.split()
    n = ABSTRACT_BLOCK_WORDS
    return {"ap:" + " ".join(words[:n]), "as:" + " ".join(words[-n:])}


def _same_numbers(a: str, b: str) -> bool:
    return _DIGITS.findall(a) == _DIGITS.findall(b)


def _abstracts_agree(norm: str, other: str) -> bool:
    """Two normalized abstracts tell of the same paper: compared over their common length, so
    a source's truncated summary agrees with the whole abstract."""
    n = min(len(norm), len(other), ABSTRACT_COMPARE_CHARS)
    return fuzz.ratio(norm[:n], other[:n]) >= ABSTRACT_AGREE


def _titles_related(norm: str, other: str) -> bool:
    """Titles that differ only in spelling, hyphenation, spacing or punctuation."""
    squashed = fuzz.ratio(norm.replace(" ", ""), other.replace(" ", ""))
    return _same_numbers(norm, other) and squashed >= TITLE_RELATED


def _conflict(row: dict, entry: Entry) -> bool:
    """Both have arXiv ids and they differ: never the same paper."""
    return bool(row["arxiv_id"] and entry.arxiv_id and row["arxiv_id"] != entry.arxiv_id)


_ROW = (
    "p.id, p.arxiv_id, p.title_norm, p.title_derived, p.abstract, p.abstract_key,"
    " p.arxiv_version, p.listed"
)
_CHUNK = 900  # SQLite's bound-parameter limit is 999 on older builds


def _chunks(values: list[str]):
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


class _Batch:
    """The stored papers a batch of entries could match, fetched in four queries for the
    whole batch instead of five per entry, plus the papers the batch itself creates."""

    def __init__(self, db: Database, pairs: list[tuple[Entry, _Keys]]) -> None:
        self.by_arxiv: dict[str, dict] = {}
        self.by_title: dict[str, list[dict]] = {}
        self.by_abstract: dict[str, list[dict]] = {}
        self.by_block: dict[str, list[dict]] = {}
        arxiv = sorted({e.arxiv_id for e, _ in pairs if e.arxiv_id})
        titles = sorted({k.title_norm for _, k in pairs if k.title_norm})
        abstracts = sorted({k.abstract_key for _, k in pairs})
        blocks = sorted({b for _, k in pairs for b in k.title_blocks | k.abstract_blocks})
        for column, values, target in (
            ("arxiv_id", arxiv, None),
            ("title_norm", titles, self.by_title),
            ("abstract_key", abstracts, self.by_abstract),
        ):
            for chunk in _chunks(values):
                marks = ",".join("?" * len(chunk))
                for row in db.query(
                    f"SELECT {_ROW} FROM papers p WHERE p.{column} IN ({marks})", chunk
                ):
                    if target is None:
                        self.by_arxiv[row["arxiv_id"]] = row
                    else:
                        target.setdefault(row[column], []).append(row)
        for chunk in _chunks(blocks):
            marks = ",".join("?" * len(chunk))
            sql = (
                f"SELECT b.key, {_ROW} FROM blocks b JOIN papers p ON p.id = b.paper_id"
                f" WHERE b.key IN ({marks})"
            )
            for row in db.query(sql, chunk):
                self.by_block.setdefault(row.pop("key"), []).append(row)

    def add(self, row: dict, blocks: set[str]) -> None:
        """Make a paper created (or renamed) in this batch visible to the entries after it."""
        if row["arxiv_id"]:
            self.by_arxiv[row["arxiv_id"]] = row
        if not row["title_derived"]:
            self.by_title.setdefault(row["title_norm"], []).append(row)
        self.by_abstract.setdefault(row["abstract_key"], []).append(row)
        for block in blocks:
            self.by_block.setdefault(block, []).append(row)

    def candidates(self, blocks: set[str]) -> list[dict]:
        """Papers sharing a blocking key, each once."""
        seen: dict[int, dict] = {}
        for block in blocks:
            for row in self.by_block.get(block, []):
                seen.setdefault(row["id"], row)
        return list(seen.values())


def find_match(batch: _Batch, entry: Entry, keys: _Keys) -> _Match | None:
    """The stored paper this entry is a sighting of, by the documented dedup rules."""
    if entry.arxiv_id and entry.arxiv_id in batch.by_arxiv:
        return _Match(batch.by_arxiv[entry.arxiv_id]["id"], "arxiv")
    if keys.title_norm:
        norm = keys.title_norm
        for row in batch.by_title.get(norm, []):
            if not row["title_derived"] and not _conflict(row, entry):
                return _Match(row["id"], "title")
        best: tuple[float, int] | None = None
        for row in batch.candidates(keys.title_blocks):
            if row["title_derived"] or _conflict(row, entry):
                continue
            if not _same_numbers(norm, row["title_norm"]):
                continue
            score = fuzz.ratio(norm, row["title_norm"], score_cutoff=TITLE_SIMILARITY)
            if not score or (best is not None and score <= best[0]):
                continue
            if _abstracts_agree(keys.abstract_norm, normalize_title(row["abstract"])):
                best = (score, row["id"])
        if best:
            return _Match(best[1], "fuzzy-title")
    return _match_abstract(batch, entry, keys)


def _match_abstract(batch: _Batch, entry: Entry, keys: _Keys) -> _Match | None:
    for row in batch.by_abstract.get(keys.abstract_key, []):
        if _may_share_abstract(row, keys) and not _conflict(row, entry):
            return _Match(row["id"], "abstract")
    head = keys.abstract_norm[:ABSTRACT_COMPARE_CHARS]
    for row in batch.candidates(keys.abstract_blocks):
        if not _may_share_abstract(row, keys) or _conflict(row, entry):
            continue
        other = normalize_title(row["abstract"])[:ABSTRACT_COMPARE_CHARS]
        if fuzz.ratio(head, other) >= ABSTRACT_SIMILARITY:
            return _Match(row["id"], "abstract")
    return None


def _may_share_abstract(row: dict, keys: _Keys) -> bool:
    """A shared abstract makes one paper when either side is untitled, or when the titles
    differ only in spelling and punctuation; two unrelated titles with one abstract are
    left for a person to judge."""
    if keys.title_norm is None or row["title_derived"]:
        return True
    return _titles_related(keys.title_norm, row["title_norm"])


_WORD = re.compile(r"[^\W\d_]{3,}")


class _Vocabulary:
    """Surface words for "did you mean": each batch inserts its distinct words once
    (INSERT OR IGNORE), instead of a second full-text index written for every paper."""

    def __init__(self) -> None:
        self.pending: set[str] = set()

    def add(self, text: str) -> None:
        """Note the words of a paper."""
        self.pending.update(_WORD.findall(text.casefold()))

    def flush(self, db: Database) -> None:
        """Store the batch's words (inside the batch's transaction) and start afresh."""
        if self.pending:
            db.conn.executemany(
                "INSERT OR IGNORE INTO words (word) VALUES (?)", [(w,) for w in self.pending]
            )
        self.pending = set()


def _index(db: Database, paper_id: int, title: str, abstract: str, keys: set[str], new: bool):
    """Write the paper's blocking keys (replacing old ones on an update); the search index is
    written after the batch commits (storage.index)."""
    if not new:
        db.execute("DELETE FROM blocks WHERE paper_id = ?", [paper_id])
    db.conn.executemany(
        "INSERT OR IGNORE INTO blocks (key, paper_id) VALUES (?, ?)",
        [(key, paper_id) for key in keys],
    )


def _create(db: Database, batch: _Batch, entry: Entry, keys: _Keys, now: str) -> int:
    derived = not entry.title
    title = entry.title or derive_title(entry.abstract)
    title_norm = keys.title_norm or normalize_title(title)
    authors_count = entry.authors_count if entry.authors_count is not None else len(entry.authors)
    cursor = db.conn.execute(
        "INSERT INTO papers (arxiv_id, title, title_norm, title_derived, abstract, abstract_key,"
        " authors_count, authors, published, url, first_seen_at, updated_at, code_url,"
        " arxiv_version, listed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            entry.arxiv_id,
            title,
            title_norm,
            int(derived),
            entry.abstract,
            keys.abstract_key,
            authors_count or None,
            json.dumps(entry.authors) if entry.authors else None,
            entry.published,
            entry.url,
            now,
            now,
            entry.code_url or code_url_from_abstract(entry.abstract),
            entry.version,
            int(entry.is_listing),  # a replacement or a looked-up paper is not news
        ],
    )
    paper_id = int(cursor.lastrowid)
    index_authors(db, paper_id, entry.authors)
    blocks = keys.abstract_blocks | keys.title_blocks
    # An untitled paper's derived title is for display only: it is not indexed as a title.
    _index(db, paper_id, "" if derived else title, entry.abstract, blocks, new=True)
    batch.add(
        {
            "id": paper_id,
            "arxiv_id": entry.arxiv_id,
            "title_norm": title_norm,
            "title_derived": int(derived),
            "abstract": entry.abstract,
            "abstract_key": keys.abstract_key,
        },
        blocks,
    )
    return paper_id


def _merge(db: Database, batch: _Batch, paper_id: int, entry: Entry, now: str) -> None:
    """Fill what the stored paper lacks from a new sighting; a real title replaces a derived
    one, and an arXiv replacement brings its version's title and abstract."""
    row = next(db.query("SELECT * FROM papers WHERE id = ?", [paper_id]))
    updates: dict = {}
    if entry.arxiv_id and not row["arxiv_id"]:
        updates["arxiv_id"] = entry.arxiv_id
    if entry.title and row["title_derived"]:
        updates.update(title=entry.title, title_norm=normalize_title(entry.title), title_derived=0)
    newer = entry.version is not None and entry.version > (row["arxiv_version"] or 0)
    if newer:
        updates["arxiv_version"] = entry.version
    if newer and entry.is_revision:
        updates.update(_revised_text(row, entry))
    if entry.is_listing and not row["listed"]:
        updates["listed"] = 1  # listed at last: trending counts it from this sighting on
    authors_count = entry.authors_count or (len(entry.authors) if entry.authors else None)
    for column, value in (
        ("authors_count", authors_count),
        ("authors", json.dumps(entry.authors) if entry.authors else None),
        ("published", entry.published),
        ("url", entry.url),
        ("code_url", entry.code_url),
    ):
        if value is not None and row[column] is None:
            updates[column] = value
    if not updates:
        return
    updates["updated_at"] = now
    sets = ", ".join(f"{column} = ?" for column in updates)
    db.execute(f"UPDATE papers SET {sets} WHERE id = ?", [*updates.values(), paper_id])
    if "authors" in updates:  # the names became known with this sighting
        index_authors(db, paper_id, entry.authors)
    if updates.keys() & {"title", "abstract", "arxiv_id"}:
        row.update(updates)
        blocks = _abstract_blocks(normalize_title(row["abstract"]))
        if not row["title_derived"]:
            blocks |= _title_blocks(row["title_norm"])
        if updates.keys() & {"title", "abstract"}:
            _index(db, paper_id, row["title"], row["abstract"], blocks, new=False)
        batch.add(row, blocks)


def _revised_text(row: dict, entry: Entry) -> dict:
    """The title and abstract a newer arXiv version changed. An abstract that is only the
    start of the stored one (a truncated feed summary) does not replace it."""
    updates: dict = {}
    if entry.title and normalize_title(entry.title) != row["title_norm"]:
        updates.update(title=entry.title, title_norm=normalize_title(entry.title), title_derived=0)
    new, old = normalize_title(entry.abstract), normalize_title(row["abstract"])
    if new != old and not old.startswith(new):
        key = hashlib.sha1(new.encode()).hexdigest()
        updates.update(abstract=entry.abstract, abstract_key=key)
    return updates


def _source_id(db: Database, name: str, kind: str) -> int:
    return db["sources"].lookup({"name": name}, {"kind": kind})


def already_ingested(db: Database, sha256: str) -> bool:
    """True when an input with these exact bytes was completely ingested before."""
    return db["inputs"].count_where("sha256 = ? AND complete", [sha256]) > 0


def _open_input(db: Database, source_id: int, sha256: str, now: str, report: IngestReport) -> int:
    """The input's row: new, or the one an interrupted ingest of the same bytes left."""
    row = next(db.query("SELECT id FROM inputs WHERE sha256 = ?", [sha256]), None)
    if row:
        return row["id"]
    cursor = db.execute(
        "INSERT INTO inputs (source_id, sha256, ingested_at, parsed, skipped, skip_reasons,"
        " new_papers, merged, complete) VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0)",
        [source_id, sha256, now, report.parsed, report.skipped, json.dumps(report.skip_reasons)],
    )
    return int(cursor.lastrowid)


def _store_batch(
    db: Database,
    entries: list[Entry],
    source_id: int,
    input_id: int,
    now: str,
    report: IngestReport,
    vocabulary: _Vocabulary,
) -> list[int]:
    """Store a batch; returns the ids of the papers it touched (for the search index)."""
    pairs = [(entry, _keys(entry)) for entry in entries]
    batch = _Batch(db, pairs)
    sightings = []
    matched: list[str | None] = []
    for entry, keys in pairs:
        match = find_match(batch, entry, keys)
        report.revisions += entry.is_revision
        if match is None:
            paper_id = _create(db, batch, entry, keys, now)
            vocabulary.add(f"{entry.title or ''} {entry.abstract}")
            report.new_papers += 1
            report.new_paper_ids.append(paper_id)
        else:
            paper_id = match.paper_id
            _merge(db, batch, paper_id, entry, now)
        matched.append(match.how if match else None)
        listing = (
            "revision"
            if entry.is_revision
            else "lookup"
            if entry.looked_up
            else "undated"
            if entry.undated
            else "dated"
        )
        sightings.append(
            (
                paper_id,
                source_id,
                input_id,
                entry.listed_on,
                entry.upvotes,
                entry.comments,
                now,
                listing,
            )
        )
    for rule, sighting in zip(matched, sightings, strict=True):
        inserted = db.conn.execute(
            "INSERT OR IGNORE INTO sightings (paper_id, source_id, input_id, listed_on, upvotes,"
            " comments, seen_at, listing) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            sighting,
        ).rowcount
        if rule:
            if inserted:
                report.merged += 1
                report.merges_by_rule[rule] = report.merges_by_rule.get(rule, 0) + 1
            else:
                report.repeated += 1
    vocabulary.flush(db)
    return [sighting[0] for sighting in sightings]


def store_entries(
    db: Database,
    source: str,
    kind: str,
    sha256: str,
    entries: list[Entry],
    now: str,
    report: IngestReport,
) -> IngestReport:
    """Store one parsed input, BATCH entries per transaction.

    Every paper is written whole with its sighting and index rows; the input counts as
    ingested only once its last batch commits. Short transactions keep the write lock free
    for the bot between batches; an ingest killed midway is completed by running it again
    (what is already stored is recognised by dedup, and its sightings are not repeated).
    The search index takes each batch after its commit; what a crash leaves unindexed lies
    past the index's watermark and is indexed by the next writer.
    """
    with transaction(db):
        if already_ingested(db, sha256):
            report.already_ingested = True
            return report
        source_id = _source_id(db, source, kind)
        input_id = _open_input(db, source_id, sha256, now, report)
    vocabulary = _Vocabulary()
    index = search_index.open_for_ingest(db)
    try:
        for start in range(0, len(entries), BATCH):
            with transaction(db):
                touched = _store_batch(
                    db, entries[start : start + BATCH], source_id, input_id, now, report, vocabulary
                )
            if index:
                index.sync(touched)
    finally:
        if index:
            index.close()
    with transaction(db):
        db.execute(
            "UPDATE inputs SET new_papers = new_papers + ?, merged = merged + ?, complete = 1"
            " WHERE id = ?",
            [report.new_papers, report.merged, input_id],
        )
        db.execute(
            "UPDATE sources SET last_ok_at = ?, last_error = NULL WHERE id = ?", [now, source_id]
        )
    return report


def record_source_error(db: Database, source: str, kind: str, error: str, now: str) -> None:
    """Remember that a source failed, so `papers stats` and the worker can report it."""
    with transaction(db):
        source_id = _source_id(db, source, kind)
        db.execute(
            "UPDATE sources SET last_error = ?, last_error_at = ?, failures = failures + 1"
            " WHERE id = ?",
            [error, now, source_id],
        )


def source_validators(db: Database, name: str) -> dict:
    """The ETag and Last-Modified seen last time, for a conditional GET."""
    row = next(db.query("SELECT etag, last_modified FROM sources WHERE name = ?", [name]), None)
    return dict(row) if row else {"etag": None, "last_modified": None}


def save_validators(db: Database, name: str, kind: str, etag: str | None, modified: str | None):
    """Store the validators of a successful fetch."""
    with transaction(db):
        db["sources"].update(_source_id(db, name, kind), {"etag": etag, "last_modified": modified})


def newest_paper_id(db: Database) -> int:
    """The highest paper id (0 for an empty store): new papers have higher ids."""
    return next(db.query("SELECT COALESCE(MAX(id), 0) AS n FROM papers"))["n"]


def unlisted_ids(db: Database, after: int, newest: int) -> set[int]:
    """Papers with ids in (after, newest] known only from an arXiv replacement or a lookup
    for a pasted link: stored and searchable, but never news for keyword alerts."""
    rows = db.query(
        "SELECT id FROM papers WHERE id > ? AND id <= ? AND listed = 0", [after, newest]
    )
    return {row["id"] for row in rows}


def get_papers(db: Database, ids: list[int]) -> list[dict]:
    """Papers by id with their sighting aggregates, in the order of ids."""
    if not ids:
        return []
    marks = ",".join("?" for _ in ids)
    rows = db.query(
        f"""SELECT p.*, s.upvotes, s.sources, s.listings, s.last_listed
        FROM papers p JOIN (
            SELECT paper_id, MAX(upvotes) AS upvotes, COUNT(DISTINCT source_id) AS sources,
                   COUNT(*) AS listings,
                   MAX(CASE WHEN listing IN ('dated', 'undated') THEN listed_on END) AS last_listed
            FROM sightings WHERE paper_id IN ({marks}) GROUP BY paper_id
        ) s ON s.paper_id = p.id""",
        ids,
    )
    by_id = {row["id"]: public(row) for row in rows}
    return [by_id[i] for i in ids if i in by_id]


def by_arxiv_id(db: Database, arxiv_id: str) -> dict | None:
    """The stored paper with this arXiv id (version-less), with its aggregates, or None."""
    row = next(db.query("SELECT id FROM papers WHERE arxiv_id = ?", [arxiv_id]), None)
    found = get_papers(db, [row["id"]]) if row else []
    return found[0] if found else None


def public(row: dict) -> dict:
    """A paper row as the JSON shape the CLI and the bot share."""
    arxiv = row.get("arxiv_id")
    url = row.get("url") or (f"https://arxiv.org/abs/{arxiv}" if arxiv else None)
    return {
        "id": row["id"],
        "title": row["title"],
        "title_derived": bool(row.get("title_derived")),
        "abstract": row["abstract"],
        "url": url,
        "arxiv_id": arxiv,
        "authors_count": row.get("authors_count"),
        "authors": json.loads(row["authors"]) if row.get("authors") else [],
        "published": row.get("published"),
        "upvotes": row.get("upvotes"),
        "sources": row.get("sources") or 0,
        "listed_on": row.get("last_listed"),
        "code_url": row.get("code_url"),
    }


def stats(db: Database) -> dict:
    """Counts for `papers stats`: papers, sightings, inputs and the state of each source."""
    one = lambda sql: next(db.query(sql))["n"]  # noqa: E731
    return {
        "papers": one("SELECT COUNT(*) AS n FROM papers"),
        "untitled": one("SELECT COUNT(*) AS n FROM papers WHERE title_derived = 1"),
        "sightings": one("SELECT COUNT(*) AS n FROM sightings"),
        "inputs": one("SELECT COUNT(*) AS n FROM inputs"),
        "sources": [
            dict(row)
            for row in db.query(
                "SELECT name, kind, last_ok_at, last_error, last_error_at, failures FROM sources"
                " ORDER BY name"
            )
        ],
    }
