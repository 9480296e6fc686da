"""Search: the query syntax people expect, run on the tantivy index (storage.index) with
bm25 × a popularity and recency prior over every match; papers come from SQLite."""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein
from sqlite_utils import Database

from storage import index as search_index
from storage.errors import PapersError, QueryError
from storage.index import Term
from storage.papers import get_papers
from storage.text import OPERATORS, QUERY_TOKENS, greek_spelled, normalize_query

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 256
MAX_TERMS = 16
# Different words and phrases a typed query may search (a repeated one counts once, an
# operator not at all): a search refuses more with a message. Every one is searched: the
# words past the 32nd token were left out, and with them a late `-survey` or `OR name`.
MAX_WORDS = MAX_TERMS * 2
HIGHLIGHT = ("\x02", "\x03")  # snippet markers, turned into bold by the renderers
# Commas and semicolons separate words as spaces do (`lora,qlora` is two words).
_TOKENS = QUERY_TOKENS
# A possessive `'s` is no part of the word: `BERT's` searches `BERT`.
_POSSESSIVE = re.compile(r"(?<=[^\W_])['’]s$", re.IGNORECASE)
# A word may hold hyphens and dots between its letters or digits: `GPT-3.5` and `3.0` are
# one term each (the words next to each other), not `GPT-3` or `3` with the rest dropped.
_WORD = re.compile(r"[^\W_]+(?:[-.][^\W_]+)*\*?")
_LETTERS = re.compile(r"[^\W_]+")
# A field prefix of arXiv's or Google Scholar's syntax, before a word or a phrase.
_FIELD = re.compile(r"(?<!\S)(-?)(title|ti|abstract|abs|intitle|all):(?=[^\s:])", re.IGNORECASE)
# Chinese, Japanese or Korean letters: written without spaces, so the index holds each
# run of them as one word, which a part of it never matches.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]+")
_UNSPACED_NOTE = (
    "`{}`: Chinese, Japanese and Korean text has no spaces between its words, so the index"
    " holds each run of such letters whole; a part of one finds nothing (type the run whole,"
    " as the paper writes it, or an English word)."
)
# A word with symbols after it that the index cannot hold: `C++`, `C#`, `F#`.
_SYMBOLED = re.compile(r"([^\W_]+)[+#]+")
# Where a name meets its version number: `ERNIE3`, `llama2`, `ernie3.0`.
_VERSION = re.compile(r"(?<=[^\W\d_]{2})(?=\d)")
# "Did you mean": a word of up to ONE_SLIP letters may have one slip, a longer one two
# (two in five letters made `mamba` "maybe"); up to SHORT_WORD letters only some (_slip_of);
# SPELLINGS close words are tried per word, at most MAX_TRIES respellings of a query.
SHORT_WORD = 4
ONE_SLIP = 5
SPELLINGS = 3
TYPO_RATIO = 10
MAX_COMBINATIONS = 256
MAX_TRIES = 12
# Matches asked of each alert query at first (oldest first); a query with as many is asked
# for all of them (see search_index.match_new).
ALERT_LIMIT = 200
ALERT_QUERY_CHARS = 10_000
_DIGIT = re.compile(r"\d")
_LETTERED = re.compile(r"[^\W\d_]+")
_PLAIN = re.compile(r"[a-z0-9]+(?: [a-z0-9]+)*")


@dataclass
class Query:
    """A parsed user query: groups of terms (all groups must match, any term of a group),
    excluded terms, a readable expression, and the plain words (for suggestions)."""

    expression: str
    words: list[str] = field(default_factory=list)
    groups: list[list[Term]] = field(default_factory=list)
    excludes: list[Term] = field(default_factory=list)
    # What the search could not take as typed (`C++` is searched as `C`), for the reply.
    notes: list[str] = field(default_factory=list)


@dataclass
class SearchResult:
    """One page of results, the exact total, and suggestions when nothing matched."""

    query: str
    papers: list[dict]
    total: int
    offset: int
    limit: int
    suggestions: list[str] = field(default_factory=list)
    total_capped: bool = False  # totals are exact now; kept for the renderers
    # The newest paper id the results were drawn from: later pages keep to it, so papers
    # ingested between pages never push a shown paper onto the next page.
    newest: int | None = None
    # Only papers with a higher id (the new papers of a keyword alert), or None for all.
    after: int | None = None
    notes: list[str] = field(default_factory=list)  # see Query.notes
    # The key of the alert delivery whose papers alone are shown (its Show all), for the
    # later pages: the id range alone also holds replacements and papers sent before.
    delivery: str | None = None


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _term(raw: str) -> tuple[Term, str] | None:
    """One token as a term and its readable form."""
    if raw.startswith('"'):
        words = _WORD.findall(raw.replace("*", " "))
        # Hyphens kept: the index matches the phrase split and joined (`"pre-training"`
        # also finds "pretraining", as the unquoted word does).
        phrase = " ".join(words)
        shown = _quote(phrase.replace("-", " "))
        return (Term("phrase", phrase), shown) if phrase else None
    raw = _POSSESSIVE.sub("", raw)
    if len(_WORD.findall(raw)) > 1:
        # `Q&A`, `encoder/decoder`, `f(x)`: the index holds their words side by side, so
        # they are searched as the phrase they are, not as their first word alone.
        return _term('"' + raw.replace('"', " ") + '"')
    match = _WORD.search(raw)
    if not match:
        return None
    word = match.group(0)
    if word.endswith("*"):
        stem = word[:-1].replace("-", "")
        if stem and len(re.split(r"\W", stem)[0]) < search_index.MIN_PREFIX:
            # `l*` searched the lone letter `l` and found nothing, under a tip to use `diffus*`.
            raise QueryError(
                f"`{word}` is too short a prefix: give it at least {search_index.MIN_PREFIX}"
                " letters, like `diffus*`."
            )
        return (Term("prefix", stem), _quote(stem) + "*") if stem else None
    # "pre-training" also finds "pretraining" (the index holds joined forms too).
    return Term("word", word), _quote(word.replace("-", ""))


# A dash standing alone between words, which leaves nothing out.
_LONE_DASH = re.compile(r"[-\u2010-\u2015\u2212\ufe63\uff0d]+")
EXCLUDED_ALL_NOTE = (
    "Its exclusions (`-word`, `NOT word`) leave out {} the rest of this query finds."
)
LONE_DASH_NOTE = (
    "A dash standing alone leaves nothing out: write it against the word, like `-survey`."
)


def parse_query(text: str, max_chars: int = MAX_QUERY_CHARS, max_words: int | None = None) -> Query:
    """Parse a user query into terms (never a syntax error); raises QueryError with a friendly
    message when nothing is left to search for, or past `max_words` different terms."""
    text = normalize_query(text)
    if not text:
        raise QueryError(
            'Type a few words to search for, for example `lora` or `"diffusion model"`.'
        )
    if len(text) > max_chars:
        raise QueryError(
            f"That query is {len(text)} characters long; keep it to {max_chars} or fewer."
        )
    text, notes = _without_fields(text)
    groups: list[list[str]] = []
    excludes: list[str] = []
    term_groups: list[list[Term]] = []
    term_excludes: list[Term] = []
    words: list[str] = []
    join_next = negate_next = False
    for raw in _TOKENS.findall(text):
        if raw in ("OR", "|"):
            join_next = bool(groups)
            continue
        if raw in ("AND", "+"):
            continue
        if raw == "NOT":
            negate_next = True
            continue
        if _LONE_DASH.fullmatch(raw):  # `lora - survey`: searched lora and survey
            if LONE_DASH_NOTE not in notes:
                notes.append(LONE_DASH_NOTE)
            continue
        negate = negate_next or (raw.startswith("-") and len(raw) > 1)
        made = _term(raw[1:] if raw.startswith("-") else raw)
        negate_next = False
        if long := [w for w in _LETTERS.findall(raw) if _too_long(w)]:
            shown = long[0][:20] + "…"
            notes.append(
                f"`{shown}` was left out: the index keeps no word of"
                f" {search_index.LONG_WORD_BYTES} bytes or more"
                f" ({search_index.LONG_WORD_BYTES} Latin letters, fewer in other scripts)."
            )
        if symboled := _SYMBOLED.fullmatch(raw.lstrip("-")):
            notes.append(
                f"`{symboled[0]}` is searched as the word `{symboled[1]}`: the index keeps"
                " letters and digits only (+ and # are dropped)."
            )
        if made is None:
            continue
        parsed, term = made
        if negate:
            excludes.append(term)
            term_excludes.append(parsed)
        elif join_next:
            groups[-1].append(term)
            term_groups[-1].append(parsed)
        else:
            groups.append([term])
            term_groups.append([parsed])
        if not negate and parsed.kind != "prefix":
            words += _respellable(parsed)
        join_next = False
    if not groups:
        if excludes:
            raise QueryError(
                "Add a word to look for: `-word` (or `NOT word`) only leaves papers out."
            )
        operators = [t for t in _TOKENS.findall(text) if t in OPERATORS]
        distinct = list(dict.fromkeys(operators))
        named = ", ".join(f"`{t}`" for t in distinct)
        goes = "goes" if len(distinct) == 1 else "go"
        tip = f"{named} {goes} between words, like `gpt OR bert` or `lora NOT survey`. "
        raise QueryError(
            (tip if distinct else "")
            + 'Type a few words to search for, for example `lora` or `"diffusion model"`.'
        )
    # A repeated group or exclusion means nothing more (a AND a is a): each is searched once.
    firsts: dict[tuple[Term, ...], int] = {}
    for i, group in enumerate(term_groups):
        firsts.setdefault(tuple(group), i)
    kept = sorted(firsts.values())
    groups, term_groups = [groups[i] for i in kept], [term_groups[i] for i in kept]
    excludes, term_excludes = list(dict.fromkeys(excludes)), list(dict.fromkeys(term_excludes))
    distinct = {t for g in term_groups for t in g} | set(term_excludes)
    if max_words is not None and len(distinct) > max_words:
        raise QueryError(
            f"That query searches {len(distinct)} different words and phrases;"
            f" keep it to {max_words} or fewer."
        )
    expression = " AND ".join("(" + " OR ".join(group) + ")" for group in groups)
    for term in excludes:
        expression += f" NOT {term}"
    notes = list(dict.fromkeys(notes))
    return Query(expression, list(dict.fromkeys(words)), term_groups, term_excludes, notes)


def _without_fields(text: str) -> tuple[str, list[str]]:
    """The query without the field prefixes other search engines take (`ti:lora`,
    `title:"diffusion models"`, `abs:`), and a note for each: searched as the words
    `titlelora` and `title lora`, they found nothing and said nothing."""
    named = list(dict.fromkeys(m[2].lower() for m in _FIELD.finditer(text)))
    notes = [
        f"`{name}:` is no search field here: the words after it are searched in titles"
        " and abstracts alike (a word in a title counts most)."
        for name in named
    ]
    return (_FIELD.sub(r"\1", text), notes) if named else (text, [])


def _too_long(word: str) -> bool:
    """Whether the index drops this word (from papers and queries alike): too long."""
    return len(word.encode()) >= search_index.LONG_WORD_BYTES


def _respellable(term: Term) -> list[str]:
    """The lower-case words of a term that "did you mean" may respell: a word whole
    (hyphens dropped), and each word of a phrase or part of a hyphenated word."""
    parts = [part.lower() for part in _LETTERS.findall(term.text)]
    if term.kind == "phrase":
        return parts
    whole = term.text.replace("-", "").lower()
    return [whole, *parts] if len(parts) > 1 else [whole]


def search(
    db: Database,
    text: str,
    limit: int = 10,
    offset: int = 0,
    max_chars: int = MAX_QUERY_CHARS,
    newest: int | None = None,
    after: int | None = None,
    max_words: int | None = MAX_WORDS,
    only: list[int] | None = None,
) -> SearchResult:
    """The best matches for a query, best first: all words must match; the paper's name and
    title weigh most, then popularity and recency (README, "How search ranks").
    A query past `max_words` different terms is refused (None: every word is searched, as
    an alert matched a stored keyword).

    `total` is exact; snippets are cut for the shown papers only. `newest` keeps to papers
    up to that id (a later page of the same results); the result says which id it kept to.
    `after` keeps to papers with a higher id (an alert's new papers, ranked the same way);
    `only`, when given, to those papers (the ones an alert announced)."""
    query = parse_query(text, max_chars, max_words)
    searcher = search_index.searcher(db)
    query = _apart(searcher, query)
    tantivy_query = search_index.build_query(query.groups, query.excludes)
    if only is not None:
        # Every paper the alert announced, those still matching first: a replacement since
        # may no longer name its keywords, and "Show all 12" then listed 11.
        tantivy_query = search_index.among(only, tantivy_query)
    if newest is None:
        newest = searcher.newest
    elif newest < searcher.newest:  # papers came in since the first page: keep to those
        tantivy_query = tantivy_query.and_must_match(search_index.id_range(0, max(newest, 0)))
    if after is not None:
        tantivy_query = tantivy_query.and_must_match(search_index.id_range(after, newest))
    # The engine reserves room for offset + limit hits up front: a page button's offset
    # changed by hand (2**31) made it ask for 32 GB and abort the process. Past the last
    # document every offset is the same empty page.
    hits = search_index.top(searcher, tantivy_query, limit, min(offset, searcher.num_docs))
    papers = get_papers(db, hits.ids)
    snippets = search_index.snippets(
        searcher, query.groups, {p["id"]: p["abstract"] for p in papers}, HIGHLIGHT
    )
    scores = dict(zip(hits.ids, hits.scores, strict=True))
    for paper in papers:
        paper["score"] = round(scores[paper["id"]], 3)
        paper["snippet"] = snippets.get(paper["id"], "")
    # An alert's new papers all matched: no respelling of them to offer.
    found = hits.total or after is not None
    suggestions = [] if found else suggest(db, query.words, text, hits.total)
    notes = query.notes
    if not found and (run := _UNSPACED.search(text)):
        notes = [*notes, _UNSPACED_NOTE.format(run[0])]
    if not found and query.excludes and only is None:
        # `lora -lora`: the tip to type fewer words is no help when the exclusions are
        # what leaves every match out.
        kept = search_index.build_query(query.groups, [])
        if newest < searcher.newest:
            kept = kept.and_must_match(search_index.id_range(0, max(newest, 0)))
        if without := search_index.top(searcher, kept, 1, prior=False).total:
            counted = "the one paper" if without == 1 else f"all {without:,} papers"
            notes = [*notes, EXCLUDED_ALL_NOTE.format(counted)]
    return SearchResult(
        text,
        papers,
        hits.total,
        offset,
        limit,
        suggestions,
        newest=newest,
        after=after,
        notes=notes,
    )


def _apart(searcher, query: Query) -> Query:
    """The query with the words papers also write otherwise matched in both spellings: a
    phrase's joined or split words (`"pretrained models"` finds "pre-trained models"), a
    name and its version together or apart (`yolov8` finds "YOLO v8" and `YOLO v8` finds
    "YOLOv8"); see search_index.apart and version_join."""
    if not _respellable_terms(query):
        return query
    groups = [[search_index.apart(searcher, t) for t in _greek(g)] for g in query.groups]
    excludes = [search_index.apart(searcher, t) for t in _greek(query.excludes)]
    # `YOLO v8` is (YOLO AND v8) OR YOLOv8, `pre training` (pre AND training) OR
    # pretraining: the joined word joins both words' groups.
    for i, (first, second) in enumerate(itertools.pairwise(query.groups)):
        if len(first) == len(second) == 1 and first[0].kind == second[0].kind == "word":
            words = (first[0].text, second[0].text)
            joined = search_index.version_join(searcher, *words) or search_index.word_join(
                searcher, *words
            )
            if joined:
                groups[i] = [*groups[i], joined]
                groups[i + 1] = [*groups[i + 1], joined]
    return Query(query.expression, query.words, groups, excludes, query.notes)


def _greek(terms: list[Term]) -> list[Term]:
    """The terms, each with a Greek letter in it also spelled out as LaTeX (and so arXiv
    abstracts) write it, and back: `α-entmax` also searches `alpha-entmax`."""
    out = []
    for term in terms:
        out.append(term)
        spelled = term.kind != "prefix" and greek_spelled(term.text)
        if spelled:
            out.append(Term(term.kind, spelled))
    return out


def _respellable_terms(query: Query) -> bool:
    """Whether a query holds a phrase, a word with a digit or a Greek letter or its
    name, or two plain words next to each other: only those are respelled."""
    terms = [*(t for g in query.groups for t in g), *query.excludes]
    return _neighbours(query.groups) or any(
        t.kind == "phrase"
        or (t.kind == "word" and (_DIGIT.search(t.text) or greek_spelled(t.text)))
        for t in terms
    )


def _neighbours(groups: list[list[Term]]) -> bool:
    """Whether two words of letters stand next to each other, each a group of its own
    (`pre training`: papers may write them as one word)."""
    return any(
        len(a) == len(b) == 1 and _LETTERED.fullmatch(a[0].text) and _LETTERED.fullmatch(b[0].text)
        for a, b in itertools.pairwise(groups)
        if a[0].kind == b[0].kind == "word"
    )


def _joined_forms(texts: Iterable[str]) -> set[str]:
    """Each pair of neighbouring words of the texts written as one word (`pre training`:
    "pretraining")."""
    return {
        first + second for text in texts for first, second in itertools.pairwise(text.split(" "))
    }


def _joinable(text: str, known: set[str]) -> bool:
    """Whether a plain alert query has two neighbouring words some paper writes as one
    (`known`: those of its joined forms the words table holds; the index is asked only
    for those)."""
    return any(first + second in known for first, second in itertools.pairwise(text.split(" ")))


def known_word(db: Database, word: str) -> bool:
    """Whether some paper has this word (lower case, as typed: no stemming)."""
    return next(db.query("SELECT 1 AS x FROM words WHERE word = ?", [word]), None) is not None


def known_inflected(db: Database, words: Iterable[str]) -> set[str]:
    """Those of the words some paper may have in any inflection: a word of the words table
    begins with what the word and its stem share (`multitask` is in "multitasking", and
    `pretrained`'s "pretrain" in "pretraining"), as the index's stemmed counts would find
    it. In one query: an alert run's 25,000 joined forms looked up one by one cost ~0.7 s
    of CPU at 1M papers."""
    heads = {}
    for word in words:
        stem = search_index.EN_STEM.analyze(word)
        heads[word] = os.path.commonprefix([word, stem[0]]) if stem else word
    rows = db.execute(
        "SELECT value FROM json_each(?) WHERE EXISTS (SELECT 1 FROM words WHERE word >= value"
        " AND word < value || char(1114111))",  # every word beginning with it
        [json.dumps(sorted(set(heads.values())))],
    )
    found = {head for (head,) in rows}
    return {word for word, head in heads.items() if head in found}


def _spellings(db: Database, searcher, word: str) -> list[tuple[str, int]]:
    """What a typed word may stand for, likeliest first, each with its cost (its edits):
    the close known words (one slip in a short word, two in a long one; a swap of two
    letters is one; see _slip_of for short words) in more papers, each stem once,
    and the word itself when some paper has it, after any far commoner close spelling."""
    if len(word) < 3 or not word.isalpha():
        return [(word, 0)]
    known = known_word(db, word)
    # Candidates share the first letter and a similar length: a bounded set at any size.
    rows = db.query(
        "SELECT word FROM words WHERE word >= ? AND word < ? AND length(word) BETWEEN ? AND ?",
        [word[0], word[0] + "\U0010ffff", len(word) - 2, len(word) + 2],
    )
    edits = 1 if len(word) <= ONE_SLIP else 2
    close = process.extract(
        word,
        [row["word"] for row in rows if row["word"] != word and _slip_of(word, row["word"])],
        scorer=DamerauLevenshtein.distance,
        score_cutoff=edits,
        limit=None,
    )
    # A word in a few papers that is one slip from a far commoner one is most likely a typo
    # in those papers ("langauge" beside "language"): the commoner word is offered too.
    floor = search_index.doc_freq(searcher, word) * TYPO_RATIO if known else 1
    found: dict[str, tuple[int, int, str]] = {}
    for candidate, distance, _ in close:
        freq = search_index.doc_freq(searcher, candidate)
        stem = " ".join(search_index.EN_STEM.analyze(candidate))
        if freq >= floor and (stem not in found or (distance, -freq) < found[stem][:2]):
            found[stem] = (distance, -freq, candidate)
    best = [(c, d) for d, _, c in sorted(found.values())][:SPELLINGS]
    # The typed word, known, costs more than any respelling of it: the far commoner
    # spelling wins over the typo a few papers carry ("langauge" is "language").
    return best + ([(word, edits + 1)] if known else []) or [(word, 0)]


def _slip_of(typed: str, known: str) -> bool:
    """Whether a known word may be what a typed one meant: any close word, but between a
    word and one of SHORT_WORD letters or fewer only two letters swapped or a letter
    doubled or not (`gtp` is `gpt`, `lama` `llama`): one other slip changes a quarter of
    such a word, mostly an acronym (`moe`, `gans`, `sora`, `peft` are not "more", "gains",
    "sota", "pet"; nor `mamba` "mam")."""
    if min(len(typed), len(known)) > SHORT_WORD:
        return True
    return sorted(typed) == sorted(known) or _doubled(typed, known) or _doubled(known, typed)


def _doubled(word: str, longer: str) -> bool:
    """Whether `longer` is `word` with one of its letters doubled (`lama`, `llama`)."""
    if len(longer) != len(word) + 1:
        return False
    return any(
        longer[:i] + longer[i + 1 :] == word and longer[i] == longer[i - 1]
        for i in range(1, len(longer))
    )


def _choices(options: list[list[tuple[str, int]]]) -> list[tuple[int, ...]]:
    """The respellings to try, the likeliest first (fewest steps down the lists)."""
    options = [list(o) for o in options]
    while math.prod(map(len, options)) > MAX_COMBINATIONS:
        longest = max(options, key=len)
        longest.pop()
    picks = itertools.product(*(range(len(o)) for o in options))
    return sorted(picks, key=sum)[:MAX_TRIES]


def suggest(db: Database, words: list[str], text: str, total: int = 0) -> list[str]:
    """ "Did you mean": the typed `text` with its plain words respelled as the closest
    respelling that finds papers (at least one, and more than `total`, the typed query's),
    among equally close ones the one that finds the most; everything else in it (OR,
    exclusions, phrases, prefixes) is kept."""
    if not words:
        return []
    searcher = search_index.searcher(db)
    options = [_spellings(db, searcher, word) for word in words]
    best, best_key = None, None
    for picks in _choices(options):
        chosen = [o[i] for o, i in zip(options, picks, strict=True)]
        fixes = {w: spelled for w, (spelled, _) in zip(words, chosen, strict=True) if spelled != w}
        if not fixes:
            continue
        respelled = _respell(text, fixes)
        found = _count(searcher, respelled)
        # Fewest edits (`elctra` is `electra`, not the commoner `extra`); then most papers;
        # then the fewer and smaller changes.
        key = (-sum(cost for _, cost in chosen), found, -sum(picks))
        if found > total and (best_key is None or key > best_key):
            best, best_key = respelled, key
    if best is None:
        best = _best_join(searcher, text, total)
    return [best] if best else []


def _count(searcher, text: str) -> int:
    """How many papers a query finds (0 for one that cannot be parsed)."""
    try:
        built = _parsed_query(searcher, text)
    except QueryError:
        return 0
    # Only the count is used: no prior to weigh (half the work at a million papers).
    return search_index.top(searcher, built, 1, prior=False).total


def _best_join(searcher, text: str, total: int) -> str | None:
    """The typed query with two neighbouring words written as one, or a word split before
    its version number, whichever finds the most papers (more than `total`): `DeBERTa V3`
    → `DeBERTaV3`, `Lang Cell` → `LangCell`, `ERNIE3` → `ERNIE-3`, as papers write them."""
    tokens = _TOKENS.findall(normalize_query(text))
    # Words searched for: no operator, prefix, phrase or excluded word (`NOT lora x`).
    plain = [
        bool(_WORD.fullmatch(t)) and t not in OPERATORS and not t.endswith("*") for t in tokens
    ]
    plain = [ok and (i == 0 or tokens[i - 1] != "NOT") for i, ok in enumerate(plain)]
    tries = [
        [*tokens[:i], tokens[i] + tokens[i + 1], *tokens[i + 2 :]]
        for i in range(len(tokens) - 1)
        if plain[i] and plain[i + 1]
    ]
    # And a name typed with its version (`ERNIE3`, `llama2`) as the papers write it apart
    # (hyphened: the name next to the number, never `gpt` and a `5` anywhere).
    tries += [
        [*tokens[:i], _VERSION.sub("-", tokens[i], count=1), *tokens[i + 1 :]]
        for i in range(len(tokens))
        if plain[i] and _VERSION.search(tokens[i])
    ]
    best, most = None, total
    for regrouped in tries[:MAX_TRIES]:
        found = _count(searcher, " ".join(regrouped))
        if found > most:
            best, most = " ".join(regrouped), found
    return best


def _respell(text: str, fixes: dict[str, str]) -> str:
    """The typed query with each plain word that parse_query searched for replaced by its
    fix, token by token, so the suggestion means what the query meant."""
    out = []
    negate_next = False
    for raw in _TOKENS.findall(normalize_query(text)):
        if raw in ("OR", "|", "AND", "+", "NOT"):
            negate_next = negate_next or raw == "NOT"
            out.append(raw)
            continue
        negate = negate_next or (raw.startswith("-") and len(raw) > 1)
        negate_next = False
        out.append(raw if negate else _respell_token(raw, fixes))
    return " ".join(out)


def _respell_token(raw: str, fixes: dict[str, str]) -> str:
    """One searched token respelled: a word whole, else each word of a phrase or part of
    a hyphenated word (`"difusion models"`, `transfromer-based`); quotes and hyphens kept."""
    if not raw.startswith('"'):
        match = _WORD.search(raw)
        if match is None or match.group(0).endswith("*"):
            return raw
        fix = fixes.get(match.group(0).replace("-", "").lower())
        if fix:
            return raw[: match.start()] + fix + raw[match.end() :]
    return _LETTERS.sub(lambda part: fixes.get(part.group(0).lower(), part.group(0)), raw)


def _parsed_query(searcher, text: str):
    query = _apart(searcher, parse_query(text, max_chars=ALERT_QUERY_CHARS))
    return search_index.build_query(query.groups, query.excludes)


def matching_since(db: Database, text: str, after_id: int) -> list[int]:
    """Ids of every paper newer than after_id that matches a query, oldest first (what a
    keyword alert matches, one query at a time)."""
    searcher = search_index.searcher(db)
    query = _parsed_query(searcher, text).and_must_match(search_index.id_range(after_id, 2**62))
    return search_index.first_by_id(searcher, query, max(searcher.num_docs, 1))


def filter_matching(db: Database, text: str, ids: list[int]) -> set[int]:
    """The subset of ids whose papers match a query (keyword digests)."""
    if not ids:
        return set()
    searcher = search_index.searcher(db)
    query = _parsed_query(searcher, text).and_must_match(search_index.id_set(ids))
    return set(search_index.first_by_id(searcher, query, len(ids)))


def _plain_groups(text: str, words: dict[str, Term]) -> list[list[Term]] | None:
    """parse_query's groups for a query of plain lower-case ASCII words (most alert
    keywords), without its general parsing; None for any other query."""
    if len(text) > ALERT_QUERY_CHARS or not _PLAIN.fullmatch(text) or _DIGIT.search(text):
        # A digit may be a version, respelled by _apart (`yolov8` is also "YOLO v8").
        return None
    groups = []
    # Lower-case "or" and "not" are words, not operators; a repeated word is one group, as
    # parse_query makes it.
    for word in dict.fromkeys(text.split(" ")):
        term = words.get(word)
        if term is None:
            term = words[word] = Term("word", word)
        groups.append([term])
    return groups


def match_each(
    db: Database, queries: list[str], after: int, newest: int, late: tuple[int, int] = (0, 0)
) -> dict[str, list[int]]:
    """For each query, the ids in (after, newest] of the papers it matches (keyword alerts),
    and those of the late listings numbered in (`late`], every one of them; a query that
    cannot be parsed matches nothing."""
    matches: dict[str, list[int]] = {}
    words: dict[str, Term] = {}  # one Term per word, shared by the queries that hold it
    opened: list = []

    def searcher():
        # The store's index knows which words papers also write otherwise; opened only for
        # a query that may be respelled. Unavailable (a rebuild under way): each query is
        # matched as typed, as before respellings, rather than no alert at all.
        if not opened:
            try:
                opened.append(search_index.searcher(db))
            except PapersError as exc:
                log.warning("alerts match queries as typed: %s", exc)
                opened.append(None)
        return opened[0]

    def parsed() -> Iterator[tuple[str, list[list[Term]], list[Term]]]:
        # Lazy: match_new parses while its index of the new papers is being built.
        # Words some paper may write as one: for the others the index is not asked.
        known = known_inflected(db, _joined_forms(queries))
        for text in queries:
            groups = _plain_groups(text, words)
            if groups is not None and (len(groups) < 2 or not _joinable(text, known)):
                yield text, groups, []
                continue
            try:
                query = parse_query(text, max_chars=ALERT_QUERY_CHARS)
            except QueryError:
                matches[text] = []
                continue
            if _respellable_terms(query) and searcher() is not None:
                query = _apart(searcher(), query)
            yield text, query.groups, query.excludes

    if queries:
        matches.update(search_index.match_new(db, parsed(), after, newest, ALERT_LIMIT, late))
    return matches
