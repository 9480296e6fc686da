"""The search index: a tantivy index derived from SQLite, in a folder next to the database.

SQLite is the store of record; the index holds, per paper, the analyzed name (the title part
before ':'), title and abstract, the title's and abstract's word pairs (for phrases), no
stored text (snippets are cut from SQLite's abstracts) and one ranking prior. One process
writes it (the worker's or the CLI's ingest, `papers reindex`), guarded by a lock file;
any number of processes (the bot) read it and reload after each commit, so a search sees
whole batches only.

`watermark.json` in the folder, replaced after each commit, says how far the index reflects
SQLite: the highest paper id and the highest sighting id indexed. Every writer first indexes
again what lies past them (delete by id, then add, so nothing is indexed twice): a crash
between a SQLite commit and the index commit is repaired by the next ingest or start. A
missing, corrupt or outdated index (see VERSION) is rebuilt from SQLite with a log line.

A large store's index is split in two shards by paper id, searched on two threads at once:
tantivy releases the interpreter lock while it searches, so a query matching most of a
million papers takes half the time. The watermark names the shards' folders ("" is the
folder itself). The writer commits every shard and then the watermark while holding
`<db>.index.commit` exclusively; a reader opens and reloads its shards only under a shared
hold of it (else it keeps its last view), so a search never sees one shard's commit
without the other's (unless the writer is killed between them: the next writer's watermark
repair indexes that batch again). A rebuild into another shard count writes a new
generation of folders and switches to it with the watermark, removing the old ones under
the same hold.
"""

from __future__ import annotations

import fcntl
import functools
import itertools
import json
import logging
import math
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import tantivy
from sqlite_utils import Database
from tantivy import Document, Filter, Occur, Order, Query, TextAnalyzerBuilder, Tokenizer

from storage.db import database_file
from storage.errors import PapersError
from storage.text import ASCII_WORDS, HYPHENATED, arxiv_month, plain_hyphens

log = logging.getLogger(__name__)

# Bump when the schema, the analysis or the prior changes: older indexes are rebuilt.
VERSION = 7
WATERMARK = "watermark.json"
# Per-word field weights: a word in the paper's name (before ':') or title outweighs the same
# word in the abstract, so the paper about LoRA beats thousands that mention it.
# A word's fields' scores add up (a should-query of boosted terms): at 1M papers this was
# 5-17% faster than a dis-max with tie-breaker 0.2 (common word, two words, prefix), with
# the same famous papers first.
FIELDS = {"name": 20.0, "title": 10.0, "abstract": 1.0}
# Each text field has a twin holding its consecutive word pairs ("languag_model"), analyzed
# here and split on spaces by the index: a two-word phrase is one term there, and a longer
# one a phrase of pairs, so "language models" reads the postings of the pair, not the
# positions of `model` in nearly every paper. The word fields need no positions. The name
# (the title's head) has none: its pairs are the title's. The alerts' temporary index of a
# few thousand new papers matches phrases on positions: pairs would cost more to build
# than its phrases cost to match.
PAIRS = "_pairs"
PAIRED = ("title", "abstract")
POSITIONS = ("text",)
# Ranking prior (see README, "How search ranks"): multiplier = popularity × recency.
UPVOTE_WEIGHT = 0.35
SOURCE_WEIGHT = 0.5
RECENCY_HALF_LIFE_YEARS = 10.0  # a paper ten years newer weighs twice as much
RECENCY_FROM, RECENCY_TO = date(1990, 1, 1), date(2040, 1, 1)
# Writer memory, shared by the shards: tantivy flushes a segment whenever its arena fills.
INGEST_HEAP = 64_000_000
REBUILD_HEAP = 192_000_000
# A rebuild splits the index in two shards from this many papers on. Each shard ranks with
# its own term statistics: over 50k random papers each they differ from the whole store's
# by well under 1%, while a small store's two halves would rank differently from one index.
SHARD_PAPERS = 100_000
SHARDS = 2
# Ingest commits the index at most this often (and at the end of each input): each commit
# costs ~0.1 s of fsyncs, and a crash in between is repaired from the watermark.
COMMIT_SECONDS = 2.0
CHUNK = 500  # papers per SQLite read
SNIPPET_CHARS = 200
MAX_REMEMBERED_COUNTS = 100_000  # term counts, and respellings, a view keeps (see _remembered)
MIN_PREFIX = 2  # `a*` would expand to every term starting with a
# A phrase's hyphenated words are each matched joined or apart, up to this many (2**n
# spellings of the phrase, each a query of pair terms); more are all joined or all apart.
MAX_HYPHENATED = 3
# A joined word of a phrase is also matched apart ("pretrained": "pre-trained") when the
# index holds the pair in at least 1/APART_RATIO as many papers as the word, parts of at
# least MIN_PART letters.
APART_RATIO = 10
MIN_PART = 2
# A name and its version number, written together (`yolov8`, `llama2`, `ernie3.0`) or as
# a word of its own (`v8`, `2`, `3.0`): papers write both.
_NAME_VERSION = re.compile(r"([^\W\d_]{2,})(\d+(?:\.\d+)*)")
_VERSION_WORD = re.compile(r"[vV]?\d+(?:\.\d+)*")
_DIGIT = re.compile(r"\d")

# The text fields' analysis: tantivy's built-in "en_stem" with accents folded to ASCII, so
# `naive` finds "Naïve Bayes" and `café` a cafe. Each Index registers it as TOKENIZER;
# documents' words, queries, pairs and snippets are analyzed with EN_STEM (see SPLIT).
TOKENIZER = "en_fold"


# A word of this many bytes (UTF-8) or more is dropped from papers and queries alike.
LONG_WORD_BYTES = 40


def _analyzer(stem: bool) -> tantivy.TextAnalyzer:
    builder = (
        TextAnalyzerBuilder(Tokenizer.simple())
        .filter(Filter.remove_long(LONG_WORD_BYTES))
        .filter(Filter.lowercase())
        .filter(Filter.ascii_fold())
    )
    return (builder.filter(Filter.stemmer("english")) if stem else builder).build()


EN_STEM = _analyzer(stem=True)
LOWER = _analyzer(stem=False)


def _registered(index: tantivy.Index) -> tantivy.Index:
    """The index, able to analyze its text fields (each Index object needs it told)."""
    index.register_tokenizer(TOKENIZER, EN_STEM)
    return index


# The papers' documents hold their text fields' words already analyzed (the words their
# pairs are made of, see _add), so a writer's index only splits them at spaces: tantivy
# analyzing each text again took 1.3 of the writer's 8.2 s of CPU for 50,000 papers. The
# terms and word counts are the raw text's, so an index holds the same either way. A
# reader's index keeps EN_STEM under the name: snippets are cut from the raw abstract.
SPLIT = TextAnalyzerBuilder(Tokenizer.whitespace()).build()


def _for_writing(index: tantivy.Index) -> tantivy.Index:
    """The index, told that documents come with their words analyzed (see SPLIT)."""
    index.register_tokenizer(TOKENIZER, SPLIT)
    return index


class IndexBusy(PapersError):
    """Another process is writing the search index."""


class IndexWriteFailed(PapersError):
    """tantivy could not write the index's files (a full disk, its folder removed)."""


class IndexUnavailable(PapersError):
    """The search index cannot be opened or built right now."""


class IndexFromNewerVersion(IndexUnavailable):
    """The index was written by a newer version of papers (the other side of a deploy): it
    is left for that version, never rebuilt back to this one's."""


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", indexed=True, fast=True)
    for name in FIELDS:
        builder.add_text_field(name, tokenizer_name=TOKENIZER, index_option="freq")
        if name in PAIRED:
            builder.add_text_field(name + PAIRS, tokenizer_name="whitespace")
    builder.add_float_field("prior", fast=True)
    return builder.build()


def _alert_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", indexed=True, fast=True)
    builder.add_text_field("text", tokenizer_name=TOKENIZER)
    return builder.build()


SCHEMA = _schema()
ALERT_SCHEMA = _alert_schema()
ALERT_FIELDS = {"text": 1.0}
ALERT_HEAP = 64_000_000  # 10k new papers in one segment
# One indexing thread (stemming) runs beside the Python thread that parses the queries.
# Searching on two threads was measured slower (GIL hand-offs on every call cost more
# CPU than the parallel search saves).
ALERT_INDEX_THREADS = 1
ID_ORDER = {"order_by_field": "id", "order": Order.Asc}


# ---------------------------------------------------------------- documents


def paper_name(title: str) -> str | None:
    """'LoRA: Low-Rank Adaptation of …' → 'LoRA' (only a short part before ':' is a name)."""
    head, colon, _ = title.partition(":")
    if colon and 0 < len(head.split()) <= 4:
        return head.strip()
    return None


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def prior(upvotes: int, sources: int, day: date | None) -> float:
    """The fast-field value that makes tantivy's weight_by_field multiply bm25 by
    popularity × recency (it multiplies by log2(2 + value), so value = 2**g - 2)."""
    popularity = (
        1.0
        + UPVOTE_WEIGHT * math.log2(1 + max(upvotes, 0))
        + SOURCE_WEIGHT * math.log2(max(sources, 1))
    )
    day = min(max(day or RECENCY_TO, RECENCY_FROM), RECENCY_TO)
    years = (day - RECENCY_FROM).days / 365.25
    g = min(popularity * 2 ** (years / RECENCY_HALF_LIFE_YEARS), 1000.0)
    return 2.0**g - 2.0


# A name written with its version in one word ("YOLOv8", "Qwen2.5", "Llama2"), whole.
_NAMED_VERSION = re.compile(r"(?<![^\W_])([^\W\d_]{2,})(\d+(?:\.\d+)*)(?![^\W_]|\.\d)")


def _v_versioned(name: str) -> bool:
    """Whether the name's last letter is its version's v ("YOLOv8" is YOLO's v8)."""
    return name[-1] in "vV" and len(name) > 3


def version_names(text: str) -> str:
    """The names of the text's words written with their version ("YOLOv8" gives "YOLO",
    "Qwen2.5" "Qwen"): `qwen` finds the Qwen2.5 report, as it finds "Qwen 2.5"."""
    names = []
    for match in _NAMED_VERSION.finditer(text):
        name = match[1]
        names.append(name)
        if _v_versioned(name):
            names.append(name[:-1])
    return " ".join(dict.fromkeys(names))


# A word with an apostrophe in it ("Don't", "can’t"), whole.
_APOSTROPHED = re.compile(r"[^\W_]+(?:['’][^\W_]+)+")


def apostrophe_joins(text: str) -> str:
    """The joined form of each word with an apostrophe: "Don't" gives "Dont", as people
    type it (`dont stop pretraining`)."""
    return " ".join(m.replace("'", "").replace("’", "") for m in _APOSTROPHED.findall(text))


# In a token with a hyphen or an apostrophe: a hyphenated word, a word with an apostrophe,
# or a plain word (the "s" of "pre-training's", which ends a run).
_JOINABLE = re.compile(rf"({HYPHENATED.pattern})|({_APOSTROPHED.pattern})|[^\W_]+")
_WORD_CHAR = re.compile(r"[^\W_]")


def _joins(text: str) -> tuple[str, list[str]]:
    """The joined form of each hyphenated word ("pre-training" is found by "pretraining"),
    and the joined forms of each run of two or more hyphenated words or words with an
    apostrophe with no other word between them: "self-supervised pre-training with
    fine-tuning/multi-task" gives ["selfsupervised pretraining", "finetuning multitask"].
    Punctuation parts a run no more than it parts the text's own pairs, so `"multitask
    multimodal"` finds "multi-task/multi-modal" however rarely papers write it apart."""
    apostrophes = "'" in text or "’" in text
    if "-" not in text and not apostrophes:
        return "", []
    tokens = text.split()
    if apostrophes:
        marked = [i for i, t in enumerate(tokens) if "-" in t or "'" in t or "’" in t]
    else:  # most texts: one test per token
        marked = [i for i, t in enumerate(tokens) if "-" in t]
    joins: list[str] = []
    runs: list[str] = []
    run: list[str] = []
    last = -1  # the last token read into the run
    for i in marked:
        # The tokens between hold no hyphen or apostrophe: any word among them parts the run.
        if run and last + 1 < i and (tokens[last + 1].isalnum() or _any_word(tokens, last + 1, i)):
            if len(run) > 1:
                runs.append(" ".join(run))
            run = []
        for match in _JOINABLE.finditer(tokens[i]):
            if match[1]:
                joins.append(match[1].replace("-", ""))
                run.append(joins[-1])
            elif match[2]:
                run.append(match[2].replace("'", "").replace("’", ""))
            else:
                if len(run) > 1:
                    runs.append(" ".join(run))
                run = []
        last = i
    if len(run) > 1:
        runs.append(" ".join(run))
    return " ".join(joins), runs


def _any_word(tokens: list[str], lo: int, hi: int) -> bool:
    """Whether tokens[lo:hi] hold a word (most tokens are one word: no regex for those)."""
    return any(tokens[i].isalnum() or _WORD_CHAR.search(tokens[i]) for i in range(lo, hi))


def _values(text: str) -> tuple[list[str], list[str]]:
    """A field's values: the text, the joined forms of its hyphenated words ("pre-training"
    is found by "pretraining"), and the names of its versioned words ("YOLOv8" by `yolo`)
    with its words joined at an apostrophe ("Don't" by `dont`), each a value of its own
    (phrases never span two); and the runs of its joined words written side by side."""
    joins, runs = _joins(plain_hyphens(text))
    names = version_names(text) if _DIGIT.search(text) else ""
    if "'" in text or "’" in text:
        names = f"{names} {apostrophe_joins(text)}".strip()
    return [value for value in (text, joins, names) if value], runs


def _texts(row: dict) -> dict[str, tuple[list[str], list[str]]]:
    # An untitled paper's derived title is for display only: it is not indexed as a title.
    title = "" if row["title_derived"] else row["title"]
    name = paper_name(title) if title else None
    return {
        # The name's own joined and versioned forms, not the rest of the title's.
        "name": _values(name) if name else ([], []),
        "title": _values(title) if title else ([], []),
        "abstract": _values(row["abstract"]),
    }


def _pair_terms(words: list[str]) -> list[str]:
    # The one spelling of a pair term, for the documents and the queries alike.
    return list(map("_".join, zip(words, words[1:], strict=False)))


# Each word's stem, remembered: a batch's abstracts repeat a few thousand words, and one
# call into the analyzer per text (a list of Python strings back) cost more than splitting
# ASCII text here and looking its words up (measured: 28 against 10 us per abstract).
_STEMS: dict[bytes, str] = {}
# At most ~15 MB (~150 bytes a word and its stem, measured), kept for good by the worker,
# which indexes small inputs itself; a next-day file of 50,000 papers holds ~55,000 words.
MAX_STEMS = 100_000


def _stem(word: bytes) -> str:
    stem = _STEMS.get(word)
    if stem is None:
        if len(_STEMS) >= MAX_STEMS:
            _STEMS.clear()
        stem = _STEMS[word] = EN_STEM.analyze(word.decode())[0]
    return stem


def analyzed(text: str) -> list[str]:
    """The text's words as EN_STEM analyzes them (the same list, faster for ASCII text)."""
    if not text.isascii():
        return EN_STEM.analyze(text)
    # For ASCII the simple tokenizer's words are the runs of letters and digits.
    words = text.encode().translate(ASCII_WORDS).split()
    try:
        return list(map(_STEMS.__getitem__, words))  # every word seen before: most texts
    except KeyError:
        # A word of LONG_WORD_BYTES or more is dropped, as the analyzer drops it (never
        # remembered, so a text holding one always comes this way).
        return [_stem(w) for w in words if len(w) < LONG_WORD_BYTES]


def _add(doc: Document, field: str, values: list[str], runs: list[str]) -> None:
    # Each value's words, analyzed once, space-separated for the field ("languag model"):
    # a writer's index splits them at spaces. The twin field pairs the words of the text
    # (the first value) and of its runs of joined words ("languag_model"), not the other
    # values: they list words the text may write apart (see _values).
    for i, value in enumerate(values):
        words = analyzed(value)
        doc.add_text(field, " ".join(words))
        if i == 0 and field in PAIRED:
            doc.add_text(field + PAIRS, " ".join(_pair_terms(words)))
            for run in runs:
                doc.add_text(field + PAIRS, " ".join(_pair_terms(analyzed(run))))


def _document(row: dict) -> Document:
    doc = Document(id=row["id"])
    for field, (values, runs) in _texts(row).items():
        _add(doc, field, values, runs)
    # A paper of unknown date (an arXiv replacement) is as recent as its id, not its ingest.
    day = _day(row["published"]) or arxiv_month(row["arxiv_id"]) or _day(row["first_seen_at"])
    doc.add_float("prior", prior(row["upvotes"] or 0, row["sources"] or 0, day))
    return doc


def _alert_document(row: dict) -> Document:
    # The title's and abstract's words and adjacent words as in the main index's fields (no
    # name), in one field with positions: the text and its runs of joined words, each a
    # value, and every other word of their other values alone (phrases never span two).
    title = "" if row["title_derived"] else row["title"]
    texts: list[str] = []
    for text in (title, row["abstract"]):
        if text:
            (first, *others), runs = _values(text)
            texts += [first, *runs, *" ".join(others).split()]
    return Document(id=row["id"], text=texts)


_ROWS = """SELECT p.id, p.arxiv_id, p.title, p.title_derived, p.abstract, p.published,
    p.first_seen_at,
    s.upvotes, s.sources FROM papers p LEFT JOIN (
        SELECT paper_id, MAX(upvotes) AS upvotes, COUNT(DISTINCT source_id) AS sources
        FROM sightings WHERE {where_s} GROUP BY paper_id
    ) s ON s.paper_id = p.id WHERE {where_p} ORDER BY p.id"""


def _rows_by_ids(db: Database, ids: list[int]) -> Iterator[dict]:
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        marks = ",".join("?" * len(chunk))
        sql = _ROWS.format(where_s=f"paper_id IN ({marks})", where_p=f"p.id IN ({marks})")
        yield from db.query(sql, [*chunk, *chunk])


def _rows_in_range(db: Database, low: int, high: int) -> Iterator[list[dict]]:
    """Papers with low < id <= high, CHUNK ids at a time (never a million-row IN list)."""
    sql = _ROWS.format(where_s="paper_id > ? AND paper_id <= ?", where_p="p.id > ? AND p.id <= ?")
    while low < high:
        upper = min(low + CHUNK * 4, high)
        yield list(db.query(sql, [low, upper, low, upper]))
        low = upper


def _marks(db: Database) -> tuple[int, int]:
    row = db.conn.execute(
        "SELECT (SELECT COALESCE(MAX(id), 0) FROM papers), (SELECT COALESCE(MAX(id), 0) FROM"
        " sightings)"
    ).fetchone()
    return int(row[0]), int(row[1])


# ---------------------------------------------------------------- location, health


def index_dir(db: Database) -> Path:
    """The index folder of a database file: `<db>.index/` beside it."""
    path = database_file(db)
    if path is None:
        raise IndexUnavailable("Search needs a database file (not an in-memory database).")
    return path.with_name(path.name + ".index")


def _watermark_data(path: Path) -> dict | None:
    """The watermark at path as whichever version of papers wrote it, or None."""
    try:
        data = json.loads((path / WATERMARK).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _current(data: dict | None) -> dict | None:
    """A watermark this version of papers wrote, or None."""
    return data if data is not None and data.get("version") == VERSION else None


def _read_watermark(path: Path) -> dict | None:
    return _current(_watermark_data(path))


def _newer(data: dict | None) -> int | None:
    """The index version of a watermark a newer version of papers wrote, if it is one."""
    version = data.get("version") if data is not None else None
    return version if isinstance(version, int) and version > VERSION else None


def _write_watermark(path: Path, papers: int, sightings: int, layout: Layout) -> None:
    tmp = path / (WATERMARK + ".tmp")
    mark = {
        "version": VERSION,
        "paper_id": papers,
        "sighting_id": sightings,
        "dirs": layout.dirs,
        "generation": layout.generation,
    }
    with open(tmp, "w") as out:
        out.write(json.dumps(mark))
        out.flush()
        os.fsync(out.fileno())  # durable before a reshard deletes the folders it replaced
    os.replace(tmp, path / WATERMARK)


@dataclass(frozen=True)
class Layout:
    """Which folders hold the shards: "" is the index folder itself (an index of one shard
    is laid out as before shards), a rebuild into another shard count writes a new
    generation of folders (`g1s0`, `g1s1`) and switches to it with the watermark."""

    dirs: list[str]
    generation: int = 0

    @classmethod
    def read(cls, mark: dict) -> Layout | None:
        """The watermark's layout, or None if it names no usable folders."""
        if "shards" in mark and "dirs" not in mark:  # a development build's layout
            return None
        dirs = mark.get("dirs", [""])
        generation = mark.get("generation", 0)
        if not isinstance(dirs, list) or not 1 <= len(dirs) <= SHARDS:
            return None
        if not all(isinstance(d, str) and (d == "" or _GEN_DIR.fullmatch(d)) for d in dirs):
            return None
        return cls(dirs, generation if isinstance(generation, int) else 0)

    @classmethod
    def fresh(cls, shards: int, generation: int) -> Layout:
        """A new generation's folders for `shards` shards."""
        return cls([f"g{generation}s{i}" for i in range(shards)], generation)


_GEN_DIR = re.compile(r"g\d+s\d+")


def _shard_of(paper_id: int, shards: int) -> int:
    return paper_id % shards


def _commit_lock(path: Path):
    return open(path.with_name(path.name + ".commit"), "a+")  # noqa: SIM115


def _open_shard(path: Path) -> tantivy.Index:
    if not path.is_dir() or not tantivy.Index.exists(str(path)):
        raise FileNotFoundError(f"no index in {path}")
    index = _registered(tantivy.Index.open(str(path)))
    index.searcher().num_docs  # noqa: B018 - opens every segment: corrupt files fail here
    return index


def _open(path: Path) -> tuple[list[tantivy.Index] | None, Layout | None, str]:
    """The index's shards at path and their layout, or None and why it cannot be used."""
    if path.exists() and not path.is_dir():
        return None, None, "a file, not a folder"
    if not path.is_dir() or not any(path.iterdir()):
        return None, None, "missing"
    data = _watermark_data(path)  # read once: its version says which of the two it is
    mark = _current(data)
    if mark is None:
        if newer := _newer(data):
            return None, None, f"from a newer version of papers (index version {newer})"
        return None, None, "from an older version or never completed"
    layout = Layout.read(mark)
    if layout is None:
        return None, None, f"laid out in unknown folders ({mark.get('dirs')!r})"
    try:
        return [_open_shard(path / d) for d in layout.dirs], layout, ""
    except (ValueError, OSError) as exc:
        return None, None, f"unreadable ({exc})"


def _target_shards(db: Database) -> int:
    """How many shards a rebuild makes for the store's size."""
    return SHARDS if paper_count(db) >= SHARD_PAPERS else 1


# ---------------------------------------------------------------- writing


def _remove_own_files(path: Path) -> None:
    """Delete the index files in the folder itself (not the watermark, not the shards'
    folders): a layout of generation folders has none there."""
    for item in path.iterdir():
        if item.is_file() and not item.name.startswith(WATERMARK):
            item.unlink(missing_ok=True)


class Writer:
    """The one writer of an index: indexes what changed past the watermark, commits."""

    def __init__(self, db: Database, heap: int = INGEST_HEAP, downgrade: bool = False) -> None:
        """Take the index's lock; raises IndexBusy while another process holds it, and
        IndexFromNewerVersion for an index a newer version wrote, unless `downgrade`."""
        self.db = db
        self.path = index_dir(db)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.path.with_name(self.path.name + ".lock"), "a+")  # noqa: SIM115
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise IndexBusy(
                "The search index is being written by another process (the worker's or"
                " another `papers` ingest or reindex); try again when it finishes."
            ) from None
        try:
            shards, layout, why = _open(self.path)
            if shards is None and not downgrade:
                _refuse_newer(self.path)
            self.fresh = shards is None
            if shards is None:
                if why != "missing" or self.path.exists():
                    log.warning(
                        "search index at %s is %s: rebuilding it from SQLite", self.path, why
                    )
                elif db["papers"].count:
                    log.warning("search index at %s is missing: building it from SQLite", self.path)
                else:  # a new database: its index is simply made, nothing was lost
                    log.debug("creating the search index at %s", self.path)
                if self.path.is_dir():
                    shutil.rmtree(self.path, ignore_errors=True)
                else:  # a file in the folder's place (or nothing)
                    self.path.unlink(missing_ok=True)
                self.path.mkdir()
                # No watermark until the first commit: readers see "being built" till then.
                # One shard in the folder itself, or a first generation of two.
                shards_wanted = _target_shards(db)
                layout = Layout([""]) if shards_wanted == 1 else Layout.fresh(shards_wanted, 1)
                shards = [self._create(d) for d in layout.dirs]
                heap = max(heap, REBUILD_HEAP)
            else:
                self._drop_strays(layout)
            self.heap, self.layout, self.shards = heap, layout, shards
            mark = _read_watermark(self.path) or {}
            self.papers, self.sightings = mark.get("paper_id", 0), mark.get("sighting_id", 0)
            self.writers = [self._writer(index) for index in shards]
        except BaseException:
            self._release()
            raise
        self._pending: tuple[int, int] | None = None
        self._old: Layout | None = None  # the layout a reshard leaves, removed at its commit
        self._old_writers: list[tantivy.IndexWriter] = []  # its writers, closed before that
        self._last_commit = time.monotonic()

    def _release(self) -> None:
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()

    def _create(self, folder_name: str) -> tantivy.Index:
        folder = self.path / folder_name
        if folder_name:
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
        return _registered(tantivy.Index(SCHEMA, path=str(folder)))

    def _drop_strays(self, layout: Layout) -> None:
        # A reshard killed before its watermark leaves a generation nothing names; one
        # killed after it, the files of the layout it replaced.
        for folder in self.path.iterdir():
            stray = _GEN_DIR.fullmatch(folder.name) and folder.name not in layout.dirs
            if stray and folder.is_dir():
                shutil.rmtree(folder, ignore_errors=True)
        if "" not in layout.dirs:
            _remove_own_files(self.path)

    def _writer(self, index: tantivy.Index) -> tantivy.IndexWriter:
        # One indexing thread per shard. An ingest's shards share its heap (at least
        # tantivy's 15 MB floor each). A rebuild gives each shard the whole REBUILD_HEAP:
        # with half each, a shard of 500k papers was left in ten segments (seven of ~21k
        # papers) that the next ingest merged, at 50 s more CPU and 350 MB more memory
        # for a 50k file than into one well-merged index.
        _for_writing(index)
        if self.heap >= REBUILD_HEAP:
            return index.writer(heap_size=self.heap, num_threads=1)
        return index.writer(heap_size=max(self.heap // len(self.shards), 16_000_000), num_threads=1)

    def _put(self, rows: Iterable[dict], replace: bool = True) -> int:
        """Add the rows' documents; `replace` deletes each paper's old one first."""
        n, shards = 0, len(self.writers)
        for row in rows:
            writer = self.writers[_shard_of(row["id"], shards)]
            if replace:
                writer.delete_documents_by_term("id", row["id"])
            writer.add_document(_document(row))
            n += 1
        return n

    def _put_new(self, low: int, high: int) -> int:
        """Index the papers with low < id <= high. A crash after a commit and before its
        watermark left some of them indexed: one range delete drops those, where a delete
        per paper held ~1 KB each until the commit (a 200k-paper build: 565 MB peak and
        132 s CPU, against 341 MB and 123 s; measured)."""
        for writer in self.writers:
            writer.delete_documents_by_query(id_range(low, high))
        return sum(self._put(rows, replace=False) for rows in _rows_in_range(self.db, low, high))

    def sync(self, changed: Iterable[int] = (), commit: bool = False) -> int:
        """Index the papers past the watermark (new papers, new sightings) and `changed`;
        commit when asked or COMMIT_SECONDS after the last commit. Returns papers indexed."""
        papers, sightings = _marks(self.db)
        done = 0
        if papers > self.papers:
            done += self._put_new(self.papers, papers)
        seen = {
            row[0]
            for row in self.db.conn.execute(
                "SELECT DISTINCT paper_id FROM sightings WHERE id > ? AND id <= ?",
                [self.sightings, sightings],
            )
        }
        # Papers new since the watermark were just indexed whole; the others changed.
        again = sorted(i for i in seen | set(changed) if not self.papers < i <= papers)
        done += self._put(_rows_by_ids(self.db, again))
        if done or self.fresh or (papers, sightings) != (self.papers, self.sightings):
            self._pending = (papers, sightings)
        self.papers, self.sightings = papers, sightings
        if commit or self.fresh or time.monotonic() - self._last_commit >= COMMIT_SECONDS:
            self.commit()
        return done

    def commit(self) -> None:
        """Make what was added visible to readers at once, then move the watermark."""
        if self._pending is None:
            return
        with _commit_lock(self.path) as lock:
            # Readers reload only under a shared hold: none sees one shard's commit alone.
            fcntl.flock(lock, fcntl.LOCK_EX)
            for writer in self.writers:
                writer.commit()
            # The switch: from here on readers open the folders this names.
            _write_watermark(self.path, *self._pending, self.layout)
            if self._old is not None:
                self._remove(self._old)
                self._old = None
        self._pending = None
        self.fresh = False
        self._last_commit = time.monotonic()

    def _remove(self, old: Layout) -> None:
        """Delete a layout's folders no watermark names any more (under the commit lock, so
        no reader is opening them): the folder itself holds an index only in layout [""]."""
        self._old_writers = []
        for name in old.dirs:
            if name:
                shutil.rmtree(self.path / name, ignore_errors=True)
            else:
                _remove_own_files(self.path)

    def _reshard(self, shards: int) -> None:
        """Empty every shard; a new shard count is written into a new generation of folders,
        while readers (and a crash) keep the old ones until the commit's watermark."""
        if shards != len(self.shards):
            self._old, self._old_writers = self.layout, self.writers
            self.layout = Layout.fresh(shards, self.layout.generation + 1)
            self.shards = [self._create(d) for d in self.layout.dirs]
            self.writers = [self._writer(index) for index in self.shards]
        for writer in self.writers:
            writer.delete_all_documents()

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Index every paper again, in as many shards as the store's size asks for;
        readers see the old index until the single commit."""
        papers, sightings = _marks(self.db)
        self._reshard(_target_shards(self.db))
        done = 0
        for rows in _rows_in_range(self.db, 0, papers):
            done += self._put(rows, replace=False)  # every shard was just emptied
            if progress:
                progress(len(rows))
        self.papers, self.sightings = papers, sightings
        self._pending = (papers, sightings)
        self.commit()
        return done

    def close(self) -> None:
        """Commit what is pending and give the lock up."""
        try:
            self.commit()
            for writer in self.writers:
                writer.wait_merging_threads()
        finally:
            self._release()

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_told_newer: set[tuple[str, int]] = set()


def _refuse_newer(path: Path) -> None:
    """Raise IndexFromNewerVersion if a newer version of papers wrote the index at path:
    during a deploy the old bot or worker must not rebuild it back (and the new one then
    again), and after a downgrade only `papers reindex` rebuilds it."""
    newer = _newer(_watermark_data(path))
    if newer is None:
        return
    if (str(path), newer) not in _told_newer:  # once per process: the bot asks at each search
        _told_newer.add((str(path), newer))
        log.warning(
            "search index at %s was written by a newer version of papers (index version %s;"
            " this one writes %s): left as it is. If papers was downgraded, run `papers"
            " reindex` once.",
            path,
            newer,
            VERSION,
        )
    raise IndexFromNewerVersion(
        "Search is being upgraded to a newer version of papers; try again in a minute."
    )


def writer(db: Database, heap: int = INGEST_HEAP) -> Writer:
    """The index's writer, with the index repaired or rebuilt first; raises IndexBusy."""
    w = Writer(db, heap=heap)
    try:
        w.sync(commit=True)
    except BaseException:
        w.close()
        raise
    return w


def open_for_ingest(db: Database, heap: int = INGEST_HEAP) -> Writer | None:
    """The writer for an ingest, or None (with a warning) while another process writes:
    the papers stay in SQLite past the watermark and the next writer indexes them."""
    try:
        return writer(db, heap=heap)
    except IndexFromNewerVersion:  # logged; the newer version indexes these papers
        return None
    except IndexBusy:
        log.warning(
            "search index %s is being written by another process: new papers become"
            " searchable when that process or the next ingest catches up",
            index_dir(db),
        )
        return None


def held_elsewhere(db: Database) -> bool:
    """Whether another process (or writer) holds the index's writer lock right now."""
    path = index_dir(db)
    with open(path.with_name(path.name + ".lock"), "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
        return False


def ensure(db: Database) -> bool:
    """Repair the index (papers past the watermark) or rebuild it if missing or corrupt, as
    the worker does at start; False when another process is writing it, or when a newer
    version of papers wrote it."""
    try:
        writer(db).close()
    except IndexBusy:
        log.info("search index is being written by another process; it repairs itself")
        return False
    except IndexFromNewerVersion:  # logged
        return False
    return True


def unsplit(db: Database) -> int | None:
    """The store's paper count when its index is in fewer shards than a rebuild would
    make (it grew past SHARD_PAPERS since), else None: `papers reindex` splits it."""
    mark = _read_watermark(index_dir(db))
    layout = Layout.read(mark) if mark else None
    if layout is None or len(layout.dirs) >= SHARDS:
        return None
    papers = paper_count(db)
    return papers if papers >= SHARD_PAPERS else None


def split_hint(db: Database) -> str | None:
    """What to tell an admin whose store grew past one shard (`unsplit`), or None."""
    papers = unsplit(db)
    if not papers:
        return None
    return (
        f"The store holds {papers} papers and its search index one shard: run `papers reindex` once"
        " to split it in two, searched on two cores at once."
    )


def reindex(db: Database, progress: Callable[[int], None] | None = None) -> int:
    """Rebuild the whole index from SQLite (`papers reindex`); raises IndexBusy, and
    IndexWriteFailed when its files cannot be written."""
    try:
        with Writer(db, heap=REBUILD_HEAP, downgrade=True) as w:
            return w.rebuild(progress)
    except (ValueError, OSError) as exc:  # tantivy's I/O errors: one line, not a traceback
        first = exc
        # The writer's close after a failed write fails again: name the first error.
        while isinstance(first.__context__, ValueError | OSError):
            first = first.__context__
        raise IndexWriteFailed(
            f"The search index at {index_dir(db)} could not be written ({first}); the rebuild"
            " was not completed. Check that its disk has room and that nothing removes the"
            " folder, then run `papers reindex` again."
        ) from exc


def paper_count(db: Database) -> int:
    """Papers in SQLite, for the progress bar of a rebuild."""
    return int(db.conn.execute("SELECT COUNT(*) FROM papers").fetchone()[0])


# ---------------------------------------------------------------- reading


def _remembered(memo: dict, key, compute: Callable[[], Any]) -> Any:
    """memo[key], computed once (a view's memo: its answers never change); a memo grown to
    MAX_REMEMBERED_COUNTS starts again rather than grow without bound."""
    value = memo.get(key)
    if value is None:
        if len(memo) >= MAX_REMEMBERED_COUNTS:
            memo.clear()
        value = memo[key] = compute()
    return value


class Searcher:
    """One consistent view of every shard: search, count and look up terms across them."""

    def __init__(self, parts: list[tantivy.Searcher], newest: int = 0) -> None:
        self.parts = parts
        # The watermark's paper id read with this view: every paper up to it is in it.
        self.newest = newest
        # Term counts of this fixed view, remembered: respelling a phrase looks up dozens,
        # and alert runs and busy bots look up the same words again and again.
        self._counts: dict[tuple[str, str], int] = {}
        # Each word's spelling with the hyphen papers also write (see _apart), for the same
        # reason: a run of phrase alerts respells the same words thousands of times.
        self.spelled: dict[str, str] = {}

    @property
    def num_docs(self) -> int:
        """Papers in the view."""
        return sum(part.num_docs for part in self.parts)

    def doc_freq(self, field: str, term: str) -> int:
        """In how many papers the field holds the (analyzed) term."""
        return _remembered(
            self._counts,
            (field, term),
            lambda: sum(part.doc_freq(field, term) for part in self.parts),
        )

    def terms_with_prefix(self, field: str, prefix: str, limit: int) -> list[tuple[str, int]]:
        """The field's commonest terms that start with prefix, with their counts."""
        counts: dict[str, int] = {}
        for part in self.parts:
            # Each shard's commonest few, and more: the store's commonest may be each
            # shard's limit + 1st.
            wider = limit * 4 if len(self.parts) > 1 else limit
            for word, n in part.terms_with_prefix(field, prefix, limit=wider):
                counts[word] = counts.get(word, 0) + n
        return sorted(counts.items(), key=lambda item: -item[1])[:limit]

    def each(self, work: Callable[[tantivy.Searcher], object]) -> list:
        """work(part) for every shard, the others on the pool's threads while this one
        runs the first (tantivy releases the interpreter lock while it searches)."""
        if len(self.parts) == 1:
            return [work(self.parts[0])]
        others = [_pool().submit(work, part) for part in self.parts[1:]]
        return [work(self.parts[0])] + [future.result() for future in others]


class _View:
    """A process's handles on one index folder and its last consistent searcher."""

    def __init__(self, shards: list[tantivy.Index], layout: Layout) -> None:
        self.shards = shards
        self.layout = layout
        self.searcher: Searcher | None = None


def _open_for_reading(path: Path) -> tuple[list[tantivy.Index] | None, Layout | None, str]:
    # Under a shared hold: a rebuild removes the folders it replaced at its commit.
    with _commit_lock(path) as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        return _open(path)


_views: dict[str, _View] = {}
_views_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            # Enough for the bot's reply threads to search at once.
            _executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="shard")
        return _executor


def _view(db: Database, refresh: bool = False) -> _View:
    path = index_dir(db)
    key = str(path)
    with _views_lock:
        view = None if refresh else _views.get(key)
        if view is not None:
            return view
        shards, layout, why = _open_for_reading(path)
    if shards is None:
        # A newer version's index is refused without taking its writer's lock,
        # which that version's ingest may want at the same moment.
        _refuse_newer(path)
        # Built here only when no writer holds it (a fresh install, a deleted folder, an
        # upgrade). Not under _views_lock: this process's other searches meanwhile find
        # the writer's lock taken and say so, rather than wait for the whole rebuild.
        try:
            writer(db, REBUILD_HEAP).close()
        except IndexBusy:
            raise IndexUnavailable(
                "The search index is being built; try again in a minute."
            ) from None
        shards, layout, why = _open_for_reading(path)
        if shards is None:
            raise IndexUnavailable(f"The search index is {why}; run `papers reindex`.")
    with _views_lock:
        view = _views[key] = _View(shards, layout)
    return view


def _reload(db: Database, view: _View) -> Searcher:
    path = index_dir(db)
    # A descriptor per call, not one per view: flock belongs to the open file, so threads
    # sharing one would release each other's holds.
    with _commit_lock(path) as lock:
        try:
            # While the writer commits its shards, keep the last view (whole batches only).
            fcntl.flock(lock, fcntl.LOCK_SH | (fcntl.LOCK_NB if view.searcher else 0))
        except BlockingIOError:
            return view.searcher
        mark = _read_watermark(path)
        if mark is None:
            # Being rebuilt from scratch: the last view meanwhile. Deleted: opened afresh
            # (and so rebuilt, or "being built" while a writer is at it).
            if view.searcher and path.is_dir():
                return view.searcher
            raise ValueError("the index has no watermark")
        if Layout.read(mark) != view.layout:  # a rebuild moved it to other folders
            raise ValueError(f"the index moved to {mark.get('dirs')}")
        for index in view.shards:
            index.reload()
        parts = [index.searcher() for index in view.shards]
        view.searcher = Searcher(parts, mark.get("paper_id", 0))
        return view.searcher


def searcher(db: Database) -> Searcher:
    """A searcher over the newest commit of every shard (a snapshot: whole batches only)."""
    try:
        return _reload(db, _view(db))
    except (ValueError, OSError) as exc:
        # Rebuilt or replaced under us: open it afresh (rebuilding it if need be).
        log.warning("search index reopened after: %s", exc)
        try:
            return _reload(db, _view(db, refresh=True))
        except (ValueError, OSError):  # replaced again meanwhile: a rebuild under way
            raise IndexUnavailable(
                "The search index is being built; try again in a minute."
            ) from None


def indexed_ids(db: Database) -> list[int]:
    """Every paper id in the index's newest commit, in id order, repeats included (checks)."""
    search = searcher(db)
    total = search.num_docs
    return first_by_id(search, Query.all_query(), total) if total else []


def watermark(db: Database) -> tuple[int, int] | None:
    """(highest paper id, highest sighting id) the index reflects, or None if unusable."""
    mark = _read_watermark(index_dir(db))
    return (mark["paper_id"], mark["sighting_id"]) if mark else None


def papers_behind(db: Database) -> int | None:
    """How many stored papers the index does not hold yet (past its watermark), or None
    when there is no usable index (missing, outdated: the next start rebuilds it)."""
    mark = watermark(db)
    if mark is None:
        return None
    row = db.conn.execute("SELECT COUNT(*) FROM papers WHERE id > ?", [mark[0]]).fetchone()
    return int(row[0])


def forget_readers() -> None:
    """Drop the cached index handles (tests that replace an index under a process)."""
    with _views_lock:
        _views.clear()


# ---------------------------------------------------------------- queries


@dataclass(frozen=True)
class Term:
    """One query term: kind is "word" (hyphens allowed), "phrase" or "prefix"."""

    kind: str
    text: str


def _single(schema: tantivy.Schema, field: str, tokens: list[str]) -> Query | None:
    """One word, or consecutive words: one pair term, or a phrase of pairs."""
    if not tokens:
        return None
    if len(tokens) == 1:
        return Query.term_query(schema, field, tokens[0])
    if field in POSITIONS:
        return Query.phrase_query(schema, field, tokens)
    if field not in PAIRED:
        return None
    twos = _pair_terms(tokens)
    if len(twos) == 1:
        return Query.term_query(schema, field + PAIRS, twos[0])
    return Query.phrase_query(schema, field + PAIRS, twos)


def _prefixes(term: Term) -> list[str]:
    """The index terms a prefix may start: its stem, and its lowercase form when the stem is
    not a prefix of it (`transformer*` also finds `transformers`, indexed as `transform`)."""
    raw = LOWER.analyze(term.text.replace("-", ""))
    if not raw or len(raw[0]) < MIN_PREFIX:
        return []
    stem = EN_STEM.analyze(raw[0])
    return sorted({raw[0], *stem})


def _spellings(text: str) -> list[list[str]]:
    """The analyzed words a word or phrase may be written as: each hyphenated word joined
    or apart, on its own (`"large-scale pre-trained"` is also "large-scale pretrained")."""
    options = []
    for word in text.split():
        apart = EN_STEM.analyze(word)
        joined = EN_STEM.analyze(word.replace("-", "")) if "-" in word else apart
        options.append([joined, apart] if joined != apart else [apart])
    if sum(len(o) > 1 for o in options) > MAX_HYPHENATED:
        # Too many spellings to try each: all joined, or all apart (one slot, two choices).
        options = [[[w for o in options for w in o[0]], [w for o in options for w in o[-1]]]]
    spelled = [[w for words in combo for w in words] for combo in itertools.product(*options)]
    return [list(words) for words in dict.fromkeys(map(tuple, spelled)) if words]


def _field_query(schema: tantivy.Schema, field: str, term: Term) -> Query | None:
    if term.kind == "prefix":
        starts = _prefixes(term)
        if not starts:
            return _single(schema, field, EN_STEM.analyze(term.text.replace("-", "")))
        # Analyzer output is lowercase letters and digits only: safe inside a regex.
        return Query.regex_query(schema, field, "(" + "|".join(starts) + ").*")
    # A hyphenated word is indexed with its joined form too: "pre-training" is `pretrain`
    # or `pre train` (a word or in a phrase alike).
    subs = [q for q in (_single(schema, field, w) for w in _spellings(term.text)) if q]
    if len(subs) > 1:
        return Query.boolean_query([(Occur.Should, q) for q in subs])
    return subs[0] if subs else None


def apart(search: Searcher, term: Term) -> Term:
    """The term with its words the papers also write otherwise hyphenated as typed, so it
    matches both spellings: `"pretrained models"` → `"pre-trained models"` when some paper
    has "pre trained" (a word pair of the index), `"pre trained models"` → the same when
    some has "pretrained", `yolov8` → `yolo-v8` when some has "YOLO v8"; never to a
    spelling far rarer than the typed one (`within` is not `with in`)."""
    if term.kind == "word" and "-" not in term.text:
        return Term("word", _versioned(search, term.text))
    if term.kind != "phrase":
        return term
    words = term.text.split()
    if len(words) < 2:
        return term
    words = [_versioned(search, w) if w[-1].isdigit() else _apart(search, w) for w in words]
    joined = [words[0]]
    for word in words[1:]:
        if _together(search, joined[-1], word):
            joined[-1] += "-" + word
        else:
            joined.append(word)
    return Term("phrase", " ".join(joined))


def _versioned(search: Searcher, word: str) -> str:
    """A name typed with its version (`yolov8`, `llama2`) hyphenated before the version
    where papers write the two apart ("YOLO v8", "Llama 2"), so it matches both."""
    match = _NAME_VERSION.fullmatch(word)
    if match is None:
        return word
    name, version = match.groups()
    cuts = [(name, version)]
    if name[-1] in "vV" and len(name) > 2:
        cuts.append((name[:-1], name[-1] + version))  # "YOLO v8", not "YOLOv 8"
    best, most = word, 0
    for head, tail in cuts:
        pair = _pair_terms(EN_STEM.analyze(f"{head} {tail}"))[:1]
        found = max(search.doc_freq(f + PAIRS, pair[0]) for f in PAIRED) if pair else 0
        if found > most:
            best, most = f"{head}-{tail}", found
    return best


def version_join(search: Searcher, name: str, version: str) -> Term | None:
    """A name and its version typed as two words (`YOLO v8`, `DeBERTa V3`) as the one word
    papers write (`YOLOv8`), hyphenated so it finds both spellings; None if no paper has it."""
    if not (name.isalpha() and len(name) > 1 and _VERSION_WORD.fullmatch(version)):
        return None
    joined = EN_STEM.analyze(name + version)
    if not joined or max(search.doc_freq(f, joined[0]) for f in PAIRED) == 0:
        return None
    return Term("word", f"{name}-{version}")


def word_join(search: Searcher, first: str, second: str) -> Term | None:
    """Two typed words (`pre training`, `data set`) as the one word papers also write
    (`pretraining`), hyphenated so it finds both spellings; None when no paper writes it
    so, or far more papers write them apart (`with in` is not `within`)."""
    if not (first.isalpha() and second.isalpha() and _together(search, first, second)):
        return None
    return Term("word", f"{first}-{second}")


def _together(search: Searcher, first: str, second: str) -> bool:
    """Whether two typed words of a phrase are also written as one (`pre trained`, `YOLO
    v8`)."""
    if not (first.isalpha() and (second.isalpha() or _VERSION_WORD.fullmatch(second))):
        return False
    pair, joined = EN_STEM.analyze(f"{first} {second}"), EN_STEM.analyze(first + second)
    if len(pair) != 2 or len(joined) != 1:
        return False
    found = max(search.doc_freq(f, joined[0]) for f in PAIRED)
    return found > 0 and found * APART_RATIO >= max(
        search.doc_freq(f + PAIRS, "_".join(pair)) for f in PAIRED
    )


def _apart(search: Searcher, word: str) -> str:
    """A joined word hyphenated where papers write it apart often enough (see apart)."""
    if len(word) < 2 * MIN_PART or not word.isalpha():
        return word
    return _remembered(search.spelled, word, lambda: _cut_where_apart(search, word))


def _cut_where_apart(search: Searcher, word: str) -> str:
    joined = EN_STEM.analyze(word)
    if len(joined) != 1:
        return word
    floor = max(search.doc_freq(f, joined[0]) for f in PAIRED) / APART_RATIO
    best, most = word, 0
    for cut in range(MIN_PART, len(word) - MIN_PART + 1):
        pair = EN_STEM.analyze(word[:cut]) + EN_STEM.analyze(word[cut:])
        if len(pair) != 2:
            continue
        found = max(search.doc_freq(f + PAIRS, "_".join(pair)) for f in PAIRED)
        if found > most and found >= floor:
            best, most = word[:cut] + "-" + word[cut:], found
    return best


def _term_query(schema: tantivy.Schema, fields: dict[str, float], term: Term) -> Query | None:
    subs = []
    for field, boost in fields.items():
        query = _field_query(schema, field, term)
        if query is not None:
            subs.append(query if boost == 1.0 else Query.boost_query(query, boost))
    if len(subs) > 1:
        return Query.boolean_query([(Occur.Should, q) for q in subs])
    return subs[0] if subs else None


def build_query(
    groups: list[list[Term]],
    excludes: list[Term],
    schema: tantivy.Schema = SCHEMA,
    fields: dict[str, float] | None = None,
    cache: dict[Term, Query | None] | None = None,
) -> Query:
    """All groups must match (a group: any of its terms), no excluded term may."""
    fields = fields or FIELDS
    cache = {} if cache is None else cache

    def one(term: Term) -> Query | None:
        if term not in cache:
            cache[term] = _term_query(schema, fields, term)
        return cache[term]

    clauses: list[tuple[Occur, Query]] = []
    for group in groups:
        either = [q for q in (one(t) for t in group) if q is not None]
        if len(either) == 1:
            clauses.append((Occur.Must, either[0]))
        elif either:
            clauses.append((Occur.Must, Query.boolean_query([(Occur.Should, q) for q in either])))
    if not clauses:
        return Query.empty_query()
    for term in excludes:
        query = one(term)
        if query is not None:
            clauses.append((Occur.MustNot, query))
    return clauses[0][1] if len(clauses) == 1 else Query.boolean_query(clauses)


def _highlight_query(search: Searcher, groups: list[list[Term]]) -> Query | None:
    """The abstract terms to mark in snippets (a regex has no terms of its own: a prefix
    is expanded to the index's commonest terms that start with it)."""
    subs = []
    for term in (t for group in groups for t in group):
        if term.kind == "prefix":
            for start in _prefixes(term):
                subs += [
                    Query.term_query(SCHEMA, "abstract", word)
                    for word, _ in search.terms_with_prefix("abstract", start, limit=20)
                ]
        else:
            # The fragment is chosen for each word of a phrase or hyphenated word, in either
            # spelling.
            long = _long_words(term)
            words = sorted(set(EN_STEM.analyze(f"{long} {long.replace('-', '')}")))
            subs += [Query.term_query(SCHEMA, "abstract", w) for w in words]
    if not subs:
        return None
    return Query.boolean_query([(Occur.Should, q) for q in subs])


# ---------------------------------------------------------------- searching


@dataclass
class Hits:
    """One page of hits, best first, and the exact number of matches."""

    total: int
    ids: list[int]
    scores: list[float]


def _scored(part: tantivy.Searcher, query: Query, limit: int, offset: int, weight: dict):
    # limit=0 is a panic in the bindings, not an error.
    found = part.search(query, max(limit, 1), count=True, offset=offset, **weight)
    hits = found.hits[:limit]
    ids = part.fast_field_values("id", [address for _, address in hits]) if hits else []
    return found.count or 0, [(score, int(i)) for (score, _), i in zip(hits, ids, strict=True)]


def _merged(found: list[tuple[int, list[tuple[float, int]]]]) -> list[tuple[float, int]]:
    """The shards' ranked hits as one ranking: by score, and a tie as each shard broke it
    (shard by shard, in its own order), so each shard's first hits hold the merged first."""
    ranked = [
        (-score, shard, position, paper_id)
        for shard, (_, hits) in enumerate(found)
        for position, (score, paper_id) in enumerate(hits)
    ]
    return [(-score, paper_id) for score, _, _, paper_id in sorted(ranked)]


def top(search: Searcher, query: Query, limit: int, offset: int = 0, prior: bool = True) -> Hits:
    """The best hits by bm25 × prior (or bm25 alone) over all matches, with the exact total."""
    weight = {"weight_by_field": "prior"} if prior else {}
    if len(search.parts) == 1:
        total, hits = _scored(search.parts[0], query, limit, offset, weight)
    else:
        # Each shard's best offset + limit hold the page.
        found = search.each(lambda part: _scored(part, query, offset + limit, 0, weight))
        total = sum(count for count, _ in found)
        hits = _merged(found)[offset : offset + limit]
    return Hits(total, [i for _, i in hits], [score for score, _ in hits])


def _by_id(part: tantivy.Searcher, query: Query, limit: int) -> list[int]:
    found = part.search(query, max(limit, 1), count=False, order_by_field="id", order=Order.Asc)
    addresses = [address for _, address in found.hits]
    return [int(i) for i in part.fast_field_values("id", addresses)] if addresses else []


def first_by_id(search: Searcher, query: Query, limit: int) -> list[int]:
    """Ids of the matches in id order (oldest first), at most `limit`."""
    found = search.each(lambda part: _by_id(part, query, limit))
    return sorted(i for ids in found for i in ids)[:limit]


def _unscored(query: Query) -> Query:
    # A filter that adds nothing to a score: a range or term set scores 1 for each paper it
    # matches, which a must clause adds to the text score before the prior multiplies it.
    return Query.const_score_query(query, 0.0)


def id_range(low: int, high: int) -> Query:
    """Papers with low < id <= high (a filter: it adds nothing to their scores)."""
    return _unscored(
        Query.range_query(SCHEMA, "id", tantivy.FieldType.Integer, low, high, include_lower=False)
    )


def id_set(ids: list[int]) -> Query:
    """Papers with one of these ids (a filter: it adds nothing to their scores)."""
    return _unscored(Query.term_set_query(SCHEMA, "id", ids))


def among(ids: list[int], query: Query) -> Query:
    """These papers, scored by `query` where they match it and 0 where they no longer do
    (an alert's papers whose replacement dropped its keywords: it announced them all)."""
    return Query.boolean_query([(Occur.Must, id_set(ids)), (Occur.Should, query)])


def snippets(
    search: Searcher, groups: list[list[Term]], abstracts: dict[int, str], marks
) -> dict[int, str]:
    """A snippet of each shown abstract with the matched words between `marks`."""
    query = _highlight_query(search, groups)
    generators: dict[int, tantivy.SnippetGenerator] = {}

    def generator(paper_id: int) -> tantivy.SnippetGenerator | None:
        # A generator knows the terms its shard holds: the paper's own shard holds its words.
        if query is None:
            return None
        shard = _shard_of(paper_id, len(search.parts))
        if shard not in generators:
            part = search.parts[shard]
            generators[shard] = tantivy.SnippetGenerator.create(part, query, SCHEMA, "abstract")
            generators[shard].set_max_num_chars(SNIPPET_CHARS)
        return generators[shard]

    targets = _Targets([t for group in groups for t in group])
    return {i: _snippet(generator(i), text, marks, targets) for i, text in abstracts.items()}


_COMPOUND = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
# A word as a snippet marks it: hyphens and dots inside count (`GPT-3.5`, `3.0`).
_MARKABLE = re.compile(r"[^\W_]+(?:[-.][^\W_]+)*")
_WORD_REST = re.compile(rb"(?:[A-Za-z0-9]|[\x80-\xff]|-(?=[A-Za-z0-9\x80-\xff])|\.(?=[0-9]))*")


def _joined_padded(text: str) -> str:
    """The text with each hyphenated word joined and padded to its length ("pre-training"
    → "pretraining "): byte offsets unchanged, so a fragment chosen on it cuts the text."""
    return _COMPOUND.sub(lambda m: m[0].replace("-", "") + " " * m[0].count("-"), text)


def _names_padded(text: str) -> str:
    """The text with each name's version blanked out ("Qwen2.5" → "Qwen   "): byte offsets
    unchanged, so a fragment chosen on it for the name cuts the text."""

    def blank(match: re.Match) -> str:
        name, version = match[1], match[2]
        if _v_versioned(name):  # "YOLOv8" → "YOLO  "
            name, version = name[:-1], name[-1] + version
        return name + " " * len(version)

    return _NAMED_VERSION.sub(blank, text)


def _long_words(term: Term) -> str:
    """A phrase's words of more than one letter (the `a` of `Q&A` or `"a survey"` is no
    word to choose a fragment by or to bold alone at every `a`); all one-letter: the first."""
    if term.kind != "phrase":
        return term.text
    words = term.text.split()
    return " ".join([w for w in words if len(w) > 1] or words[:1])


class _Targets:
    """What a snippet marks: a phrase where its words stand together (in any spelling of
    its hyphenated words), else its words; a hyphenated word of the query only whole (in
    either spelling), never its parts alone elsewhere; a prefix on the joined form."""

    def __init__(self, terms: list[Term], phrases: bool = True) -> None:
        self.singles: set[str] = set()
        self.splits: set[tuple[str, ...]] = set()
        self.starts: list[str] = []
        # Each phrase's spellings (analyzed words), and its words to mark when the fragment
        # holds none of them together.
        self.phrases: list[tuple[list[list[str]], Term | None]] = []
        for term in terms:
            if term.kind == "prefix":
                self.starts += _prefixes(term)
                continue
            if phrases and term.kind == "phrase" and len(term.text.split()) > 1:
                self.phrases.append((_spellings(term.text), term))
                continue
            if phrases and "-" in term.text:
                # Also marked whole where the text writes it apart (`yolo-v8`: "YOLO v8").
                self.phrases.append((_spellings(term.text), None))
            term = Term(term.kind, _long_words(term))
            for word in term.text.split():
                if "-" not in word and "." not in word:
                    self.singles.update(EN_STEM.analyze(word))
                    continue
                # `pre-training` is one word joined; `GPT-3.5` and `3.0` stay several, marked
                # only together: never each `3` or `5` of the abstract on its own.
                joined = EN_STEM.analyze(word.replace("-", ""))
                if len(joined) == 1:
                    self.singles.update(joined)
                else:
                    self.splits.add(tuple(joined))
                self.splits.add(tuple(EN_STEM.analyze(word)))

    def _one(self, word: str) -> bool:
        stems = _stems(word)
        if len(stems) == 1 and stems[0] in self.singles:
            return True
        lower = word.lower()
        return any(lower.startswith(s) or stems[:1] == (s,) for s in self.starts)

    def _versioned(self, word: str) -> bool:
        """Whether a word is a name of the query written with its version ("Qwen2.5",
        "YOLOv8" for `qwen`, `yolo`), as the index holds those names (version_names)."""
        match = _NAME_VERSION.fullmatch(word)
        if match is None:
            return False
        names = version_names(word).split()
        return any(_stems(name)[:1] == (s,) for name in names for s in self.singles)

    def _span(self, word: str) -> bool:
        """Whether consecutive pieces of a word are a hyphenated or dotted word of the
        query (`pre-trained`, `GPT-3.5`), or, joined, one of its words (`pre-training`)."""
        if _stems(word) in self.splits or self._versioned(word):
            # A name with its version before a suffix ("Qwen2.5-VL-7B" for `qwen`) too.
            return True
        return "." not in word and self._one(word.replace("-", ""))

    def mark(self, fragment: str, marks: tuple[str, str]) -> str:
        """The fragment with each phrase of the query marked whole where its words stand
        together (`"language models"` never marks a lone "models"), and the other matched
        words (see _mark_words); a phrase not together in it has its words marked."""
        if not self.phrases:
            return self._mark_words(fragment, marks)
        words = list(_MARKABLE.finditer(fragment))
        forms = [_forms(word[0]) for word in words]  # each word analyzed once
        spans: list[tuple[int, int]] = []
        apart: list[Term] = []
        for spellings, term in self.phrases:
            found = [
                (words[i].start(), words[i + n - 1].end())
                for i in range(len(words))
                if (n := _spelled_at(forms, i, spellings))
            ]
            spans += found
            if not found and term is not None:
                apart.append(term)
        targets = self
        if apart:
            terms = [Term("phrase", " ".join(t.text for t in apart))]
            targets = _Targets(terms, phrases=False)
            targets.singles |= self.singles
            targets.splits |= self.splits
            targets.starts = self.starts
        out, at = [], 0
        for start, end in sorted(spans):
            if start < at:  # overlaps a phrase already marked
                continue
            out.append(targets._mark_words(fragment[at:start], marks))
            out.append(marks[0] + fragment[start:end] + marks[1])
            at = end
        out.append(targets._mark_words(fragment[at:], marks))
        return "".join(out)

    def phrase_at(self, text: str) -> tuple[int, int] | None:
        """Where a phrase of the query first stands together in `text`, else None."""
        words = list(_MARKABLE.finditer(text))
        forms = [_forms(word[0]) for word in words]
        for spellings, term in self.phrases:
            if term is None:
                continue
            for i in range(len(words)):
                if n := _spelled_at(forms, i, spellings):
                    return words[i].start(), words[i + n - 1].end()
        return None

    def _mark_words(self, fragment: str, marks: tuple[str, str]) -> str:
        """The fragment with the matched words between marks: in a word of pieces joined
        by hyphens or dots (`GPT-3.5-turbo`), the longest runs of pieces the query names,
        else its pieces that are query words."""

        def one(match: re.Match) -> str:
            word = match[0]
            if self._versioned(word):  # `qwen` found "Qwen2.5": bold whole
                return marks[0] + word + marks[1]
            if "-" not in word and "." not in word:
                return marks[0] + word + marks[1] if self._one(word) else word
            pieces = re.split(r"([-.])", word)  # piece, separator, piece, ...
            out, i = [], 0
            while i < len(pieces):
                for j in range(len(pieces), i + 2, -2):
                    if self._span("".join(pieces[i:j])):
                        out.append(marks[0] + "".join(pieces[i:j]) + marks[1])
                        break
                else:
                    j = i + 1
                    piece = pieces[i]
                    bold = self._one(piece) or self._versioned(piece)  # "Qwen2" of "Qwen2-VL"
                    out.append(marks[0] + piece + marks[1] if bold else piece)
                out += pieces[j : j + 1]  # the separator after it
                i = j + 1
            return "".join(out)

        return _MARKABLE.sub(one, fragment)


@functools.lru_cache(maxsize=16_384)
def _stems(word: str) -> tuple[str, ...]:
    """A snippet word's analysis: abstracts repeat their words, snippets analyze each."""
    return tuple(EN_STEM.analyze(word))


def _forms(word: str) -> list[list[str]]:
    """A text word's analyzed spellings: as written, and joined ("pre-trained": `pre train`,
    `pretrain`)."""
    forms = [_stems(word)]
    if "-" in word:
        forms.append(_stems(word.replace("-", "")))
    return [list(f) for f in forms if f]


def _spelled_at(forms: list[list[list[str]]], first: int, spellings: list[list[str]]) -> int:
    """How many of the fragment's words from `first` on spell the phrase (0: none do); a
    word of the text counts in either of its `forms`."""
    for spelled in spellings:
        at, i = 0, first
        while at < len(spelled) and i < len(forms):
            stems = next((f for f in forms[i] if f == spelled[at : at + len(f)]), None)
            if stems is None:
                break
            at, i = at + len(stems), i + 1
        if at == len(spelled):
            return i - first
    return 0


def _snippet(generator, text: str, marks: tuple[str, str], targets: _Targets) -> str:
    snippet, padded = None, False
    if generator:
        snippet = generator.snippet_from_doc(Document(abstract=text))
        if (not snippet.fragment()) and ("-" in text or _DIGIT.search(text)):
            # The match may be a hyphenated word the query spelled joined ("pretraining"),
            # or a name written with its version ("Qwen2.5" for `qwen`).
            padded_text = _joined_padded(_names_padded(text))
            snippet = generator.snippet_from_doc(Document(abstract=padded_text))
            padded = True
    if snippet is None or not snippet.fragment():
        # Nothing to mark in the abstract (the match is in the title): its opening words.
        head = text[:SNIPPET_CHARS]
        return head if len(text) <= SNIPPET_CHARS else head.rsplit(" ", 1)[0] + "…"
    where = snippet.fragment_range()  # byte offsets into the abstract
    raw = text.encode()
    # A fragment chosen on the padded text may end inside a joined word's padding.
    end = where.end + (len(_WORD_REST.match(raw, where.end)[0]) if padded else 0)
    fragment = raw[where.start : end].decode()
    if any(term for _, term in targets.phrases) and targets.phrase_at(fragment) is None:
        # The fragment was chosen for the phrase's words one by one (a run of "models"):
        # the snippet shows where the phrase itself stands, if the abstract holds it.
        span = targets.phrase_at(text)
        if span is not None:
            return _around(text, span, marks, targets)
    marked = targets.mark(fragment, marks)
    if marks[0] not in marked and (span := _first_marked(text, marks, targets)):
        # Chosen for a word's pieces (`gpt-4`: "gpt" and "4" apart, as in "MiniGPT-4"),
        # which are marked only whole: the snippet shows where the word itself stands.
        return _around(text, span, marks, targets)
    before = "…" if where.start > 0 else ""
    after = "…" if end < len(raw) else ""
    return before + marked.strip() + after


def _first_marked(text: str, marks: tuple[str, str], targets: _Targets) -> tuple[int, int] | None:
    """Where in the text the first word the query marks stands, or None."""
    marked = targets.mark(text, marks)
    start = marked.find(marks[0])
    end = marked.find(marks[1], start)
    if start < 0 or end < 0:
        return None
    # Nothing is marked before it: up to there the marked text is the text itself.
    return start, end - len(marks[0])


def _around(text: str, span: tuple[int, int], marks: tuple[str, str], targets: _Targets) -> str:
    """A snippet of whole words around `span` of the text, marked."""
    start, end = span
    room = max(SNIPPET_CHARS - (end - start), 0)
    low = max(0, start - room // 2)
    high = min(len(text), end + room - (start - low))
    if low > 0:
        low = text.find(" ", low, start) + 1 or start
    if high < len(text):
        cut = text.rfind(" ", end, high)
        high = cut if cut != -1 else end
    before = "…" if low > 0 else ""
    after = "…" if high < len(text) else ""
    return before + targets.mark(text[low:high], marks).strip() + after


def doc_freq(search: Searcher, word: str) -> int:
    """In how many papers a word occurs (title or abstract), for "did you mean"."""
    stems = EN_STEM.analyze(word)
    if len(stems) != 1:
        return 0
    return max(search.doc_freq(field, stems[0]) for field in ("title", "abstract"))


# ---------------------------------------------------------------- alerts


def match_new(
    db: Database,
    queries: Iterable[tuple[str, list[list[Term]], list[Term]]],
    after: int,
    newest: int,
    limit: int,
    late: tuple[int, int] = (0, 0),
) -> dict[str, list[int]]:
    """For each (key, groups, excludes), every id in (after, newest] it matches (oldest
    first), and every paper of the late listings numbered in (`late`], from a temporary
    in-memory index of only those papers: thousands of queries each search a few thousand
    fresh papers instead of the whole store's index. A query is first asked for `limit` ids
    (most match far fewer); one that has that many is counted and asked for all of them."""
    index = _registered(tantivy.Index(ALERT_SCHEMA))
    writer = index.writer(heap_size=ALERT_HEAP, num_threads=ALERT_INDEX_THREADS)
    columns = "SELECT id, title, title_derived, abstract FROM papers"
    sql, params = f"{columns} WHERE id > ? AND id <= ?", [after, newest]
    if late[1] > late[0]:  # papers listed at last, each once (some may be in the range)
        sql += (
            f" UNION ALL {columns} WHERE id IN (SELECT paper_id FROM late_listings"
            " WHERE seq > ? AND seq <= ?) AND NOT (id > ? AND id <= ?)"
        )
        params += [*late, after, newest]
    rows = db.query(sql, params)
    for row in rows:
        writer.add_document(_alert_document(row))
    # The writer's thread analyses the queued papers (stemming: most of the build) while
    # this thread parses (queries may be a lazy generator) and builds the queries.
    cache: dict[Term, Query | None] = {}  # subscriptions share most of their words
    built = [
        (key, build_query(groups, excludes, ALERT_SCHEMA, ALERT_FIELDS, cache))
        for key, groups, excludes in queries
    ]
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    search = index.searcher()
    # Ordered by the id fast field, each hit is (id, address): no id lookup needed.
    found: dict[str, list[int]] = {}
    for key, query in built:
        hits = search.search(query, limit, count=False, **ID_ORDER).hits
        if len(hits) == limit:  # a broad alert, or a large input: never a match dropped
            total = search.search(query, 1, count=True).count
            hits = search.search(query, total, count=False, **ID_ORDER).hits
        found[key] = [i for i, _ in hits]
    return found
