""" "More like this" on the seed papers: related papers by text, never the paper itself or a
second listing of it."""

from __future__ import annotations

import json

import pytest

from jobs.ingest import ingest_bytes
from storage.similar import distinctive_terms, similar
from tests.conftest import NOW


def paper_id(db, title: str) -> int:
    return next(db.query("SELECT id FROM papers WHERE title = ?", [title]))["id"]


@pytest.mark.parametrize(
    ("title", "related"),
    [
        pytest.param(
            "Language Models are Few-Shot Learners",
            "mGPT: Few-Shot Learners Go Multilingual",
            id="gpt3-few-shot",
        ),
        pytest.param(
            "DeBERTa: Decoding-enhanced BERT with Disentangled Attention",
            "DeBERTaV3: Improving DeBERTa using ELECTRA-Style Pre-Training with "
            "Gradient-Disentangled Embedding Sharing",
            id="deberta",
        ),
        pytest.param(
            "SPDF: Sparse Pre-training and Dense Fine-tuning for Large Language Models",
            "DSEE: Dually Sparsity-embedded Efficient Tuning of Pre-trained Language Models",
            id="sparsity",
        ),
        pytest.param(
            "A Unified Continual Learning Framework with General Parameter-Efficient Tuning",
            "PVP: Pre-trained Visual Parameter-Efficient Tuning",
            id="parameter-efficient",
        ),
    ],
)
def test_a_seed_paper_is_most_like_its_related_seed_papers(seeded, title, related):
    found = similar(seeded, paper_id(seeded, title))
    titles = [p["title"] for p in found]
    assert len(found) == 5 and title not in titles
    assert related in titles[:2]
    assert [p["score"] for p in found] == sorted((p["score"] for p in found), reverse=True)


def test_distinctive_terms_are_the_papers_own_rare_words(seeded):
    terms = distinctive_terms(seeded, paper_id(seeded, "Language Models are Few-Shot Learners"))
    assert {"shot", "learner"} <= set(terms) and "the" not in terms and "model" not in terms


def test_a_second_listing_of_the_same_paper_is_not_more_like_it(seeded):
    gpt3 = next(
        seeded.query("SELECT * FROM papers WHERE title = 'Language Models are Few-Shot Learners'")
    )
    # Same abstract, another title: dedup leaves two titled papers for a person to judge.
    item = {"paper": {"id": "2005.14165", "title": "GPT-3", "summary": gpt3["abstract"]}}
    report = ingest_bytes(seeded, "hf.json", json.dumps([item]).encode(), NOW)
    assert report.new_papers == 1
    twin = paper_id(seeded, "GPT-3")
    assert twin not in [p["id"] for p in similar(seeded, gpt3["id"])]
    assert gpt3["id"] not in [p["id"] for p in similar(seeded, twin)]


def test_a_paper_with_no_shared_words_has_no_similar_papers(seeded):
    item = {"paper": {"title": "Zyxwv qrstu", "summary": "Plmokn ijbuhv ygvtfc rdxesz wqazxs."}}
    ingest_bytes(seeded, "odd.json", json.dumps([item]).encode(), NOW)
    assert similar(seeded, paper_id(seeded, "Zyxwv qrstu")) == []
    assert similar(seeded, 10_000_000) == []
