"""Ingest of whole inputs: listing dates, what is not an input at all, and the log."""

from __future__ import annotations

import logging
import os
from datetime import date

import pytest

import jobs.ingest
from jobs.ingest import give_memory_back, ingest_target, name_date
from storage.papers import stats
from tests.conftest import FIXTURES, NOW, SEEDS

ABSTRACT = (
    "We propose a method that adapts large language models with a handful of parameters, "
    "and we show on twelve benchmarks that it matches full fine-tuning at a fraction of the cost."
)
UNDATED = f"Adapters for Everyone\n\n{ABSTRACT}\n"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("inbox/2026-03-18.txt", date(2026, 3, 18), id="iso"),
        pytest.param("hf_20260318.json", date(2026, 3, 18), id="compact"),
        pytest.param("daily_2026_03_18_cs.txt", date(2026, 3, 18), id="underscores"),
        pytest.param("https://example.org/dumps/2026-03-18", date(2026, 3, 18), id="url"),
        pytest.param("seeds/000_db82ecd9bbfd133f.txt", None, id="hash-name"),
        pytest.param("2026-13-45.txt", None, id="impossible"),
        pytest.param("x20260318.txt", None, id="glued-to-a-word"),
    ],
)
def test_date_in_the_name(name, expected):
    assert name_date(name) == expected


def sighting(db) -> dict:
    return next(db.query("SELECT listed_on, listing FROM sightings"))


@pytest.mark.parametrize(
    ("name", "text", "listing", "expected"),
    [
        pytest.param("a.txt", "Mar 16\n" + UNDATED, date(2026, 3, 20), "2026-03-16", id="page"),
        pytest.param("a.txt", UNDATED, date(2026, 3, 10), "2026-03-10", id="--date"),
        pytest.param("2026-03-12.txt", UNDATED, None, "2026-03-12", id="file-name"),
        pytest.param("2026-03-12.txt", UNDATED, date(2026, 3, 10), "2026-03-10", id="--date-wins"),
    ],
)
def test_listing_date_comes_from_page_date_option_or_name(
    db, tmp_path, name, text, listing, expected
):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    os.utime(path, (0, 0))  # the modification time never matters
    (report,) = ingest_target(db, str(path), NOW, listing)
    assert not report.undated
    assert sighting(db) == {"listed_on": expected, "listing": "dated"}


def test_dump_without_any_date_is_undated(db, tmp_path):
    path = tmp_path / "inbox-drop.txt"
    path.write_text(UNDATED, encoding="utf-8")
    (report,) = ingest_target(db, str(path), NOW)
    assert report.undated and report.new_papers == 1
    assert sighting(db) == {"listed_on": NOW.date().isoformat(), "listing": "undated"}


@pytest.mark.parametrize(
    ("data", "error"),
    [
        pytest.param(bytes(range(256)) * 40, "not a dump, feed or JSON (binary data)", id="binary"),
        pytest.param(
            b"\x89PNG\r\n\x1a\n" + os.urandom(4000),
            "not a dump, feed or JSON (binary data)",
            id="png",
        ),
        pytest.param(
            b"name,score\n" + b"lora,1\n" * 50,
            "not a Daily Papers dump: no paper found (51× title without an abstract)",
            id="csv",
        ),
        pytest.param(b"<html><body>hi</body>", "not a readable RSS/Atom feed", id="html"),
        pytest.param(b"{not json", "not valid JSON (JSONDecodeError)", id="broken-json"),
    ],
)
def test_what_is_no_input_fails_with_a_reason_and_a_failure_row(db, tmp_path, data, error):
    path = tmp_path / "dropped.txt"
    path.write_bytes(data)
    good = tmp_path / "good.txt"
    good.write_text("Mar 16\n" + UNDATED, encoding="utf-8")
    bad, ok = ingest_target(db, str(path), NOW) + ingest_target(db, str(good), NOW)
    assert bad.error.startswith(error) and bad.parsed == 0
    assert ok.error is None and ok.new_papers == 1
    rows = {s["name"]: s for s in stats(db)["sources"]}
    assert rows[str(path)]["last_error"] == bad.error and rows[str(path)]["failures"] == 1
    assert rows[str(good)]["last_error"] is None


@pytest.mark.parametrize(("junk", "parts"), [(5000, "5000 parts"), (1, "1 part")], ids=str)
def test_skipped_junk_is_one_log_line_per_input(db, tmp_path, caplog, junk, parts):
    # One junk line, as `make run` logs a file dropped into its inbox, said "1 parts".
    path = tmp_path / "junk.txt"
    path.write_text("Mar 16\n" + UNDATED + "\n".join(["#" * 80] * junk), encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="jobs"):
        (report,) = ingest_target(db, str(path), NOW)
    assert report.skipped == junk and report.new_papers == 1
    lines = [r.getMessage() for r in caplog.records if "junk.txt" in r.getMessage()]
    assert lines == [f"skipped {parts} of {path}: {junk}× neither a title nor an abstract"]


def test_seed_inputs_are_not_mistaken_for_binary(db):
    reports = ingest_target(db, str(SEEDS), NOW)
    assert [r.error for r in reports] == [None, None, None]


HF_JSON = (
    '[{"paper": {"id": "2603.01234", "title": "Gauß Adapters", "summary": "We merge '
    'low-rank adapters without retraining.", "publishedAt": "2026-03-16T10:00:00Z"},'
    ' "publishedAt": "2026-03-17T02:00:00Z"}]'
)


@pytest.mark.parametrize(
    ("text", "encoding", "papers"),
    [
        pytest.param("seed", "utf-16", 67, id="dump-utf-16-le-bom"),
        pytest.param("seed", "utf-16-be", 67, id="dump-utf-16-be-bom"),
        pytest.param(HF_JSON, "utf-16", 1, id="json-utf-16-le-bom"),
        pytest.param("feed", "utf-16", 2, id="rss-utf-16-le-bom"),
    ],
)
def test_a_utf_16_input_with_a_byte_order_mark_is_read_as_text(
    db, tmp_path, text, encoding, papers
):
    # What Windows Notepad ("Unicode") and PowerShell's `>` save: not binary data.
    if text == "seed":
        text = (SEEDS / "001_bd886f24c340b808.txt").read_text("utf-8")
    elif text == "feed":
        rss = (FIXTURES / "arxiv_rss.xml").read_text("utf-8")
        text = rss.replace("encoding='UTF-8'", "encoding='UTF-16'")
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    path = tmp_path / "2026-03-17.txt"
    path.write_bytes(data)
    (report,) = ingest_target(db, str(path), NOW)
    assert (report.error, report.new_papers, report.skipped) == (None, papers, 0)
    assert db["papers"].count_where("title LIKE 'Gauß%'") == (papers == 1)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"Rate exceeded.", id="arxiv-throttled"),
        pytest.param(b"Bad Gateway\n", id="502"),
    ],
)
def test_a_url_answering_a_short_text_says_what_it_answered(db, file_server, body):
    # arXiv's API throttles with HTTP 200 and the bare words "Rate exceeded.": an admin
    # told only "not a Daily Papers dump" could not know the feed was throttled.
    file_server.routes["/api/query"] = (200, body, {"Content-Type": "text/plain"})
    (report,) = ingest_target(db, file_server.url("/api/query"), NOW)
    words = body.decode().strip()
    assert report.error.startswith("not a Daily Papers dump: no paper found")
    assert report.error.endswith(f'; it reads "{words}"')
    assert stats(db)["sources"][0]["last_error"] == report.error


def _resident_mb() -> float:
    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    return int(fields["RssAnon"].split()[0]) / 1024


@pytest.mark.skipif(
    jobs.ingest._LIBC is None or not os.path.exists("/proc/self/status"),
    reason="not Linux with glibc: there is no malloc_trim to give memory back with",
)
def test_the_memory_an_input_freed_is_given_back_to_the_system():
    """A long ingest (a folder of dumps; the worker's inbox, day after day) must not keep
    each input's freed memory resident: abstracts freed below one still held stay resident
    in the C heap until they are given back."""
    texts = [f"{'x' * 2000}{i}" for i in range(100_000)]  # ~200 MB, each from malloc
    kept = texts[-1]  # on top of the heap: nothing below it is trimmed by itself
    del texts
    freed = _resident_mb()
    give_memory_back()
    assert _resident_mb() < freed - 100
    assert kept.endswith("99999")
