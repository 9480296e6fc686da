"""Storing entries as papers: dedup, sightings; the search index follows each batch."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rapidfuzz import fuzz
from sqlite_utils import Database

from storage import index as search_index
from storage import index_process
from storage.authors import author_rows
from storage.code_links import code_url_from_abstract
from storage.db import primary_code, transaction
from storage.errors import PapersError
from storage.models import Entry, IngestReport
from storage.text import derive_title, normalize_title, title_words, without_bidi

# Two titles are the same paper at this rapidfuzz ratio (0-100) on their normalized forms,
# if their numbers agree ("Part 1" vs "Part 2" never merge). Chosen so that punctuation,
# casing and one-word edits merge while distinct titles sharing a long prefix do not.
TITLE_SIMILARITY = 93
# Titles that fuzzy-match are the same paper only if their abstracts agree at this ratio:
# one changed word can turn a title into another paper's ("Explicit"/"Implicit Reasoning"),
# so the abstract decides. Distinct papers on one topic score at most ~58 on the seeds (the
# median of unrelated pairs is 44); a retyped or lightly revised abstract scores 80-100.
ABSTRACT_AGREE = 75
# An identical title of fewer words than this is the same paper only if the abstracts agree
# too: generic titles ("Introduction", "Survey", "Large Language Models") are shared.
SHORT_TITLE_WORDS = 4
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
# Entries per write transaction. Each transaction rewrites the pages of the randomly keyed
# dedup indexes it touches, so few large transactions write far less than many small ones;
# the write lock is held only while the batch's rows are written (its keys are computed
# before), measured at ~1-2 s for 20,000 entries into a 1M-paper store (bench/RESULTS.md).
BATCH = 20_000
# SQLite page cache of an ingest (KiB). Measured on the next-day file into 1M papers: 200 MB
# wrote the same bytes as 20 MB (1,110 vs 1,109 MB) and raised peak memory by 183 MB.
INGEST_CACHE_KIB = 20_000
# A listed paper's names that come from no listing (a pasted link's arXiv entry, a
# back-catalogue feed item, an arXiv replacement) are news for its authors' followers only
# while its newest listing is this recent: a link pasted months after a dump listed the
# paper without names told them "New paper by …" (feeds call a week-old item the back
# catalogue too).
AUTHOR_NEWS_DAYS = 7
WORD_TEXTS = 500  # texts whose words are split out at once (see _words)
_DIGITS = re.compile(r"\d+")
_WORD = re.compile(r"[^\W\d_]{3,}")
_ASCII_LETTERS = bytes(b + 32 if 65 <= b <= 90 else b if 97 <= b <= 122 else 32 for b in range(256))


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
    title_blocks: set[int]
    abstract_blocks: set[int]


def _keys(entry: Entry) -> _Keys:
    # Each text is normalised once; its blocking keys are taken from the same words.
    abstract_words = title_words(entry.abstract)
    abstract_norm = " ".join(abstract_words)
    title = title_words(entry.title) if entry.title else []
    return _Keys(
        title_norm=" ".join(title) if entry.title else None,  # "" for a title of punctuation
        abstract_norm=abstract_norm,
        abstract_key=hashlib.sha1(abstract_norm.encode()).hexdigest(),
        title_blocks=_title_word_blocks(title) if title else set(),
        abstract_blocks=_abstract_word_blocks(abstract_words),
    )


def content_hash(data: bytes) -> str:
    """The identity of an input: the same bytes are ingested once."""
    return hashlib.sha256(data).hexdigest()


def block_key(text: str) -> int:
    """A blocking key as a signed 64-bit integer: the blocks index stays small (a quarter of
    the text keys' size), so a batch rewrites fewer of its pages. A hash collision only adds
    a candidate, which the fuzzy comparison then rejects."""
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _title_blocks(norm: str) -> set[int]:
    return _title_word_blocks(norm.split())


def _title_word_blocks(words: list[str]) -> set[int]:
    return {
        block_key("tp:" + " ".join(words[:BLOCK_WORDS])),
        block_key("ts:" + " ".join(words[-BLOCK_WORDS:])),
    }


def _abstract_blocks(abstract_norm: str) -> set[int]:
    return _abstract_word_blocks(abstract_norm.split())


def _abstract_word_blocks(words: list[str]) -> set[int]:
    n = ABSTRACT_BLOCK_WORDS
    return {block_key("ap:" + " ".join(words[:n])), block_key("as:" + " ".join(words[-n:]))}


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


def _chunks(values: list):
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


class _Batch:
    """The stored papers a batch of entries could match, fetched in four queries for the
    whole batch instead of five per entry, plus the papers the batch itself creates."""

    def __init__(self, db: Database, pairs: list[tuple[Entry, _Keys]]) -> None:
        self.by_arxiv: dict[str, dict] = {}
        self.by_title: dict[str, list[dict]] = {}
        self.by_abstract: dict[str, list[dict]] = {}
        self.by_block: dict[int, list[dict]] = {}
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

    def add(self, row: dict, blocks: set[int]) -> None:
        """Make a paper created (or renamed) in this batch visible to the entries after it."""
        if row["arxiv_id"]:
            self.by_arxiv[row["arxiv_id"]] = row
        if not row["title_derived"]:
            self.by_title.setdefault(row["title_norm"], []).append(row)
        self.by_abstract.setdefault(row["abstract_key"], []).append(row)
        for block in blocks:
            self.by_block.setdefault(block, []).append(row)

    def candidates(self, blocks: set[int]) -> list[dict]:
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
        # A short title ("Introduction", "A Survey") names many papers: only the abstract
        # can say two of them are one.
        short = norm.count(" ") < SHORT_TITLE_WORDS - 1
        for row in batch.by_title.get(norm, []):
            if row["title_derived"] or _conflict(row, entry):
                continue
            if short and not _abstracts_agree(keys.abstract_norm, normalize_title(row["abstract"])):
                continue
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


_PAPER_COLUMNS = (
    "id",
    "arxiv_id",
    "title",
    "title_norm",
    "title_derived",
    "abstract",
    "abstract_key",
    "authors_count",
    "authors",
    "published",
    "url",
    "first_seen_at",
    "updated_at",
    "code_url",
    "arxiv_version",
    "listed",
)


@dataclass
class _Writes:
    """A batch's rows, written together at its end with one statement per table (the new
    papers in id order, the blocking keys in key order): fewer, more local page writes."""

    next_id: int
    papers: dict[int, dict] = field(default_factory=dict)  # new papers, by their id
    changed: dict[int, dict] = field(default_factory=dict)  # stored papers, as updated
    updates: dict[int, dict] = field(default_factory=dict)  # their changed columns
    blocks: dict[int, set[int]] = field(default_factory=dict)
    replaced: set[int] = field(default_factory=set)  # stored papers whose blocks change
    authors: list[tuple] = field(default_factory=list)
    # Names a listed paper got from no listing (a lookup, the back catalogue): no news.
    quiet_authors: list[tuple] = field(default_factory=list)
    sightings: list[tuple] = field(default_factory=list)
    new_texts: list[str] = field(default_factory=list)  # of the new papers, for their words
    words: set[str] = field(default_factory=set)  # for "did you mean"
    touched: list[int] = field(default_factory=list)  # every paper a sighting names
    late: list[int] = field(default_factory=list)  # stored papers a listing named at last

    def flush(self, db: Database) -> None:
        """Write what the batch collected (inside its transaction)."""
        for paper_id, updates in sorted(self.updates.items()):
            sets = ", ".join(f"{column} = ?" for column in updates)
            db.execute(f"UPDATE papers SET {sets} WHERE id = ?", [*updates.values(), paper_id])
        if self.papers:
            marks = ", ".join("?" * len(_PAPER_COLUMNS))
            db.conn.executemany(
                f"INSERT INTO papers ({', '.join(_PAPER_COLUMNS)}) VALUES ({marks})",
                [[row[c] for c in _PAPER_COLUMNS] for row in self.papers.values()],
            )
        for chunk in _chunks(sorted(self.replaced)):
            marks = ",".join("?" * len(chunk))
            db.execute(f"DELETE FROM blocks WHERE paper_id IN ({marks})", chunk)
        db.conn.executemany(
            "INSERT OR IGNORE INTO blocks (key, paper_id) VALUES (?, ?)",
            sorted((key, paper_id) for paper_id, keys in self.blocks.items() for key in keys),
        )
        db.conn.executemany(
            "INSERT OR IGNORE INTO paper_authors (paper_id, position, name, surname)"
            " VALUES (?, ?, ?, ?)",
            self.authors,
        )
        db.conn.executemany(
            "INSERT OR IGNORE INTO paper_authors (paper_id, position, name, surname, news)"
            " VALUES (?, ?, ?, ?, 0)",
            self.quiet_authors,
        )
        db.conn.executemany(
            "INSERT INTO sightings (paper_id, source_id, input_id, listed_on, upvotes,"
            " comments, seen_at, listing) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            self.sightings,
        )
        db.conn.executemany(
            "INSERT INTO late_listings (paper_id) VALUES (?)", [(i,) for i in self.late]
        )
        # Surface words for "did you mean", each inserted once (no second full-text index).
        db.conn.executemany(
            "INSERT OR IGNORE INTO words (word) VALUES (?)", [(w,) for w in sorted(self.words)]
        )

    def prepare(self) -> None:
        """The new papers' distinct words, found in one pass before the write lock."""
        self.words = _words(self.new_texts)
        self.new_texts = []


def _words(texts: list[str]) -> set[str]:
    """The distinct matches of _WORD in the case-folded texts."""
    words: set[str] = set()
    # A few hundred texts at a time: the list of every word of a 20,000-paper batch at once
    # held ~3 million strings, ~200 MB at the peak of every batch (measured).
    for start in range(0, len(texts), WORD_TEXTS):
        words |= _some_words(texts[start : start + WORD_TEXTS])
    return words


def _some_words(texts: list[str]) -> set[str]:
    # ASCII text (nearly all) is split in C: every non-letter byte becomes a space and upper
    # case lower, so _WORD's matches are the runs of 3 or more letters; each distinct run is
    # decoded once. The rest keeps the regex, whose Unicode letters and casefold differ.
    plain = " ".join(t for t in texts if t.isascii()).encode().translate(_ASCII_LETTERS)
    words = {run.decode() for run in set(plain.split()) if len(run) >= 3}
    rest = [t for t in texts if not t.isascii()]
    if rest:
        words.update(_WORD.findall(" ".join(rest).casefold()))
    return words


def _create(batch: _Batch, writes: _Writes, entry: Entry, keys: _Keys, now: str) -> int:
    derived = not entry.title
    title = entry.title or derive_title(entry.abstract)
    title_norm = keys.title_norm or normalize_title(title)
    authors_count = entry.authors_count if entry.authors_count is not None else len(entry.authors)
    paper_id = writes.next_id
    writes.next_id += 1
    row = {
        "id": paper_id,
        "arxiv_id": entry.arxiv_id,
        "title": title,
        "title_norm": title_norm,
        "title_derived": int(derived),
        "abstract": entry.abstract,
        "abstract_key": keys.abstract_key,
        "authors_count": authors_count or None,
        "authors": json.dumps(entry.authors) if entry.authors else None,
        "published": entry.published,
        "url": entry.url,
        "first_seen_at": now,
        "updated_at": now,
        "code_url": entry.code_url or code_url_from_abstract(entry.abstract),
        "arxiv_version": entry.version,
        "listed": int(entry.is_listing),  # a replacement or a looked-up paper is not news
    }
    writes.papers[paper_id] = row
    writes.authors += author_rows(paper_id, entry.authors)
    # An untitled paper's derived title is for display only: it is not indexed as a title.
    blocks = keys.abstract_blocks | keys.title_blocks
    writes.blocks[paper_id] = blocks
    batch.add(dict(row), blocks)
    return paper_id


def _listed_lately(db: Database, paper_id: int, now: str) -> bool:
    """Whether a listing named the paper in the AUTHOR_NEWS_DAYS before `now`."""
    since = (datetime.fromisoformat(now) - timedelta(days=AUTHOR_NEWS_DAYS)).date().isoformat()
    row = db.execute(
        "SELECT 1 FROM sightings WHERE paper_id = ? AND listing IN ('dated', 'undated')"
        " AND listed_on >= ? LIMIT 1",
        [paper_id, since],
    ).fetchone()
    return row is not None


def _merge(
    db: Database, batch: _Batch, writes: _Writes, paper_id: int, entry: Entry, now: str
) -> None:
    """Fill what the stored paper lacks from a new sighting; a real title replaces a derived
    one, and an arXiv replacement brings its version's title and abstract."""
    # A paper created or changed earlier in this batch is read from the batch's own rows.
    pending = writes.papers.get(paper_id) or writes.changed.get(paper_id)
    row = (
        dict(pending)
        if pending
        else next(db.query("SELECT * FROM papers WHERE id = ?", [paper_id]))
    )
    updates: dict = {}
    if entry.arxiv_id and not row["arxiv_id"]:
        updates["arxiv_id"] = entry.arxiv_id
    if entry.title and row["title_derived"]:
        updates.update(title=entry.title, title_norm=normalize_title(entry.title), title_derived=0)
    # A version is arXiv's: another source's item id may end like one ("…/adapters-1v2").
    newer = bool(entry.arxiv_id) and (entry.version or 0) > (row["arxiv_version"] or 0)
    if newer:
        updates["arxiv_version"] = entry.version
    # A replacement, or any arXiv entry of a second or later version (an API query lists
    # the paper as it is now), holds that version's text; taking only its number left the
    # old text under the new version, and the replacement's own announcement then changed
    # nothing.
    if newer and (entry.is_revision or entry.version > 1):
        updates.update(_revised_text(row, entry))
    if entry.is_listing and not row["listed"]:
        updates["listed"] = 1  # listed at last: trending counts it from this sighting on
    authors_count = entry.authors_count or (len(entry.authors) if entry.authors else None)
    for column, value in (
        ("authors_count", authors_count),
        ("authors", json.dumps(entry.authors) if entry.authors else None),
        ("published", entry.published),
        ("url", entry.url),
        # A later sighting's abstract (a replacement's, a full one after a cut summary) may
        # be the first to name the repository, as a new paper's does.
        ("code_url", entry.code_url or code_url_from_abstract(entry.abstract)),
    ):
        if value is not None and row[column] is None:
            updates[column] = value
    if not updates:
        return
    updates["updated_at"] = now
    if paper_id in writes.papers:
        writes.papers[paper_id].update(updates)
    else:
        writes.changed.setdefault(paper_id, row).update(updates)
        writes.updates.setdefault(paper_id, {}).update(updates)
        if "listed" in updates:  # news now, behind the alerts' bookmarks (late_listings)
            writes.late.append(paper_id)
    if "authors" in updates:  # the names became known with this sighting
        # A listed paper's names from a lookup, the back catalogue or a replacement are no
        # news for its authors' followers unless it was listed lately (an unlisted paper's
        # are taken when a listing names it).
        quiet = (
            row["listed"]
            and (entry.looked_up or entry.back_catalogue or entry.is_revision)
            and not _listed_lately(db, paper_id, now)
        )
        (writes.quiet_authors if quiet else writes.authors).extend(
            author_rows(paper_id, entry.authors)
        )
    if updates.keys() & {"title", "abstract", "arxiv_id"}:
        row.update(updates)
        blocks = _abstract_blocks(normalize_title(row["abstract"]))
        if not row["title_derived"]:
            blocks |= _title_blocks(row["title_norm"])
        if updates.keys() & {"title", "abstract"}:
            # The paper's blocking keys are replaced by the new title's and abstract's.
            if paper_id not in writes.papers:
                writes.replaced.add(paper_id)
            writes.blocks[paper_id] = blocks
        batch.add(dict(row), blocks)


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


def _match_batch(
    db: Database,
    pairs: list[tuple[Entry, _Keys]],
    source_id: int,
    input_id: int,
    now: str,
    report: IngestReport,
) -> _Writes:
    """Decide what a batch stores (reads only): new papers, merges, sightings, words."""
    batch = _Batch(db, pairs)
    # Ids follow the snapshot's newest paper: the batch commits only if no other process
    # wrote since (see _store_batch), so they are the ids SQLite would have given.
    writes = _Writes(next_id=newest_paper_id(db) + 1)
    # Sightings of this input already stored (one query per batch): by this run (seen_at is
    # its `now`), or by a killed or concurrent earlier run, whose entries are no repeats.
    seen: set[int] = set()
    earlier: set[int] = set()
    for paper_id, mine in db.conn.execute(
        "SELECT paper_id, seen_at = ? FROM sightings WHERE input_id = ?", [now, input_id]
    ):
        seen.add(paper_id)
        if not mine:
            earlier.add(paper_id)
    for entry, keys in pairs:
        match = find_match(batch, entry, keys)
        report.revisions += entry.is_revision
        if match is None:
            paper_id = _create(batch, writes, entry, keys, now)
            writes.new_texts.append(f"{entry.title or ''} {entry.abstract}")
            report.new_papers += 1
        else:
            paper_id = match.paper_id
            _merge(db, batch, writes, paper_id, entry, now)
        writes.touched.append(paper_id)
        if paper_id in seen:  # one sighting per paper and input
            if paper_id in earlier:
                report.resumed += 1
            elif match:
                report.repeated += 1
            continue
        seen.add(paper_id)
        if match:
            report.merged += 1
            report.merges_by_rule[match.how] = report.merges_by_rule.get(match.how, 0) + 1
        listing = (
            "revision"
            if entry.is_revision
            else "lookup"
            if entry.looked_up
            else "back-catalogue"
            if entry.back_catalogue
            else "undated"
            if entry.undated
            else "dated"
        )
        writes.sightings.append(
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
    writes.prepare()
    return writes


def _counts(report: IngestReport) -> dict:
    return {
        "new_papers": report.new_papers,
        "merged": report.merged,
        "repeated": report.repeated,
        "resumed": report.resumed,
        "revisions": report.revisions,
        "merges_by_rule": dict(report.merges_by_rule),
    }


def _busy(exc: sqlite3.OperationalError) -> bool:
    return primary_code(exc) == sqlite3.SQLITE_BUSY


def _store_batch(
    db: Database,
    pairs: list[tuple[Entry, _Keys]],
    source_id: int,
    input_id: int,
    now: str,
    report: IngestReport,
) -> list[int]:
    """Store a batch; returns the ids of the papers it touched (for the search index).

    The batch is matched in a read snapshot (WAL readers take no lock) and only its writes
    hold the write lock, so the bot waits for the writes alone. If another process wrote
    since the snapshot began, SQLite refuses to upgrade it (SQLITE_BUSY): the batch is then
    matched again under the write lock, so dedup always sees every committed paper."""
    if db.conn.in_transaction:  # part of the caller's transaction
        with transaction(db):
            writes = _match_batch(db, pairs, source_id, input_id, now, report)
            writes.flush(db)
        return writes.touched
    saved = _counts(report)
    db.conn.execute("BEGIN")  # deferred: a snapshot until the first write
    try:
        writes = _match_batch(db, pairs, source_id, input_id, now, report)
        _write_batch(db, writes, report)
        return writes.touched
    except sqlite3.OperationalError as exc:
        db.conn.rollback()
        if not _busy(exc):
            raise
    except BaseException:
        db.conn.rollback()
        raise
    for name, value in saved.items():
        setattr(report, name, value)
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        writes = _match_batch(db, pairs, source_id, input_id, now, report)
        _write_batch(db, writes, report)
    except BaseException:
        db.conn.rollback()
        raise
    return writes.touched


def _write_batch(db: Database, writes: _Writes, report: IngestReport) -> None:
    """Write and commit what the batch decided; notes how long the write lock was held."""
    began, cpu = time.perf_counter(), time.thread_time()
    writes.flush(db)
    db.conn.execute("COMMIT")
    report.longest_write_s = max(report.longest_write_s, time.perf_counter() - began)
    report.longest_write_cpu_s = max(report.longest_write_cpu_s, time.thread_time() - cpu)


def store_entries(
    db: Database,
    source: str,
    kind: str,
    sha256: str,
    entries: list[Entry],
    now: str,
    report: IngestReport,
    batch: int = BATCH,
) -> IngestReport:
    """Store one parsed input, `batch` entries per write transaction.

    Every paper is written whole with its sighting and index rows; the input counts as
    ingested only once its last batch commits. An ingest killed midway is completed by
    running it again (what is already stored is recognised by dedup, and its sightings are
    not repeated). Each batch's dedup keys are computed and the batch matched before it takes
    the write lock (see _store_batch), so the lock is held only for the batch's writes.
    The search index takes each batch after its commit; what a crash leaves unindexed
    lies past the index's watermark and is indexed by the next writer.
    """
    with transaction(db):
        if already_ingested(db, sha256):
            report.already_ingested = True
            return report
        source_id = _source_id(db, source, kind)
        input_id = _open_input(db, source_id, sha256, now, report)
    # A large input is indexed by a process of its own, beside this one's dedup and writes.
    index = index_process.open_for_ingest(db, len(entries)) or search_index.open_for_ingest(db)
    cache = db.execute("PRAGMA cache_size").fetchone()[0]
    db.execute(f"PRAGMA cache_size = -{INGEST_CACHE_KIB}")
    try:
        for start in range(0, len(entries), batch):
            # Keys are computed here, batch by batch, so only one batch's are ever held.
            # A process pool for them was measured and dropped: on a 55k-entry dump its
            # pickling cost the parent 1.1-1.6 s of CPU to save 1.6-2.5 s of its work and
            # doubled the wall time on a shared 2-core machine.
            pairs = [(entry, _keys(entry)) for entry in entries[start : start + batch]]
            touched = _store_batch(db, pairs, source_id, input_id, now, report)
            if index:
                index.sync(touched)
    finally:
        db.execute(f"PRAGMA cache_size = {cache}")
        if isinstance(index, index_process.IndexProcess):
            report.index_peak_mb = index.close().get("peak_kb", 0) / 1024
        elif index:
            index.close()
    with transaction(db):
        db.execute(
            "UPDATE inputs SET new_papers = new_papers + ?, merged = merged + ?, complete = 1"
            " WHERE id = ?",
            [report.new_papers, report.merged, input_id],
        )
        _mark_source_ok(db, source_id, now)
    _catch_up_index(db)
    return report


def _catch_up_index(db: Database) -> None:
    """Index what this ingest stored and could not index (another process held the index
    when it began, and has let go since; or its index process died): those papers waited,
    unsearchable, for the next ingest or worker start."""
    if db.conn.in_transaction:  # a caller's: what it stored may yet be rolled back
        return
    try:
        behind = search_index.papers_behind(db)
    except PapersError:  # no index for this database (in memory)
        return
    if not behind or search_index.held_elsewhere(db):
        # Caught up; unusable (missing, a newer version's: the next start's); or still held,
        # and then indexed by its holder or the next writer (it said so at the start).
        return
    # A large backlog in a process of its own, as a large input is (an index writer here
    # held the parsed input's memory and the writer's at once: 502 against 326 MB, 100k).
    child = index_process.open_for_ingest(db, behind)
    if child is not None:
        child.close()
    else:
        search_index.ensure(db)  # at once, or (held still) by whoever holds it


def _mark_source_ok(db: Database, source_id: int, now: str) -> None:
    # Inside the caller's transaction: a source read fine forgets its last failure.
    db.execute(
        "UPDATE sources SET last_ok_at = ?, last_error = NULL, last_error_version = NULL"
        " WHERE id = ?",
        [now, source_id],
    )


def record_source_error(
    db: Database, source: str, kind: str, error: str, now: str, version: str | None = None
) -> None:
    """Remember that a source failed (on a `version` of it: the content's sha256 when it
    was read, "stat:<mtime_ns>:<size>" when it could not be), so `papers stats` and the
    worker can report it."""
    with transaction(db):
        source_id = _source_id(db, source, kind)
        db.execute(
            "UPDATE sources SET last_error = ?, last_error_at = ?, last_error_version = ?,"
            " failures = failures + 1 WHERE id = ?",
            [error, now, version, source_id],
        )


def failed_on(db: Database, source: str, version: str) -> str | None:
    """The error this source last failed with, if it failed on this version of it (the
    sha256 of exactly these bytes, or the "stat:..." of a file that could not be read)."""
    row = next(
        db.query(
            "SELECT last_error FROM sources WHERE name = ? AND last_error_version = ?",
            [source, version],
        ),
        None,
    )
    return row["last_error"] if row else None


def clear_source_error(db: Database, source: str, now: str) -> None:
    """A failing source now reads as content already ingested: it is fine again."""
    failing = "SELECT id FROM sources WHERE name = ? AND last_error IS NOT NULL"
    row = next(db.query(failing, [source]), None)
    if row is None:  # the common case writes nothing
        return
    with transaction(db):
        _mark_source_ok(db, row["id"], now)


def failing_sources(db: Database) -> list[str]:
    """The names of the sources whose last read failed."""
    rows = db.query("SELECT name FROM sources WHERE last_error IS NOT NULL")
    return [row["name"] for row in rows]


def forget_failure(db: Database, source: str) -> None:
    """A failing source that is gone (a deleted inbox file) fails no more: its row goes,
    or, when papers came from it before, only its error (its history stays)."""
    with transaction(db):
        row = next(db.query("SELECT id FROM sources WHERE name = ?", [source]), None)
        if row is None:
            return
        # Every sighting comes with an input of its source: inputs (one a file read, a small
        # table) say whether papers came from it, without scanning the sightings.
        used = "SELECT 1 FROM inputs WHERE source_id = ? LIMIT 1"
        if next(db.query(used, [row["id"]]), None) is None:
            db.execute("DELETE FROM sources WHERE id = ?", [row["id"]])
        else:
            db.execute(
                "UPDATE sources SET last_error = NULL, last_error_version = NULL WHERE id = ?",
                [row["id"]],
            )


def last_error(db: Database, source: str) -> str | None:
    """The error a source failed with last, or None when it is fine or unknown."""
    row = next(db.query("SELECT last_error FROM sources WHERE name = ?", [source]), None)
    return row["last_error"] if row else None


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


def newest_late_listing(db: Database) -> int:
    """The newest late listing's number (0 for none): a stored paper that a listing named
    only after it was stored unlisted (looked up for a pasted link, or a replacement)."""
    return db.execute("SELECT COALESCE(MAX(seq), 0) FROM late_listings").fetchone()[0]


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
    authors = json.loads(row["authors"]) if row.get("authors") else []
    # Direction overrides stored before ingest dropped them: shown, they turned our text
    # after them (a date, the upvotes) right to left.
    return {
        "id": row["id"],
        "title": without_bidi(row["title"]),
        "title_derived": bool(row.get("title_derived")),
        "abstract": without_bidi(row["abstract"]),
        "url": url,
        "arxiv_id": arxiv,
        "authors_count": row.get("authors_count"),
        "authors": [without_bidi(name) for name in authors],
        "published": row.get("published"),
        "upvotes": row.get("upvotes"),
        "sources": row.get("sources") or 0,
        "listed_on": row.get("last_listed"),
        "code_url": row.get("code_url"),
    }


def stats(db: Database, feeds: Collection[str] | None = None) -> dict:
    """Counts for `papers stats`: papers, sightings, inputs and the state of each source.

    With the configured `feeds`, each URL source says whether it is one of them
    (`configured`; None for files, and for all when no feed is configured: a URL ingested by
    hand, or a shell without the worker's environment): a feed removed is fetched no more."""
    one = lambda sql: next(db.query(sql))["n"]  # noqa: E731
    # `interrupted`: the source's newest input was stopped before its last batch (Ctrl-C,
    # a kill): the same ingest run again completes it.
    rows = db.query(
        "SELECT name, kind, last_ok_at, last_error, last_error_at, failures,"
        " COALESCE((SELECT NOT i.complete FROM inputs i WHERE i.source_id = sources.id"
        " ORDER BY i.id DESC LIMIT 1), 0) AS interrupted FROM sources ORDER BY name"
    )
    return {
        "papers": one("SELECT COUNT(*) AS n FROM papers"),
        "untitled": one("SELECT COUNT(*) AS n FROM papers WHERE title_derived = 1"),
        "sightings": one("SELECT COUNT(*) AS n FROM sightings"),
        "inputs": one("SELECT COUNT(*) AS n FROM inputs"),
        "sources": [
            dict(
                row,
                interrupted=bool(row["interrupted"]),
                configured=_configured(row["name"], feeds),
            )
            for row in rows
        ],
    }


def _configured(name: str, feeds: Collection[str] | None) -> bool | None:
    # Named as the feed URL it was fetched from (ingest_target keeps the URL as given).
    if not feeds or not name[:8].lower().startswith(("http://", "https://")):
        return None
    return name in feeds
