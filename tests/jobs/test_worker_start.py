"""What the worker does with the search index before its jobs start."""

from __future__ import annotations

import logging

import pytest

from jobs.worker import prepare_index
from storage import connect
from storage import index as search_index


@pytest.mark.parametrize(
    ("split_from", "told"), [(10**9, False), (1, True)], ids=["small", "grown"]
)
def test_the_worker_says_when_a_grown_store_should_be_reindexed(
    worker_config, monkeypatch, caplog, split_from, told
):
    db = connect(worker_config.db_path)
    papers = db["papers"].count
    db.close()
    monkeypatch.setattr(search_index, "SHARD_PAPERS", split_from)
    with caplog.at_level(logging.WARNING, logger="jobs.worker"):
        prepare_index(worker_config)
    hint = f"The search index holds {papers} papers in one shard: run `papers reindex`"
    assert (hint in caplog.text) is told
