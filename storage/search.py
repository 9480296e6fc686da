"""Full-text search through FTS5 and bm25, with the query syntax people expect."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from sqlite_utils import Database

from papers.errors import QueryError
from storage.papers import get_papers

# bm25 weights for (title, abstract, extra): a word in the title counts ten times one in
# the abstract; "extra" holds joined hyphen forms of both.
WEIGHTS = (10.0, 1.0, 2.0)
MAX_QUERY_CHARS = 256
MAX_TERMS = 16
HIGHLIGHT = ("\x02", "\x03")  # snippet markers, turned into bold by the renderers
_TOKENS = re.compile(r'-?"[^"]*"?|\S+')
_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*\*?")
SUGGEST_CUTOFF = 70


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
    text = " ".join(text.split())
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


def search(
    db: Database, text: str, limit: int = 10, offset: int = 0, max_chars: int = MAX_QUERY_CHARS
) -> SearchResult:
    """The best matches for a query, best first: all words must match, titles weigh most."""
    query = parse_query(text, max_chars)
    sql = (
        "SELECT rowid AS id, -bm25(papers_fts, ?, ?, ?) AS score,"
        " snippet(papers_fts, 1, ?, ?, '…', 28) AS snippet"
        " FROM papers_fts WHERE papers_fts MATCH ? ORDER BY bm25(papers_fts, ?, ?, ?)"
        " LIMIT ? OFFSET ?"
    )
    params = [*WEIGHTS, *HIGHLIGHT, query.expression, *WEIGHTS, limit, offset]
    try:
        hits = list(db.query(sql, params))
        total = next(
            db.query(
                "SELECT COUNT(*) AS n FROM papers_fts WHERE papers_fts MATCH ?", [query.expression]
            )
        )["n"]
    except sqlite3.OperationalError as exc:  # the parser should make this impossible
        raise QueryError("That query could not be understood; try plain words.") from exc
    papers = get_papers(db, [hit["id"] for hit in hits])
    by_id = {hit["id"]: hit for hit in hits}
    for paper in papers:
        paper["score"] = round(by_id[paper["id"]]["score"], 3)
        paper["snippet"] = by_id[paper["id"]]["snippet"]
    suggestions = [] if total else suggest(db, query.words)
    return SearchResult(text, papers, total, offset, limit, suggestions)


def _known(db: Database, word: str) -> bool:
    return next(db.query("SELECT doc FROM words_vocab WHERE term = ?", [word]), None) is not None


def suggest(db: Database, words: list[str]) -> list[str]:
    """ "Did you mean": the query with each unknown word replaced by the closest indexed word."""
    if not words:
        return []
    replaced, changed = [], False
    for word in words:
        if _known(db, word) or len(word) < 3:
            replaced.append(word)
            continue
        # Candidates share the first letter and a similar length: a bounded set at any size.
        rows = db.query(
            "SELECT term, doc FROM words_vocab WHERE term >= ? AND term < ?"
            " AND length(term) BETWEEN ? AND ?",
            [word[0], word[0] + "\U0010ffff", len(word) - 2, len(word) + 2],
        )
        docs = {row["term"]: row["doc"] for row in rows}
        best = process.extract(word, list(docs), scorer=fuzz.ratio, score_cutoff=SUGGEST_CUTOFF)
        if best:
            top = max(best, key=lambda m: (m[1], docs[m[0]]))[0]
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
