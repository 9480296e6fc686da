""" "More like this": the papers closest to one paper by text.

The paper's distinctive terms (tf-idf over its title and abstract, document frequencies from
the index's vocabulary `papers_vocab`) are OR-ed into one query against the full-text index,
ranked by bm25. Everything engine-specific sits behind `similar()`, so the search engine can
change underneath it (issue 11) without touching the callers.
"""

from __future__ import annotations

import math

from sqlite_utils import Database

from storage.papers import get_papers

MAX_TERMS = 12
TITLE_WEIGHT = 3  # a word in the title says more about the paper than one in the abstract
CANDIDATES = 20  # hits fetched before dropping the paper itself and its duplicates
_STOPWORDS = """a about above after again against all also an and ani any are as at be been
being below between both but by can could did do doe does dure each few for from further had
has have here how if in into is it its itself just more most much no nor not now of off on
onc once onli only or other our out over own same she should so some such than that the their
them then there these they thi this those through to too under until up veri very wa was we
were what when where which while who whom why will with would you your show propos paper
approach method result new novel us base via howev thu well achiev state art"""
# Stemmed as the index stems them ("proposed" is "propos"): too common in any abstract to
# say what a paper is about.
STOPWORDS = frozenset(_STOPWORDS.split())


def _document_terms(db: Database, paper_id: int) -> dict[str, float]:
    """The paper's indexed terms with their weighted counts, tokenized (stemmed) exactly as
    the index does: through a temporary FTS5 table with the same tokenizer."""
    row = db.execute(
        "SELECT title, abstract FROM papers_fts WHERE rowid = ?", [paper_id]
    ).fetchone()
    if row is None:
        return {}
    with db.atomic():
        db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.similar_doc USING fts5(title, abstract,"
            " tokenize = 'porter unicode61 remove_diacritics 2')"
        )
        db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.similar_vocab"
            " USING fts5vocab(temp, similar_doc, col)"
        )
        db.execute("DELETE FROM temp.similar_doc")
        db.execute("INSERT INTO temp.similar_doc (title, abstract) VALUES (?, ?)", list(row))
        counts = db.execute("SELECT term, col, cnt FROM temp.similar_vocab").fetchall()
        db.execute("DELETE FROM temp.similar_doc")
    terms: dict[str, float] = {}
    for term, column, count in counts:
        if len(term) < 3 or term in STOPWORDS or not term.isalpha():
            continue
        terms[term] = terms.get(term, 0.0) + count * (TITLE_WEIGHT if column == "title" else 1)
    return terms


def distinctive_terms(db: Database, paper_id: int, limit: int = MAX_TERMS) -> list[str]:
    """The paper's top terms by tf-idf; terms no other paper has are useless and dropped."""
    terms = _document_terms(db, paper_id)
    if not terms:
        return []
    total = db.execute("SELECT COUNT(*) FROM papers").fetchone()[0]
    # One equality probe per term: fts5vocab answers `term = ?` from the index directly,
    # while `term IN (...)` scans the whole vocabulary.
    docs = {}
    for term in terms:
        found = db.execute("SELECT doc FROM papers_vocab WHERE term = ?", [term]).fetchone()
        docs[term] = found[0] if found else 0
    scored = [
        (weight * math.log((total + 1) / docs[term]), term)
        for term, weight in terms.items()
        if docs.get(term, 0) >= 2
    ]
    scored.sort(reverse=True)
    return [term for _, term in scored[:limit]]


def _duplicates(db: Database, paper_id: int, ids: list[int]) -> set[int]:
    """Which of ids are the same paper listed apart (same normalized title or abstract)."""
    me = db.execute(
        "SELECT title_norm, title_derived, abstract_key FROM papers WHERE id = ?", [paper_id]
    ).fetchone()
    if me is None or not ids:
        return set()
    marks = ",".join("?" * len(ids))
    rows = db.execute(
        f"SELECT id, title_norm, title_derived, abstract_key FROM papers WHERE id IN ({marks})",
        ids,
    ).fetchall()
    return {
        other
        for other, title_norm, derived, abstract_key in rows
        if abstract_key == me[2] or (title_norm == me[0] and not derived and not me[1])
    }


def similar(db: Database, paper_id: int, limit: int = 5) -> list[dict]:
    """The `limit` papers most similar to one paper by text, best first, never the paper
    itself or a duplicate of it; each with its `score`."""
    terms = distinctive_terms(db, paper_id)
    if not terms:
        return []
    expression = " OR ".join('"' + term + '"' for term in terms)
    hits = db.execute(
        "SELECT rowid, -rank FROM papers_fts WHERE papers_fts MATCH ? AND rowid != ?"
        " ORDER BY rank LIMIT ?",
        [expression, paper_id, limit + CANDIDATES],
    ).fetchall()
    dropped = _duplicates(db, paper_id, [hit[0] for hit in hits])
    kept = [(hit_id, score) for hit_id, score in hits if hit_id not in dropped][:limit]
    papers = get_papers(db, [hit_id for hit_id, _ in kept])
    scores = dict(kept)
    for paper in papers:
        paper["score"] = round(scores[paper["id"]], 3)
    return papers
