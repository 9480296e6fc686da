"""Ingest of whole inputs: listing dates, what is not an input at all, and the log."""

from __future__ import annotations

import logging
import os
from datetime import date

import pytest

from jobs.ingest import ingest_target, name_date
from storage.papers import stats
from tests.conftest import NOW, SEEDS

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


def test_skipped_junk_is_one_log_line_per_input(db, tmp_path, caplog):
    path = tmp_path / "junk.txt"
    path.write_text("Mar 16\n" + UNDATED + "\n".join(["#" * 80] * 5000), encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="jobs"):
        (report,) = ingest_target(db, str(path), NOW)
    assert report.skipped == 5000 and report.new_papers == 1
    lines = [r.getMessage() for r in caplog.records if "junk.txt" in r.getMessage()]
    assert lines == [f"skipped 5000 parts of {path}: 5000× neither a title nor an abstract"]


def test_seed_inputs_are_not_mistaken_for_binary(db):
    reports = ingest_target(db, str(SEEDS), NOW)
    assert [r.error for r in reports] == [None, None, None]
