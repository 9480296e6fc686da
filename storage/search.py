"""Full-text search through FTS5 and bm25, with the query syntax people expect."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from sqlite_utils import Database

from storage.errors import QueryError
from storage.papers import get_papers, newest_paper_id
from storage.text import normalize_query

MAX_QUERY_CHARS = 256
MAX_TERMS = 16
HIGHLIGHT = ("\x02", "\x03")  # snippet markers, turned into bold by the renderers
_TOKENS = re.compile(r'-?"[^"]*"?|\S+')
_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*\*?")
SUGGEST_CUTOFF = 70
# Newest papers ranked first in windows of this many ids (see _ranked).
WINDOW = 10_000
# Matches counted for "N papers match"; more shows as "1000+".
MAX_COUNT = 1000


@dataclass
class Query:
    """A parsed user query: the FTS5 expression and the plain words (for suggestions)."""

    expression: str
    words: list[str] = field(default_factory=list)


@dataclass
class SearchResult:
    """One page of results, the total, and suggestions when nothing matched."""

    query: str
    papers: list[dict]
    total: int
    offset: int
    limit: int
    suggestions: list[str] = field(default_factory=list)
    total_capped: bool = False


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _term(raw: str) -> tuple[str, str | None] | None:
    """One token as an FTS5 term, and the plain word it stands for (if any)."""
    if raw.startswith('"'):
        words = _WORD.findall(raw.replace("*", " "))
        phrase = " ".join(w.replace("-", " ") for w in words)
        return (_quote(phrase), None) if phrase else None
    match = _WORD.search(raw)
    if not match:
        return None
    word = match.group(0)
    if word.endswith("*"):
        stem = word[:-1].replace("-", "")
        return (_quote(stem) + "*", None) if stem else None
    # "pre-training" is indexed (in the extra column) as "pretraining" too.
    return _quote(word.replace("-", "")), word.replace("-", "").lower()


def parse_query(text: str, max_chars: int = MAX_QUERY_CHARS) -> Query:
    """Turn a user query into a safe FTS5 expression; raises QueryError with a friendly message."""
    text = normalize_query(text)
    if not text:
        raise QueryError(
            'Type a few words to search for, for example `lora` or `"diffusion model"`.'
        )
    if len(text) > max_chars:
        raise QueryError(f"That query is {len(text)} characters long; keep it under {max_chars}.")
    groups: list[list[str]] = []
    excludes: list[str] = []
    words: list[str] = []
    join_next = negate_next = False
    for raw in _TOKENS.findall(text)[: MAX_TERMS * 2]:
        if raw in ("OR", "|"):
            join_next = bool(groups)
            continue
        if raw in ("AND", "+"):
            continue
        if raw == "NOT":
            negate_next = True
            continue
        negate = negate_next or (raw.startswith("-") and len(raw) > 1)
        made = _term(raw[1:] if raw.startswith("-") else raw)
        negate_next = False
        if made is None:
            continue
        term, word = made
        if negate:
            excludes.append(term)
        elif join_next:
            groups[-1].append(term)
        else:
            groups.append([term])
        if word and not negate:
            words.append(word)
        join_next = False
    if not groups:
        if excludes:
            raise QueryError("Add a word to look for: `-word` only leaves papers out.")
        raise QueryError(
            'Type a few words to search for, for example `lora` or `"diffusion model"`.'
        )
    expression = " AND ".join("(" + " OR ".join(group) + ")" for group in groups)
    for term in excludes:
        expression += f" NOT {term}"
    return Query(expression, words)


def _ranked(db: Database, expression: str, need: int) -> list[dict]:
    """The `need` best hits, newest window of papers first.

    bm25 ordering scores every match, which costs ~0.5 s for a word in most of a million
    papers. So the newest WINDOW papers are ranked first, and only if they hold fewer
    than `need` hits is the next (twice as wide, older) window searched, and so on: a
    common word is answered from the newest papers, a rare one after a few cheap probes.
    Below WINDOW papers this is exactly a global bm25 ranking.
    """
    hits: list[dict] = []
    upper, width = newest_paper_id(db) + 1, WINDOW
    while len(hits) < need and upper > 0:
        lower = max(upper - width, 0)
        hits += db.query(
            "SELECT rowid AS id, -rank AS score FROM papers_fts WHERE papers_fts MATCH ?"
            " AND rowid >= ? AND rowid < ? ORDER BY rank LIMIT ?",
            [expression, lower, upper, need - len(hits)],
        )
        upper, width = lower, width * 2
    return hits


def _snippets(db: Database, expression: str, ids: list[int]) -> dict[int, str]:
    """Snippets for the shown hits only (computing them for every match would be slow)."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = db.query(
        "SELECT rowid AS id, snippet(papers_fts, 1, ?, ?, '…', 28) AS snippet FROM papers_fts"
        f" WHERE papers_fts MATCH ? AND rowid IN ({marks})",
        [*HIGHLIGHT, expression, *ids],
    )
    return {row["id"]: row["snippet"] for row in rows}


def search(
    db: Database, text: str, limit: int = 10, offset: int = 0, max_chars: int = MAX_QUERY_CHARS
) -> SearchResult:
    """The best matches for a query, best first: all words must match, titles weigh most.

    `total` counts at most MAX_COUNT matches (`total_capped` says so): counting every
    match of a common word costs as much as ranking them all."""
    query = parse_query(text, max_chars)
    try:
        hits = _ranked(db, query.expression, offset + limit)[offset:]
        total = next(
            db.query(
                "SELECT COUNT(*) AS n FROM (SELECT 1 FROM papers_fts WHERE papers_fts MATCH ?"
                " LIMIT ?)",
                [query.expression, MAX_COUNT + 1],
            )
        )["n"]
        snippets = _snippets(db, query.expression, [hit["id"] for hit in hits])
    except sqlite3.OperationalError as exc:  # the parser should make this impossible
        raise QueryError("That query could not be understood; try plain words.") from exc
    papers = get_papers(db, [hit["id"] for hit in hits])
    by_id = {hit["id"]: hit for hit in hits}
    for paper in papers:
        paper["score"] = round(by_id[paper["id"]]["score"], 3)
        paper["snippet"] = snippets.get(paper["id"], "")
    suggestions = [] if total else suggest(db, query.words)
    capped = total > MAX_COUNT
    return SearchResult(text, papers, min(total, MAX_COUNT), offset, limit, suggestions, capped)


def _known(db: Database, word: str) -> bool:
    return next(db.query("SELECT 1 AS x FROM words WHERE word = ?", [word]), None) is not None


def _docs(db: Database, term: str) -> int:
    row = next(db.query("SELECT doc FROM papers_vocab WHERE term = ?", [term]), None)
    return row["doc"] if row else 0


def suggest(db: Database, words: list[str]) -> list[str]:
    """ "Did you mean": the query with each unknown word replaced by the closest known word."""
    if not words:
        return []
    replaced, changed = [], False
    for word in words:
        if len(word) < 3 or not word.isalpha() or _known(db, word):
            replaced.append(word)
            continue
        # Candidates share the first letter and a similar length: a bounded set at any size.
        rows = db.query(
            "SELECT word FROM words WHERE word >= ? AND word < ? AND length(word) BETWEEN ? AND ?",
            [word[0], word[0] + "\U0010ffff", len(word) - 2, len(word) + 2],
        )
        candidates = [row["word"] for row in rows]
        best = process.extract(
            word, candidates, scorer=fuzz.ratio, score_cutoff=SUGGEST_CUTOFF, limit=10
        )
        if best:
            top = max(best, key=lambda m: (m[1], _docs(db, m[0])))[0]
            replaced.append(top)
            changed = True
        else:
            replaced.append(word)
    return [" ".join(replaced)] if changed else []


def matching_since(db: Database, text: str, after_id: int, limit: int = 200) -> list[int]:
    """Ids of papers newer than after_id that match a query (for keyword alerts)."""
    query = parse_query(text, max_chars=10_000)
    rows = db.query(
        "SELECT rowid AS id FROM papers_fts WHERE papers_fts MATCH ? AND rowid > ?"
        " ORDER BY rowid LIMIT ?",
        [query.expression, after_id, limit],
    )
    return [row["id"] for row in rows]


def filter_matching(db: Database, text: str, ids: list[int]) -> set[int]:
    """The subset of ids whose papers match a query (keyword digests)."""
    if not ids:
        return set()
    query = parse_query(text, max_chars=10_000)
    marks = ",".join("?" for _ in ids)
    rows = db.query(
        f"SELECT rowid AS id FROM papers_fts WHERE papers_fts MATCH ? AND rowid IN ({marks})",
        [query.expression, *ids],
    )
    return {row["id"] for row in rows}


def match_each(db: Database, queries: list[str], after: int, newest: int) -> dict[str, list[int]]:
    """For each query, the ids in (after, newest] of the papers it matches (keyword alerts).

    The new papers are copied into a temporary full-text table first, so each of thousands
    of queries searches a few thousand fresh papers instead of the whole store's index."""
    # One transaction of its own (a savepoint inside the caller's): the temporary table
    # never outlives the call, and the caller's open transaction is never committed here.
    with db.atomic():
        db.execute("DROP TABLE IF EXISTS temp.fresh_fts")
        db.execute(
            "CREATE VIRTUAL TABLE temp.fresh_fts USING fts5(title, abstract, extra,"
            " tokenize = 'porter unicode61 remove_diacritics 2')"
        )
        db.execute(
            "INSERT INTO temp.fresh_fts (rowid, title, abstract, extra)"
            " SELECT rowid, title, abstract, extra FROM papers_fts WHERE rowid > ? AND rowid <= ?",
            [after, newest],
        )
        matches: dict[str, list[int]] = {}
        for text in queries:
            try:
                expression = parse_query(text, max_chars=10_000).expression
            except QueryError:
                matches[text] = []
                continue
            rows = db.conn.execute(
                "SELECT rowid FROM temp.fresh_fts WHERE fresh_fts MATCH ? ORDER BY rowid LIMIT 200",
                [expression],
            )
            matches[text] = [row[0] for row in rows]
        db.execute("DROP TABLE temp.fresh_fts")
    return matches
