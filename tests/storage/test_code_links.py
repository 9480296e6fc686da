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


def _arxiv_rss(version: int, announce: str, abstract: str) -> bytes:
    return f"""<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:arxiv="http://arxiv.org/schemas/atom" version="2.0"><channel>
<title>cs.CL updates on arXiv.org</title><link>http://rss.arxiv.org/rss/cs.CL</link>
<item><title>Adapter Routing for Tokens</title><link>https://arxiv.org/abs/2603.07777</link>
<description>arXiv:2603.07777v{version} Announce Type: {announce}
Abstract: {abstract}</description>
<guid isPermaLink="false">oai:arXiv.org:2603.07777v{version}</guid>
<pubDate>Wed, 18 Mar 2026 00:00:00 -0400</pubDate>
<arxiv:announce_type>{announce}</arxiv:announce_type></item></channel></rss>""".encode()


def test_a_code_link_a_later_version_of_the_abstract_adds_becomes_code_url(db):
    """A paper stored without a code link whose replacement's abstract adds "Code is
    available at …" kept no Code button: only a source's own repo field was merged."""
    first = "We route each token to a mixture of adapters and beat static merging."
    ingest_bytes(db, "v1.xml", _arxiv_rss(1, "new", first), NOW)
    revised = f"{first} Code is available at https://github.com/route/adapters."
    ingest_bytes(db, "v2.xml", _arxiv_rss(2, "replace", revised), NOW)
    row = db.execute("SELECT abstract, code_url FROM papers").fetchone()
    assert row == (revised, "https://github.com/route/adapters")
