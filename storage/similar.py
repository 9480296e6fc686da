""" "More like this": the papers closest to one paper by text.

The paper's distinctive terms (tf-idf over its title and abstract, analyzed exactly as the
search index analyzes them, document frequencies from the index itself) are OR-ed into one
query against the search index, ranked by bm25 alone: closeness of text, not popularity.
"""

from __future__ import annotations

import math
from collections import Counter

from sqlite_utils import Database
from tantivy import Occur, Query

from storage import index as search_index
from storage.papers import get_papers

MAX_TERMS = 12
TITLE_WEIGHT = 3  # a word in the title says more about the paper than one in the abstract
CANDIDATES = 20  # hits fetched before dropping the paper itself and its duplicates
_STOPWORDS = """a about above after again against all also an and any are as at be been
being below between both but by can could did do does during each few for from further had
has have here how if in into is it its itself just more most much no nor not now of off on
once only or other our out over own same she should so some such than that the their them
then there these they this those through to too under until up very was we were what when
where which while who whom why will with would you your show shows shown propose proposed
paper approach method methods result results new novel us based via however thus well
achieve achieves state art"""
# Analyzed as the index analyzes text ("proposed" is "propos"): too common in any abstract
# to say what a paper is about.
STOPWORDS = frozenset(t for word in _STOPWORDS.split() for t in search_index.EN_STEM.analyze(word))


def _document_terms(db: Database, paper_id: int) -> Counter:
    """The paper's indexed terms with their weighted counts."""
    row = db.execute(
        "SELECT title, title_derived, abstract FROM papers WHERE id = ?", [paper_id]
    ).fetchone()
    if row is None:
        return Counter()
    title, derived, abstract = row
    terms: Counter = Counter()
    for text, weight in ((None if derived else title, TITLE_WEIGHT), (abstract, 1)):
        for term in search_index.EN_STEM.analyze(text or ""):
            if len(term) >= 3 and term.isalpha() and term not in STOPWORDS:
                terms[term] += weight
    return terms


def distinctive_terms(db: Database, paper_id: int, limit: int = MAX_TERMS) -> list[str]:
    """The paper's top terms by tf-idf; terms no other paper has are useless and dropped."""
    terms = _document_terms(db, paper_id)
    if not terms:
        return []
    search = search_index.searcher(db)
    total = search.num_docs
    docs = {
        term: max(search.doc_freq(field, term) for field in ("title", "abstract")) for term in terms
    }
    scored = [
        (weight * math.log((total + 1) / docs[term]), term)
        for term, weight in terms.items()
        if docs[term] >= 2
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
    schema = search_index.SCHEMA
    clauses = [
        (Occur.Should, Query.boost_query(Query.term_query(schema, "title", term), TITLE_WEIGHT))
        for term in terms
    ]
    clauses += [(Occur.Should, Query.term_query(schema, "abstract", term)) for term in terms]
    clauses.append((Occur.MustNot, search_index.id_set([paper_id])))
    query = Query.boolean_query(clauses)
    hits = search_index.top(search_index.searcher(db), query, limit + CANDIDATES, prior=False)
    dropped = _duplicates(db, paper_id, hits.ids)
    kept = [(i, score) for i, score in zip(hits.ids, hits.scores, strict=True) if i not in dropped]
    kept = kept[:limit]
    papers = get_papers(db, [hit_id for hit_id, _ in kept])
    scores = dict(kept)
    for paper in papers:
        paper["score"] = round(scores[paper["id"]], 3)
    return papers
