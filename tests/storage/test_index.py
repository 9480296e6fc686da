"""The tantivy search index: global ranking with the prior, exact totals, re-indexing of
updated papers, the watermark repair, rebuilds of a missing or corrupt index, one writer."""

from __future__ import annotations

import fcntl
import json
import logging
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.corpus import generate
from storage import connect
from storage import index as search_index
from storage.errors import PapersError
from storage.index import IndexBusy, IndexUnavailable, Writer, indexed_ids, watermark
from storage.models import Entry, IngestReport
from storage.papers import store_entries
from storage.search import HIGHLIGHT, match_each, search
from tests.conftest import NOW, ROOT

PAPERS = str(Path(sys.executable).with_name("papers"))

FAMOUS = [
    (
        "LoRA: Low-Rank Adaptation of Large Language Models",
        "We propose Low-Rank Adaptation, or LoRA, which freezes the pre-trained model weights"
        " and injects trainable rank decomposition matrices into each layer.",
        "2021-06-17",
        1800,
    ),
    (
        "Attention Is All You Need",
        "We propose a new simple network architecture, the Transformer, based solely on"
        " attention mechanisms, dispensing with recurrence and convolutions entirely.",
        "2017-06-12",
        2500,
    ),
    (
        "Denoising Diffusion Probabilistic Models",
        "We present high quality image synthesis results using diffusion probabilistic models,"
        " a class of latent variable models inspired by nonequilibrium thermodynamics.",
        "2020-06-19",
        1500,
    ),
]
# Newer, little-upvoted papers whose titles match as well or better on text alone: only the
# prior (upvotes, sources) puts the famous paper above them.
RIVALS = [
    ("LoRA: Low-Rank Adaptation Revisited", "We revisit low-rank adaptation (LoRA) for LoRA."),
    ("Is Attention All You Need?", "Attention, attention: is attention all you need?"),
    (
        "Diffusion Probabilistic Models: A Survey",
        "A survey of diffusion probabilistic models and probabilistic diffusion.",
    ),
]
MENTIONS = [
    "we fine-tune with LoRA adapters of low rank",
    "a low rank adaptation of the attention layers",
    "attention is all you need, as the saying goes, so we need attention",
    "denoising diffusion probabilistic models inspire our sampler",
]


def store(db, entries: list[Entry], name: str) -> IngestReport:
    return store_entries(db, name, "dump", name, entries, NOW.isoformat(), IngestReport(name))


def planted(db, n: int = 1500) -> None:
    """Famous papers first (two sources each), then papers of which ~25% mention their
    topics in the abstract and a few in the title, all newer and lightly upvoted."""
    famous = [
        Entry(abstract, title, published=day, upvotes=up, arxiv_id=f"1706.0{i}762")
        for i, (title, abstract, day, up) in enumerate(FAMOUS)
    ]
    store(db, famous, "famous-hf")
    store(db, [Entry(e.abstract, e.title, arxiv_id=e.arxiv_id) for e in famous], "famous-rss")
    rng = random.Random(1)
    rest = [Entry(abstract, title, published="2025-01-01", upvotes=2) for title, abstract in RIVALS]
    for paper in generate(n, seed=4):
        abstract, title = paper.abstract, paper.title
        if rng.random() < 0.25:
            abstract = f"{abstract} {rng.choice(MENTIONS)}."
        if rng.random() < 0.02:
            title = f"{title} with LoRA"
        rest.append(
            Entry(abstract, title, published=paper.published.isoformat(), upvotes=paper.upvotes)
        )
    store(db, rest, "rest")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """One planted corpus for the ranking cases (read only)."""
    db = connect(tmp_path_factory.mktemp("planted") / "papers.db")
    planted(db)
    yield db
    db.close()


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("lora", FAMOUS[0][0]),
        ("low rank adaptation", FAMOUS[0][0]),
        ("attention is all you need", FAMOUS[1][0]),
        ("diffusion probabilistic", FAMOUS[2][0]),
    ],
    ids=["lora", "low-rank-adaptation", "attention", "diffusion"],
)
def test_famous_paper_ranks_first_over_rivals_and_hundreds_of_mentions(corpus, query, title):
    result = search(corpus, query)
    assert result.total > 50  # many papers mention it
    assert result.papers[0]["title"] == title
    # A rival titled like it comes next: ahead of the passing mentions.
    assert result.papers[1]["title"] in {t for t, _ in RIVALS}


def test_more_upvotes_in_a_later_sighting_reindex_and_lift_a_paper(db):
    # Two different papers (dedup keeps them apart) whose texts score the same for "router".
    one = "We study sparse mixture routers for efficient inference at scale on language tasks."
    two = "We study dense expert routers for cheaper training at scale on vision benchmarks."
    store(db, [Entry(one, "Router Study One", upvotes=5)], "a")
    store(db, [Entry(two, "Router Study Two", upvotes=50)], "b")
    assert [p["title"] for p in search(db, "router").papers] == [
        "Router Study Two",
        "Router Study One",
    ]
    store(db, [Entry(one, "Router Study One", upvotes=900)], "c")
    assert [p["title"] for p in search(db, "router").papers][0] == "Router Study One"
    assert indexed_ids(db) == [1, 2]  # re-indexed in place, never twice


def test_newer_paper_wins_a_tie(db):
    text = "A benchmark for retrieval of tabular data."
    store(db, [Entry(text, "Tabular Retrieval", published="2019-01-01", upvotes=3)], "old")
    store(db, [Entry(text + " Again.", "Tabular Retrieval Again", published="2025-01-01")], "new")
    store(db, [Entry(text + " Again.", "Tabular Retrieval Again", upvotes=3)], "new-hf")
    assert search(db, "tabular").papers[0]["title"] == "Tabular Retrieval Again"


@pytest.mark.parametrize("order", [1, -1], ids=["replacement-first", "replacement-last"])
def test_an_old_arxiv_paper_of_unknown_date_is_not_ranked_as_new(db, order):
    # An arXiv replacement of a 2021 paper carries no date: it is as old as its id says,
    # not as new as the day it was ingested.
    text = "A benchmark for retrieval of tabular data."
    entries = [
        Entry(text, "Tabular Retrieval", arxiv_id="2107.02137", version=3, announce="replace"),
        Entry(text + " Again.", "Tabular Retrieval Again", published="2025-01-01"),
    ][::order]
    for n, entry in enumerate(entries):
        store(db, [entry], f"source-{n}")
    assert search(db, "tabular").papers[0]["title"] == "Tabular Retrieval Again"


def test_untitled_paper_is_found_by_its_title_once_a_source_names_it(db):
    abstract = "We measure how quickly gradient noise shrinks during warmup in transformers."
    store(db, [Entry(abstract)], "untitled")
    assert search(db, "quokka").total == 0
    store(db, [Entry(abstract, "Quokka: Gradient Noise in Warmup")], "titled")
    result = search(db, "quokka")
    assert result.total == 1 and result.papers[0]["title"] == "Quokka: Gradient Noise in Warmup"


def test_totals_are_exact_beyond_any_page(db):
    entries = [
        Entry(f"Zebra stripes number {i} in savanna images.", f"Zebra {i}") for i in range(1500)
    ]
    store(db, entries, "zebras")
    result = search(db, "zebra", limit=5)
    assert result.total == 1500 and len(result.papers) == 5 and not result.total_capped
    assert search(db, "zebra -savanna").total == 0


PHRASE_PAPERS = {
    "adjacent": ("Sparse Mixture of Experts at Scale", "We route tokens to experts."),
    "reversed": ("Experts Mixture for Sparse Routing", "A mixture: sparse experts of tokens."),
    "apart": ("Sparse Routing", "A mixture of tokens where experts are sparse and routed."),
    "hyphen": ("Mixture-of-Experts Layers", "Sparse mixture-of-experts layers."),
}


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ('"mixture of experts"', {"adjacent", "hyphen"}),
        ('"sparse mixture of experts"', {"adjacent", "hyphen"}),
        ('"sparse mixture"', {"adjacent", "hyphen"}),
        ('"experts mixture"', {"reversed"}),
        ('"mixture experts"', set()),
    ],
    ids=["three-words", "four-words", "two-words", "order-matters", "words-apart"],
)
def test_phrases_match_adjacent_words_in_order_only(db, query, found):
    entries = [Entry(abstract, title) for title, abstract in PHRASE_PAPERS.values()]
    store(db, entries, "phrases")
    names = {v[0]: k for k, v in PHRASE_PAPERS.items()}
    result = search(db, query, limit=10)
    assert {names[p["title"]] for p in result.papers} == found
    assert result.total == len(found)


@pytest.mark.parametrize(
    ("abstract", "query"),
    [
        ("We pair pre-training with fine-tuning.", '"pretraining finetuning"'),
        ("We compare YOLOv8 with Qwen2.5 here.", '"yolo qwen"'),
        ("Don't stop, won't stop.", '"dont wont"'),
    ],
    ids=["hyphen-joins", "version-names", "apostrophes"],
)
def test_words_a_paper_writes_apart_are_no_phrase(db, abstract, query):
    # A paper is also found by the joined form of each hyphenated word, the name of each
    # versioned one and each word with an apostrophe, but the paper never wrote two of
    # them side by side: neither a search nor an alert takes them for a phrase.
    store(db, [Entry(abstract, "Kelp Forests")], "s")
    assert search(db, query.strip('"').split()[0]).total == 1
    assert search(db, query).total == 0
    assert match_each(db, [query], 0, 1) == {query: []}


@pytest.mark.parametrize(
    ("abstract", "query"),
    [
        ("We study self-supervised pre-training recipes.", '"selfsupervised pretraining"'),
        (
            "Our multi-task multi-modal model reads (kelp-forest, sea-urchin) images.",
            '"multitask multimodal"',
        ),
        ("Read it: can't, won't stop.", '"cant wont"'),
        ("We revisit the pre-training/fine-tuning paradigm.", '"pretraining finetuning"'),
        ("A multi-task — multi-modal model.", '"multitask multimodal"'),
        ("Self\u2010supervised pre\u2011training.", '"selfsupervised pretraining"'),
    ],
    ids=["hyphens", "two-runs", "apostrophes", "slash", "dash", "unicode-hyphens"],
)
def test_joined_words_written_side_by_side_are_a_phrase(db, abstract, query):
    # Most papers here write the words joined, so the phrase is not also tried apart: only
    # the pairs of the joined words find the paper that writes them with hyphens.
    joined = query.strip('"').split()
    others = [
        Entry(f"{joined[0]} kelp; {joined[1]} otters, study {i}.", f"Otters {i}") for i in range(12)
    ]
    store(db, [Entry(abstract, "Kelp Forests"), *others], "s")
    assert [p["title"] for p in search(db, query).papers] == ["Kelp Forests"]
    assert match_each(db, [query], 0, 13) == {query: [1]}


@pytest.mark.parametrize(
    ("query", "marked"),
    [
        ("naïve", "naïve"),
        ("diffus*", "diffusion"),
        ('"score matching"', "score matching"),  # the phrase whole
        ("pre-training", "pre-training"),
    ],
    ids=["non-ascii", "prefix", "phrase", "hyphen"],
)
def test_snippets_mark_the_matched_words(db, query, marked):
    abstract = (
        "Über große Daten: a naïve baseline " + "filler words here " * 20 + "then diffusion"
        " with score matching after pre-training on images."
    )
    store(db, [Entry(abstract, "Snippet Paper")], "s")
    snippet = search(db, query).papers[0]["snippet"]
    assert f"{HIGHLIGHT[0]}{marked}{HIGHLIGHT[1]}" in snippet
    assert snippet.replace(HIGHLIGHT[0], "").replace(HIGHLIGHT[1], "").strip("…") in abstract


def test_a_snippet_shows_where_a_versioned_name_stands_whole(db):
    # Chosen for the name's pieces ("gpt" and "4" in "MiniGPT-4 ... 4 of them"), which are
    # marked only whole, the snippet showed a passage with nothing marked.
    abstract = (
        "The recent GPT-4 shows new skills. "
        + "Filler words about nothing much here. " * 12
        + "We present MiniGPT-4, which aligns a frozen encoder with MiniGPT-4 heads, 4 of them."
    )
    store(db, [Entry(abstract, "MiniGPT-4: Enhancing Vision")], "s")
    snippet = search(db, "gpt-4").papers[0]["snippet"]
    assert snippet.startswith(f"The recent {HIGHLIGHT[0]}GPT-4{HIGHLIGHT[1]} shows")


@pytest.mark.parametrize(
    ("title", "abstract"),
    [
        ("Kelp Forests", "Both agreed internationalization helps kelp."),
        ("Agreed Internationalization of Kelp", "The authors wrote on kelp forests."),
    ],
    ids=["abstract", "title"],
)
def test_a_word_whose_stem_stems_again_is_found(db, title, abstract):
    # Documents reach the index with their words already stemmed ("agreed": "agre"); stemmed
    # again there they would be "agr", which no query for the word holds.
    store(db, [Entry(abstract, title)], "s")
    for query in ("agreed", "internationalization", '"agreed internationalization"'):
        assert search(db, query).total == 1, query


def hold_lock(db) -> Writer:
    """Another writer holding the index, as the worker does during its ingest."""
    return Writer(db)


def test_papers_stored_while_the_index_was_held_are_indexed_by_the_next_writer(db, caplog):
    store(db, [Entry("Kelp forests under warming oceans.", "Kelp One")], "first")
    held = hold_lock(db)
    with caplog.at_level(logging.WARNING):
        store(db, [Entry("Kelp growth rates measured by drones.", "Kelp Two")], "second")
    assert "being written by another process" in caplog.text
    # In SQLite, not yet in the index: exactly a crash between the two commits.
    assert db["papers"].count == 2 and indexed_ids(db) == [1]
    assert search(db, "kelp").total == 1
    held.close()
    assert search_index.ensure(db)  # what the worker does at start and each ingest
    assert indexed_ids(db) == [1, 2] and watermark(db)[0] == 2
    assert search(db, "kelp").total == 2


def test_papers_stored_while_the_index_was_held_are_indexed_once_it_is_let_go(db, monkeypatch):
    # The other process let go while this ingest still ran: its papers stayed unsearchable
    # until the next ingest or worker start, though the index was free at its end.
    from storage import papers as papers_module

    store(db, [Entry("Kelp forests under warming oceans.", "Kelp One")], "first")
    held = hold_lock(db)
    real = papers_module._store_batch

    def stored_then_let_go(*args, **kwargs):
        touched = real(*args, **kwargs)
        if held._lock and not held._lock.closed:
            held.close()  # the other writer commits and exits meanwhile
        return touched

    monkeypatch.setattr(papers_module, "_store_batch", stored_then_let_go)
    store(db, [Entry("Kelp growth rates measured by drones.", "Kelp Two")], "second")
    assert indexed_ids(db) == [1, 2] and search(db, "kelp").total == 2


def test_a_second_writer_gets_a_clear_error(db):
    store(db, [Entry("Anything at all here.", "Anything")], "a")
    held = hold_lock(db)
    try:
        with pytest.raises(IndexBusy, match="being written by another process"):
            search_index.reindex(db)
        done = subprocess.run(
            [PAPERS, "--db", db_file(db), "reindex"], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 2 and "being written by another process" in done.stderr
        assert "Traceback" not in done.stderr
    finally:
        held.close()


def db_file(db) -> str:
    return str(search_index.index_dir(db))[: -len(".index")]


def test_missing_index_is_rebuilt_with_a_log_line(db, caplog):
    store(db, [Entry("Otters use tools to open shells.", "Otter Tools")], "a")
    shutil.rmtree(search_index.index_dir(db))
    search_index.forget_readers()  # as a freshly started bot
    with caplog.at_level(logging.WARNING):
        assert search(db, "otter").total == 1
    assert "is missing: building it from SQLite" in caplog.text


@pytest.mark.parametrize("damage", ["meta", "segments", "watermark", "a-file"])
def test_corrupt_index_is_rebuilt_in_a_fresh_process(db, damage):
    store(db, [Entry("Otters use tools to open shells.", "Otter Tools")], "a")
    folder = search_index.index_dir(db)
    if damage == "meta":
        (folder / "meta.json").write_text("{ not json")
    elif damage == "segments":
        for path in folder.iterdir():
            if path.suffix in (".idx", ".term", ".pos"):
                path.write_bytes(b"\0" * 16)
    elif damage == "watermark":
        (folder / "watermark.json").unlink()
    else:  # a file where the folder goes: ingest and reindex raised FileExistsError
        shutil.rmtree(folder)
        folder.write_text("not an index")
    done = subprocess.run(
        [PAPERS, "--db", db_file(db), "search", "otter"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "1 paper matches" in done.stdout
    assert "rebuilding it from SQLite" in done.stderr and "Traceback" not in done.stderr


def test_an_index_a_newer_version_wrote_is_left_for_it(db, caplog):
    # During a deploy the old bot and worker still run beside the new ones: rebuilding the
    # new version's index back to theirs would make the new ones rebuild it again.
    store(db, [Entry("Otters use tools to open shells.", "Otter Tools")], "a")
    mark = search_index.index_dir(db) / search_index.WATERMARK
    newer = {**json.loads(mark.read_text()), "version": search_index.VERSION + 1}
    mark.write_text(json.dumps(newer))
    search_index.forget_readers()  # as a freshly started old bot
    # The new release's worker is writing it: the old bot never reaches for its lock.
    index = search_index.index_dir(db)
    with open(index.with_name(index.name + ".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with caplog.at_level(logging.WARNING), pytest.raises(IndexUnavailable, match="upgraded"):
            search(db, "otter")
    assert "written by a newer version of papers" in caplog.text
    assert "run `papers reindex`" in caplog.text
    assert search_index.ensure(db) is False  # the old worker's start
    store(db, [Entry("Otters float in kelp while they sleep.", "Otter Naps")], "b")
    assert db["papers"].count == 2 and json.loads(mark.read_text()) == newer
    cli = [PAPERS, "--db", db_file(db)]
    done = subprocess.run([*cli, "search", "otter"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "upgraded" in done.stderr
    assert "Traceback" not in done.stderr
    # After a downgrade, the admin's one command makes it this version's again.
    done = subprocess.run([*cli, "reindex"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(mark.read_text())["version"] == search_index.VERSION
    assert search(db, "otter").total == 2


def test_index_being_built_elsewhere_is_a_friendly_error(tmp_path):
    db = connect(tmp_path / "p.db")
    store(db, [Entry("Anything at all here.", "Anything")], "a")
    shutil.rmtree(search_index.index_dir(db))
    search_index.forget_readers()
    held = hold_lock(db)  # a rebuild under way in another process
    try:
        with pytest.raises(IndexUnavailable, match="being built") as caught:
            search(db, "anything")
        assert isinstance(caught.value, PapersError)  # shown as a message, never a traceback
    finally:
        held.close()


def test_a_search_while_this_process_rebuilds_the_index_says_it_is_being_built(
    tmp_path, monkeypatch
):
    # After an upgrade the bot may be the one to rebuild an outdated index (its first search
    # comes before the worker starts): its other searches waited for the whole rebuild
    # (minutes on a large store) with no answer, instead of saying it is being built.
    import threading

    db = connect(tmp_path / "p.db")
    store(db, [Entry("Anything at all here.", "Anything")], "a")
    shutil.rmtree(search_index.index_dir(db))
    search_index.forget_readers()
    building, finish = threading.Event(), threading.Event()
    sync = Writer.sync

    def slow_sync(self, *args, **kwargs):
        building.set()
        finish.wait(10)
        return sync(self, *args, **kwargs)

    monkeypatch.setattr(Writer, "sync", slow_sync)
    first: list = []
    rebuild = threading.Thread(target=lambda: first.append(search(db, "anything").total))
    rebuild.start()
    try:
        assert building.wait(10)
        answers: list = []

        def meanwhile() -> None:
            try:
                answers.append(search(connect(db_file(db)), "anything").total)
            except IndexUnavailable as exc:
                answers.append(str(exc))

        other = threading.Thread(target=meanwhile)
        other.start()
        other.join(5)
        assert answers == ["The search index is being built; try again in a minute."]
    finally:
        finish.set()
        rebuild.join(10)
        search_index.forget_readers()
    assert first == [1]


def test_reindex_cli_rebuilds_the_same_results(seeded_path):
    db = connect(seeded_path)
    before = [p["id"] for p in search(db, "language model", limit=20).papers]
    done = subprocess.run(
        [PAPERS, "--db", str(seeded_path), "reindex"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    papers = db["papers"].count
    assert f"Indexed {papers} papers" in done.stdout and "Indexing papers" in done.stderr
    assert indexed_ids(db) == [r["id"] for r in db.query("SELECT id FROM papers ORDER BY id")]
    assert [p["id"] for p in search(db, "language model", limit=20).papers] == before


def test_another_process_commit_is_seen_by_a_reader(seeded_path, tmp_path):
    db = connect(seeded_path)
    assert search(db, "wombat").total == 0  # this process now holds a reader
    dump = tmp_path / "wombats.txt"
    from bench.corpus import Paper, write_dump

    paper = generate(1, seed=9)[0]
    wombat = Paper(**{**paper.__dict__, "title": "Wombat: Cubes at Scale", "truth": 0})
    write_dump([wombat], dump)
    done = subprocess.run(
        [PAPERS, "--db", str(seeded_path), "ingest", str(dump)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert search(db, "wombat").total == 1


def test_every_word_the_analyzer_makes_is_one_word_to_the_writer():
    # The documents hold analyzed words joined by spaces, which the writer's index splits
    # at ASCII whitespace: a word holding any (an accent folded to "a b") would become two.
    chars = (chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    words = search_index.EN_STEM.analyze(" ".join(c for c in chars if not c.isspace()))
    assert len(words) > 100_000  # every letter and digit of Unicode, one word each
    assert search_index.SPLIT.analyze(" ".join(words)) == words


# Words, hyphens, apostrophes, punctuation and spaces as papers write them around joined
# words: tokens, and any mix of their pieces.
_JOINED_TOKENS = ["pre-train", "x", "Y2", "Don't", "a’b", "(z)", "x/y", ",", "--", "-", "é-x"]
_JOINED_PIECES = ["pre", "Train", "x", "é", "²", "2", "_", "-", "-", "'", "’", " ", " ", "/", ","]
_JOINED_TEXT = st.lists(st.sampled_from(_JOINED_TOKENS), max_size=14).map(" ".join) | st.lists(
    st.sampled_from(_JOINED_PIECES), max_size=40
).map("".join)


def _all_runs(text: str) -> list[str]:
    # _joins' runs by their definition, from every word of the text: two or more joined
    # words (hyphenated, or with an apostrophe) with no plain word between them.
    runs, run = [], []
    for token in text.split():
        if not any(mark in token for mark in "-'’"):
            if re.search(r"[^\W_]", token):
                runs.append(run)
                run = []
            continue
        for match in search_index._JOINABLE.finditer(token):
            if match[1] or match[2]:
                run.append(re.sub("[-'’]", "", match[0]))
            else:
                runs.append(run)
                run = []
    return [" ".join(r) for r in [*runs, run] if len(r) > 1]


@given(_JOINED_TEXT)
def test_runs_of_joined_words_are_those_every_word_gives(text):
    # _joins reads only the tokens with a hyphen or an apostrophe (most of a text has none)
    # and whether any word stands between them: its runs are those all the words give.
    assert search_index._joins(text)[1] == _all_runs(text)


# ASCII text as papers write it (words the stemmer shortens, digits, punctuation, control
# characters), and any text.
_PIECES = ["run", "ning", "ies", "ation", "X", "0", "19", " ", "-", "_", "'", ".", "\t", "\x00"]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=30).map("".join) | st.text(max_size=60)


@given(_TEXT, st.integers(min_value=0, max_value=3))
def test_a_documents_words_are_analyzed_as_the_index_analyzes_them(text, long_words):
    # The documents' words and word pairs are split and stemmed here, not by the index's
    # analyzer: any other word than the analyzer's would make a query miss the papers that
    # hold it, and an index written before this change would hold other terms than one
    # written after.
    text += " " + " ".join("w" * (38 + i) for i in range(long_words))  # 38-40 bytes
    assert search_index.analyzed(text) == search_index.EN_STEM.analyze(text)


def test_a_reindex_whose_index_files_cannot_be_written_fails_in_one_line(db):
    """The index folder removed while `papers reindex` wrote it (or its disk failing) made
    tantivy's writer fail, and the admin got two chained Python tracebacks. It is one named
    error, the CLI's one `Error:` line; the next writer builds the index again."""
    from bench.corpus import generate, write_dump
    from jobs.ingest import ingest_file
    from storage.errors import PapersError

    folder = search_index.index_dir(db)
    dump = folder.parent / "dump.txt"
    write_dump(generate(search_index.CHUNK * 8, seed=2), dump)
    ingest_file(db, dump, NOW, None)

    def folder_removed(rows: int) -> None:
        shutil.rmtree(folder, ignore_errors=True)

    with pytest.raises(PapersError, match="could not be written"):
        search_index.reindex(db, progress=folder_removed)
    assert search_index.reindex(db) == db["papers"].count  # and built again after
