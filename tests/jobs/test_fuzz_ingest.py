"""Generated dumps, feeds and JSON through the whole ingest: never raise, never half-write."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from xml.sax.saxutils import escape

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.ingest import ingest_bytes
from storage import connect
from storage.index import indexed_ids
from tests.conftest import count

NOW = datetime(2026, 3, 17, 8, tzinfo=UTC)
WORDS = st.sampled_from(["lora", "diffusion", "model", "pre-training", "LLM", "&", "<b>", "Ω", "—"])
TEXT = st.one_of(
    st.lists(WORDS, min_size=1, max_size=60).map(" ".join),
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=2000, max_size=6000),  # huge lines
)
MANGLE = st.sampled_from(["none", "truncate", "latin-1", "control", "nul"])


def mangle(data: bytes, how: str, cut: int) -> bytes:
    if how == "truncate":
        return data[: cut % (len(data) + 1)]
    if how == "latin-1":
        return data.decode("utf-8", "replace").encode("latin-1", "replace")
    if how == "control":
        return data.replace(b" ", b"\x07 \x1b", 3)
    if how == "nul":
        return data.replace(b"e", b"\x00", 5)
    return data


def dump(entries: list[tuple[str, str]]) -> bytes:
    lines = ["new", "Daily Papers", "Mar 16"]
    for title, abstract in entries:
        lines += [title, "", abstract, "", "  • 3 authors", "·", "Mar 9 4"]
    return "\n".join(lines).encode("utf-8", "surrogatepass")


def rss(entries: list[tuple[str, str]]) -> bytes:
    items = "".join(
        f"<item><title>{escape(t)}</title><link>https://arxiv.org/abs/2603.{i:05d}v2</link>"
        f"<description>arXiv:2603.{i:05d}v2 Announce Type: new Abstract: {escape(a)}</description>"
        "</item>"
        for i, (t, a) in enumerate(entries)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel>{items}</channel></rss>'.encode(
        "utf-8", "surrogatepass"
    )


VALUE = st.one_of(
    st.none(), st.integers(), st.text(max_size=40), st.lists(st.integers(), max_size=2)
)


def hf(entries: list[tuple[str, str]], odd: list) -> bytes:
    items = [
        {
            "paper": {
                "id": f"2603.{i:05d}",
                "title": t,
                "summary": a,
                "upvotes": i,
                "authors": [{"name": "A"}],
            },
            "publishedAt": "2026-03-16T00:00:00Z",
        }
        for i, (t, a) in enumerate(entries)
    ]
    items += [{"paper": {"id": v, "title": v, "summary": v, "upvotes": v}} for v in odd]
    return json.dumps(items).encode()


def check_store(db) -> None:
    """Every paper is whole: indexed once, seen at least once, with text."""
    one = lambda sql: next(db.query(sql))["n"]  # noqa: E731
    assert indexed_ids(db) == [r["id"] for r in db.query("SELECT id FROM papers ORDER BY id")]
    assert (
        one("SELECT COUNT(*) AS n FROM papers WHERE id NOT IN (SELECT paper_id FROM sightings)")
        == 0
    )
    assert (
        one("SELECT COUNT(*) AS n FROM papers WHERE trim(title) = '' OR trim(abstract) = ''") == 0
    )
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.fixture(scope="module")
def fuzz_db(tmp_path_factory):
    db = connect(tmp_path_factory.mktemp("fuzz") / "fuzz.db")
    yield db
    db.close()


@pytest.mark.fuzz
@given(
    kind=st.sampled_from(["dump", "rss", "hf"]),
    entries=st.lists(st.tuples(TEXT, TEXT), max_size=6),
    odd=st.lists(VALUE, max_size=3),
    how=MANGLE,
    cut=st.integers(min_value=0, max_value=10_000),
)
def test_generated_inputs_never_raise_and_leave_whole_papers(fuzz_db, kind, entries, odd, how, cut):
    data = {
        "dump": lambda: dump(entries),
        "rss": lambda: rss(entries),
        "hf": lambda: hf(entries, odd),
    }[kind]()
    report = ingest_bytes(fuzz_db, f"fuzz-{kind}", mangle(data, how, cut), NOW)
    count("generated inputs")
    # An input with no paper in it is reported as not a dump, feed or JSON, and stores nothing.
    assert report.error is None or (report.parsed == 0 and report.error.startswith("not "))
    assert (
        report.new_papers + report.merged + report.repeated == report.parsed
        or report.already_ingested
    )
    check_store(fuzz_db)
