"""Dedup: one row per paper, every sighting kept, the same input twice changes nothing."""

from __future__ import annotations

import pytest

from jobs.ingest import ingest_bytes, ingest_target
from storage.index import indexed_ids
from storage.models import Entry, IngestReport
from storage.papers import store_entries
from storage.search import search
from tests.conftest import NOW, SEEDS

ABSTRACT = (
    "We propose a method that adapts large language models with a handful of parameters, "
    "and we show on twelve benchmarks that it matches full fine-tuning at a fraction of the cost."
)
OTHER = (
    "Diffusion models generate images by reversing a noising process; we show that a small "
    "distilled sampler reaches the same quality in four steps on three public datasets."
)


# Pairs of distinct papers whose titles are one word apart, each with its own abstract (as
# Hugging Face JSON without arXiv ids gives them): a title ratio of 93 or more cannot tell
# them from a typo, the abstracts can.
ONE_WORD_APART = [
    (
        "Efficient Memory Management for Large Language Model Serving with PagedAttention",
        "High throughput serving of large language models requires batching sufficiently many "
        "requests at a time. However, existing systems struggle because the key-value cache "
        "memory for each request is huge and grows and shrinks dynamically. We propose "
        "PagedAttention, an attention algorithm inspired by virtual memory and paging in "
        "operating systems, and build vLLM, which achieves near-zero waste in KV cache memory.",
        "Efficient Memory Management for Small Language Model Serving with PagedAttention",
        "Small language models run on phones and laptops where a few gigabytes of memory must be "
        "shared with other applications. We study how paged key-value caches behave under such "
        "tight budgets, show that page size should shrink with the model, and introduce an "
        "eviction policy that keeps latency stable on four edge devices we measured.",
    ),
    (
        "On the Cross-lingual Transferability of Monolingual Representations",
        "State-of-the-art unsupervised multilingual models have been shown to generalize in a "
        "zero-shot cross-lingual setting. This has been attributed to a shared vocabulary and "
        "joint multilingual training. We challenge this by transferring a monolingual model to "
        "new languages at the lexical level, learning only new embeddings, and find it competitive "
        "with multilingual BERT on standard cross-lingual classification benchmarks.",
        "On the Cross-lingual Transferability of Multilingual Representations",
        "Multilingual encoders are trained on a hundred languages at once, yet transfer unevenly. "
        "We probe which layers carry language-neutral information, measure transfer on "
        "thirty-two typologically diverse languages, and relate the gaps to script, word order "
        "and the amount of pretraining text available for each language in the corpus.",
    ),
    (
        "Explicit Reasoning in Large Language Models: A Survey",
        "Chain-of-thought prompting made the intermediate steps of a model's reasoning visible "
        "and checkable. This survey organizes methods that elicit explicit reasoning traces, "
        "from prompting and self-consistency to process supervision and tool use, and discusses "
        "how faithful the written steps are to the computation that produced the final answer.",
        "Implicit Reasoning in Large Language Models: A Survey",
        "Models often reach correct answers without writing any intermediate steps. We review "
        "evidence that multi-hop reasoning happens inside hidden states, covering probing, "
        "activation patching and latent-variable analyses, and we catalogue the benchmarks on "
        "which internal computation alone suffices and those on which it breaks down.",
    ),
    (
        "Online Reinforcement Learning from Human Feedback with Preference Models",
        "We collect preferences from annotators while the policy trains, querying pairs of "
        "responses where the reward model is most uncertain. Updating the reward model every few "
        "hundred steps avoids reward hacking that a frozen model suffers, and improves win rates "
        "against a strong supervised baseline in dialogue and summarization tasks.",
        "Offline Reinforcement Learning from Human Feedback with Preference Models",
        "Collecting fresh human preferences during training is expensive. We learn only from a "
        "fixed dataset of logged comparisons and derive a conservative objective that penalizes "
        "responses far from the data, which matches online methods on two instruction following "
        "benchmarks while needing no annotator in the loop at all.",
    ),
    (
        "Towards Robust Multimodal Reasoning with Vision-Language Models",
        "Vision-language models answer questions about images but fail when the picture is "
        "cropped, rotated or cluttered. We build a benchmark of perturbed charts, diagrams and "
        "photographs, show that accuracy drops by up to forty points, and propose a training "
        "recipe with visual augmentations that recovers most of the lost robustness.",
        "Towards Robust Multilingual Reasoning with Vision-Language Models",
        "Most visual question answering data is in English. We translate reasoning benchmarks "
        "into eleven languages, find that models answer the same image question differently "
        "depending on the language of the prompt, and align them with a consistency loss that "
        "narrows the gap between English and low-resource languages substantially.",
    ),
]
RAG_ABSTRACT = (
    "Retrieval-augmented generation answers questions from passages that a retriever returns, "
    "but the first-stage ranking is noisy. We add a cascade of re-rankers of growing cost and "
    "show that two stages recover most of the accuracy of an expensive cross-encoder at a tenth "
    "of its latency on five open-domain question answering benchmarks."
)
RETYPED = [
    ("Optimizing Retrieval-Augmented Generation with Multi-Stage Re-ranking", RAG_ABSTRACT),
    ("Optimising Retrieval Augmented Generation with Multi-stage Reranking", RAG_ABSTRACT),
]


def both_ways(pairs, same: bool, name: str) -> list:
    params = []
    for n, (title_a, abstract_a, title_b, abstract_b) in enumerate(pairs):
        a, b = Entry(abstract_a, title_a), Entry(abstract_b, title_b)
        params.append(pytest.param(a, b, same, id=f"{name}-{n}"))
        params.append(pytest.param(b, a, same, id=f"{name}-{n}-reversed"))
    return params


def store(db, *entries: Entry, name: str = "test") -> IngestReport:
    # Each call is its own input: the name stands in for the content hash.
    return store_entries(db, name, "test", name, list(entries), NOW.isoformat(), IngestReport(name))


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        pytest.param(
            Entry(ABSTRACT, "A", arxiv_id="2401.00001"),
            Entry(OTHER, "B", arxiv_id="2401.00001"),
            True,
            id="same-arxiv-id",
        ),
        pytest.param(
            Entry(ABSTRACT, "LoRA: Low-Rank Adaptation"),
            Entry(OTHER, "lora -- low rank adaptation!"),
            True,
            id="normalized-title",
        ),
        pytest.param(
            Entry(ABSTRACT, "Efficient Continual Pre-training by Mitigating the Stability Gap"),
            Entry(ABSTRACT, "Efficient Continual Pretraining by Mitigating the Stability Gap"),
            True,
            id="fuzzy-title",
        ),
        pytest.param(
            Entry(ABSTRACT, "Efficient Continual Pre-training by Mitigating the Stability Gap"),
            Entry(
                ABSTRACT[:120], "Efficient Continual Pretraining by Mitigating the Stability Gap"
            ),
            True,
            id="fuzzy-title-truncated-abstract",
        ),
        pytest.param(
            Entry(ABSTRACT, "Efficient Continual Pre-training by Mitigating the Stability Gap"),
            Entry(OTHER, "Efficient Continual Pretraining by Mitigating the Stability Gap"),
            False,
            id="fuzzy-title-abstracts-disagree",
        ),
        *both_ways(ONE_WORD_APART, False, "one-word-apart"),
        *both_ways([(*RETYPED[0], *RETYPED[1])], True, "retyped-same-abstract"),
        pytest.param(
            Entry(RAG_ABSTRACT, "Optimizing Retrieval-Augmented Generation, Part 1"),
            Entry(RAG_ABSTRACT, "Optimising Retrieval Augmented Generation, Part 2"),
            False,
            id="same-abstract-numbers-differ",
        ),
        pytest.param(
            Entry(ABSTRACT, "Scaling Laws for Neural Language Models, Part 1"),
            Entry(OTHER, "Scaling Laws for Neural Language Models, Part 2"),
            False,
            id="numbers-differ",
        ),
        pytest.param(
            Entry(ABSTRACT, "LoRA: Low-Rank Adaptation", arxiv_id="2401.00001"),
            Entry(OTHER, "LoRA: Low-Rank Adaptation", arxiv_id="2401.00002"),
            False,
            id="conflicting-arxiv-ids",
        ),
        pytest.param(
            Entry(ABSTRACT, "Adapters for Language Models"),
            Entry(OTHER, "Diffusion Samplers in Four Steps"),
            False,
            id="different",
        ),
        pytest.param(
            Entry(ABSTRACT, None), Entry(ABSTRACT, None), True, id="untitled-same-abstract"
        ),
        pytest.param(
            Entry(ABSTRACT, None),
            Entry(ABSTRACT.replace("twelve", "eleven"), None),
            True,
            id="untitled-near-abstract",
        ),
        pytest.param(
            Entry(ABSTRACT, "Adapters for Language Models"),
            Entry(ABSTRACT, None),
            True,
            id="untitled-joins-titled",
        ),
        pytest.param(
            Entry(ABSTRACT, "Adapters for Language Models"),
            Entry(ABSTRACT, "A Wholly Different Title"),
            False,
            id="titled-never-merge-by-abstract",
        ),
    ],
)
def test_dedup_rules(db, first, second, same):
    store(db, first, name="one")
    report = store(db, second, name="two")
    assert db["papers"].count == (1 if same else 2)
    assert (report.merged, report.new_papers) == ((1, 0) if same else (0, 1))
    assert db["sightings"].count == 2


def test_later_title_names_an_untitled_paper(db):
    store(db, Entry(ABSTRACT, None), name="one")
    assert next(db.query("SELECT title_derived FROM papers"))["title_derived"] == 1
    store(db, Entry(ABSTRACT, "Adapters for Language Models", authors_count=3), name="two")
    row = next(db.query("SELECT title, title_derived, authors_count FROM papers"))
    assert row == {"title": "Adapters for Language Models", "title_derived": 0, "authors_count": 3}
    assert db["papers"].count == 1


def test_seeds_store_shared_papers_once_and_reingest_changes_nothing(db):
    first = [r for p in sorted(SEEDS.iterdir()) for r in ingest_target(db, str(p), NOW)]
    assert [(r.parsed, r.new_papers, r.merged, r.merges_by_rule) for r in first] == [
        (39, 39, 0, {}),
        (67, 61, 6, {"title": 6}),
        (11, 11, 0, {}),
    ]
    props = [r["title"].split(":")[0] for r in db.query("SELECT title FROM papers")]
    assert props.count("PROP") == 1 and props.count("B-PROP") == 1
    ernie = list(db.query("SELECT id FROM papers WHERE title LIKE 'ERNIE 3.0:%'"))
    assert len(ernie) == 1
    listed = {
        r["listed_on"]
        for r in db.query("SELECT listed_on FROM sightings WHERE paper_id = ?", [ernie[0]["id"]])
    }
    assert listed == {"2026-03-12", "2026-03-16"}
    counts = (db["papers"].count, db["sightings"].count)
    again = ingest_target(db, str(SEEDS), NOW)
    assert all(r.already_ingested for r in again)
    assert (db["papers"].count, db["sightings"].count) == counts == (111, 117)


def test_same_paper_twice_in_one_input_is_one_sighting(db):
    data = b"A Title\n" + ABSTRACT.encode() + b"\nA Title\n" + ABSTRACT.encode() + b"\n"
    report = ingest_bytes(db, "twice.txt", data, NOW)
    assert (report.new_papers, report.repeated, db["sightings"].count) == (1, 1, 1)


def test_failed_ingest_leaves_no_partial_paper(db, monkeypatch):
    import storage.papers as papers

    calls = {"n": 0}
    real = papers._create

    def failing_create(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk gone")
        return real(*args, **kwargs)

    monkeypatch.setattr(papers, "_create", failing_create)
    with pytest.raises(RuntimeError):
        store(db, Entry(ABSTRACT, "One"), Entry(OTHER, "Two"))
    # The failed batch rolled back whole; the input is not marked ingested.
    assert (db["papers"].count, db["sightings"].count) == (0, 0)
    assert indexed_ids(db) == []
    assert next(db.query("SELECT complete FROM inputs"))["complete"] == 0
    monkeypatch.setattr(papers, "_create", real)
    again = store(db, Entry(ABSTRACT, "One"), Entry(OTHER, "Two"))
    assert (again.new_papers, db["papers"].count, db["sightings"].count) == (2, 2, 2)
    assert next(db.query("SELECT complete FROM inputs"))["complete"] == 1


def test_input_row_counts_what_the_ingest_did(db):
    store(db, Entry(ABSTRACT, "One"), Entry(OTHER, "Two"), name="first")
    store(db, Entry(ABSTRACT, "One"), name="second")
    rows = list(db.query("SELECT parsed, new_papers, merged, complete FROM inputs ORDER BY id"))
    assert rows == [
        {"parsed": 0, "new_papers": 2, "merged": 0, "complete": 1},
        {"parsed": 0, "new_papers": 0, "merged": 1, "complete": 1},
    ]


def test_report_counts_merges_by_rule(db):
    ernie = "ERNIE 3.0: Large-scale Knowledge Enhanced Pre-training"
    store(
        db,
        Entry(ABSTRACT, "Adapters for Language Models", arxiv_id="2401.00001"),
        Entry(OTHER, ernie),
        Entry(RAG_ABSTRACT, RETYPED[0][0]),
        name="first",
    )
    report = store(
        db,
        Entry(OTHER.upper(), "Renamed in another source", arxiv_id="2401.00001"),
        Entry(OTHER, ernie.upper()),
        Entry(RAG_ABSTRACT, RETYPED[1][0]),
        name="second",
    )
    assert report.merges_by_rule == {"arxiv": 1, "title": 1, "abstract": 1}
    retyped = Entry(OTHER, ernie.replace("Pre-training", "Pretraining") + "!")
    assert store(db, retyped, name="third").merges_by_rule == {"fuzzy-title": 1}
    assert db["papers"].count == 3


@pytest.mark.parametrize(
    ("title", "second_abstract", "same"),
    [
        pytest.param("Introduction", OTHER, False, id="introduction"),
        pytest.param("Survey", OTHER, False, id="survey"),
        pytest.param("A Survey.", OTHER, False, id="a-survey"),
        pytest.param("Large Language Models", OTHER, False, id="three-words"),
        pytest.param("Survey", ABSTRACT[:120], True, id="same-paper-truncated-summary"),
        pytest.param("Survey", ABSTRACT.replace("twelve", "eleven"), True, id="same-paper-retyped"),
    ],
)
def test_a_short_generic_title_merges_only_when_the_abstracts_agree(
    db, title, second_abstract, same
):
    # "Introduction" or "Survey" names many papers: the title alone cannot say they are one.
    store(db, Entry(ABSTRACT, title), name="one")
    report = store(db, Entry(second_abstract, title), name="two")
    assert db["papers"].count == (1 if same else 2)
    assert report.merges_by_rule == ({"title": 1} if same else {})


def test_an_arxiv_api_entry_of_a_newer_version_brings_its_title_and_abstract(db):
    store(db, Entry(ABSTRACT, "Adapters: A First Look", arxiv_id="2603.01234", version=1))
    # An arXiv API query (no announce type) lists the paper's second version: its text is
    # that version's, and the RSS announcing the same replacement later adds nothing.
    api = Entry(OTHER, "Distilled Samplers in Four Steps", arxiv_id="2603.01234", version=2)
    store(db, api, name="api")
    rss = Entry(OTHER, api.title, arxiv_id="2603.01234", version=2, announce="replace")
    store(db, rss, name="rss")
    row = next(db.query("SELECT title, abstract, arxiv_version FROM papers"))
    assert row == {"title": api.title, "abstract": OTHER, "arxiv_version": 2}
    assert [p["title"] for p in search(db, "distilled samplers").papers] == [api.title]


def test_a_version_from_an_item_that_is_not_arxivs_never_replaces_the_text(db):
    # A blog's feed item whose id ends like a version ("…/adapters-1v2"), matched to the
    # stored paper by its title: it is no new version of the paper, and its summary is not
    # the paper's abstract.
    store(db, Entry(ABSTRACT, "Adapters: A First Look", arxiv_id="2603.01234", version=1))
    blog = Entry(ABSTRACT[:200] + " Our take, in short.", "Adapters: A First Look", version=2)
    store(db, blog, name="blog")
    row = next(db.query("SELECT abstract, arxiv_version FROM papers"))
    assert row == {"abstract": ABSTRACT, "arxiv_version": 1}
