"""Code links: from Hugging Face's `githubRepo` and from "code is available at …" sentences,
carried by `papers search --json`."""

from __future__ import annotations

import json

import pytest

from jobs.ingest import ingest_bytes
from storage.code_links import code_url_from_abstract, normalize_repo_url
from tests.conftest import NOW
from tests.test_cli import run


@pytest.mark.parametrize(
    ("abstract", "expected"),
    [
        pytest.param(
            "Code is available at https://github.com/microsoft/LoRA.",
            "https://github.com/microsoft/LoRA",
            id="sentence-end",
        ),
        pytest.param(
            "Our code: https://github.com/huggingface/peft.git (MIT).",
            "https://github.com/huggingface/peft",
            id="dot-git",
        ),
        pytest.param(
            "See https://github.com/org/repo/tree/main/examples for examples.",
            "https://github.com/org/repo",
            id="deeper-path",
        ),
        pytest.param(
            "Released at https://gitlab.com/group/project",
            "https://gitlab.com/group/project",
            id="gitlab",
        ),
        pytest.param("Demo at https://example.org/lora/demo.", None, id="not-a-repo-host"),
        pytest.param("See https://github.com/topics/lora for more.", None, id="not-a-repo"),
        pytest.param("We study low-rank adapters.", None, id="no-link"),
    ],
)
def test_code_url_from_an_abstract(abstract, expected):
    assert code_url_from_abstract(abstract) == expected


def test_hf_github_repo_and_abstract_sentences_become_code_url_in_search_json(db, tmp_path):
    items = [
        {
            "paper": {
                "id": "2603.11111",
                "title": "Adapter Soup for Vision",
                "summary": "We merge adapters for vision transformers without retraining.",
                "githubRepo": "https://github.com/soup/adapter-soup",
            }
        },
        {
            "paper": {
                "id": "2603.22222",
                "title": "Adapter Routing",
                "summary": "We route adapters per token. Code is available at "
                "https://github.com/route/adapters.",
            }
        },
        {"paper": {"id": "2603.33333", "title": "Adapter Theory", "summary": "Adapters, proved."}},
    ]
    ingest_bytes(db, "hf.json", json.dumps(items).encode(), NOW)
    ran = run(tmp_path / "papers.db", "search", "adapter", "--json")
    assert ran.returncode == 0, ran.stderr
    codes = {p["title"]: p["code_url"] for p in json.loads(ran.stdout)["papers"]}
    assert codes == {
        "Adapter Soup for Vision": "https://github.com/soup/adapter-soup",
        "Adapter Routing": "https://github.com/route/adapters",
        "Adapter Theory": None,
    }


def test_a_forged_repo_value_is_not_a_link():
    assert normalize_repo_url("javascript:alert(1)//github.com/a/b") is None
    assert normalize_repo_url(None) is None
