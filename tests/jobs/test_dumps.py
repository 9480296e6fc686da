"""The Daily Papers dump parser, on the real seeds and on hand-made and generated edge cases."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.dumps import parse_dump, parse_month_day
from tests.conftest import SEEDS, count

REF = date(2026, 3, 20)
ABSTRACT = (
    "We propose a method that adapts large language models with a handful of parameters, "
    "and we show on twelve benchmarks that it matches full fine-tuning at a fraction of the cost."
)


def seed(prefix: str) -> bytes:
    return next(SEEDS.glob(f"{prefix}_*.txt")).read_bytes()


def test_dated_dump_with_metadata():
    parsed = parse_dump(seed("000"), REF)
    assert parsed.page_date == "2026-03-16"
    assert len(parsed.entries) == 39 and not parsed.skips
    first = parsed.entries[0]
    assert first.title.startswith("ERNIE-Gram: Pre-Training with Explicitly N-Gram")
    assert first.abstract.startswith("Coarse-grained linguistic information")
    assert (first.authors_count, first.published, first.upvotes) == (7, "2020-10-22", None)
    assert all(e.listed_on == "2026-03-16" for e in parsed.entries)
    by_title = {e.title.split(":")[0]: e for e in parsed.entries}
    # "ArchBERT" has no metadata lines: the next title follows its abstract directly.
    assert by_title["ArchBERT"].authors_count is None and by_title["ArchBERT"].published is None
    # "Oct 14, 2024 1": an upvote count after the date.
    assert (parsed.entries[-1].published, parsed.entries[-1].upvotes) == ("2024-10-14", 1)
    # "Mar 9 4": a date without a year (taken from the page date) and 4 upvotes.
    no_year = [e for e in parsed.entries if e.published == "2026-03-09"]
    assert len(no_year) == 1 and no_year[0].upvotes == 4


def test_titled_dump_without_metadata():
    parsed = parse_dump(seed("001"), REF)
    assert parsed.page_date == "2026-03-12"
    assert len(parsed.entries) == 67 and not parsed.skips
    assert all(e.title and e.published is None for e in parsed.entries)
    assert parsed.entries[0].title.startswith("ERNIE 3.0")


def test_abstract_only_dump_gives_untitled_entries_listed_on_reference():
    parsed = parse_dump(seed("002"), REF)
    assert len(parsed.entries) == 11 and not parsed.skips
    assert all(e.title is None for e in parsed.entries)
    assert {e.listed_on for e in parsed.entries} == {"2026-03-20"}


def dump(*lines: str, newline: str = "\n") -> bytes:
    return newline.join(lines).encode("utf-8")


@pytest.mark.parametrize(
    ("data", "entries", "skip_reasons"),
    [
        pytest.param(dump("Mar 16", "", "A Title", "", ABSTRACT, newline="\r\n"), 1, [], id="crlf"),
        pytest.param(b"\xef\xbb\xbf" + dump("Mar 16", "A Title", ABSTRACT), 1, [], id="bom"),
        pytest.param(dump("A Title", "", "", "", "", ABSTRACT, "", "", ""), 1, [], id="blank-runs"),
        pytest.param(
            dump("A Title", ABSTRACT, "Truncated Tit"),
            1,
            ["title without an abstract"],
            id="truncated-title",
        ),
        pytest.param(
            dump("A Title", ABSTRACT[:150]),
            0,
            ["title without an abstract"] * 2,
            id="truncated-abstract",
        ),
        pytest.param(
            dump("  • 7 authors", "A Title", ABSTRACT),
            1,
            ["author count without a paper"],
            id="orphan-authors",
        ),
        pytest.param(
            dump("A Title", ABSTRACT, "Oct 22, 2020", "Oct 23, 2020"),
            1,
            ["date without a paper"],
            id="second-date",
        ),
        pytest.param(dump("#" * 400, "A Title", ABSTRACT), 1, ["not prose"], id="garbage-line"),
        pytest.param(
            dump("Ωμέγα: Ünïcödé Títlé ✓", ABSTRACT.replace("We", "Wé")), 1, [], id="unicode"
        ),
        pytest.param(dump("A Title", "\x00\x07" + ABSTRACT + "\u200b"), 1, [], id="control-chars"),
        pytest.param(
            # In lines that are UTF-8 otherwise ("é").
            dump("A Title", ABSTRACT, "B Title", ABSTRACT * 3).replace(
                b"matches", "ma\udcfftchés".encode(errors="surrogateescape")
            ),
            2,
            ["invalid UTF-8 bytes dropped"],
            id="stray-bad-byte",
        ),
        pytest.param(
            ("Ünïcödé Title\n" + "é" * 30 + " " + ABSTRACT).encode("cp1252"),
            1,
            ["not UTF-8; decoded as Windows-1252"],
            id="windows-1252",
        ),
        pytest.param(b"", 0, [], id="empty"),
    ],
)
def test_edge_cases(data, entries, skip_reasons):
    parsed = parse_dump(data, REF)
    assert len(parsed.entries) == entries
    assert sorted(s.reason for s in parsed.skips) == sorted(skip_reasons)
    for entry in parsed.entries:
        assert "\x00" not in entry.abstract and "\u200b" not in entry.abstract


@pytest.mark.parametrize(
    ("text", "reference", "expected"),
    [
        pytest.param("Mar 16", date(2026, 3, 20), (date(2026, 3, 16), None), id="this-year"),
        pytest.param("Dec 30", date(2026, 1, 2), (date(2025, 12, 30), None), id="last-year"),
        # A day after the page's date was read as last year's, a year off; feeds allowed it.
        pytest.param("Mar 17", date(2026, 3, 16), (date(2026, 3, 17), None), id="a-day-ahead"),
        pytest.param("Jan 1", date(2026, 12, 31), (date(2027, 1, 1), None), id="new-years-eve"),
        pytest.param("Mar 18", date(2026, 3, 16), (date(2025, 3, 18), None), id="days-ahead"),
        pytest.param("Oct 22, 2020", date(2026, 1, 2), (date(2020, 10, 22), None), id="with-year"),
        pytest.param("Mar 9 4", date(2026, 3, 16), (date(2026, 3, 9), 4), id="upvotes"),
        pytest.param("Feb 30", date(2026, 3, 16), None, id="impossible-day"),
        pytest.param("Foo 3", date(2026, 3, 16), None, id="not-a-month"),
    ],
)
def test_month_day(text, reference, expected):
    assert parse_month_day(text, reference) == expected


@pytest.mark.fuzz
@given(st.binary(max_size=4000))
def test_any_bytes_never_raise(data):
    count("parsed inputs")
    parsed = parse_dump(data, REF)
    assert all(e.abstract.strip() for e in parsed.entries)


LINE = st.one_of(
    st.sampled_from(["", "Mar 16", "  • 3 authors", "·", "Oct 22, 2020 5", "Subscribe", "A Title"]),
    st.just(ABSTRACT),
    st.text(max_size=400),
)


@pytest.mark.fuzz
@given(st.lists(LINE, max_size=40), st.sampled_from(["\n", "\r\n", "\r"]))
def test_any_line_mix_never_raises_and_keeps_every_abstract(lines, newline):
    count("parsed inputs")
    parsed = parse_dump(newline.join(lines).encode("utf-8", "surrogatepass"), REF)
    assert len([e for e in parsed.entries if e.abstract == ABSTRACT]) == lines.count(ABSTRACT)


def test_long_title_ending_with_a_full_stop_is_still_a_title():
    title = "A Study of " + "Very Long Titles That Go On " * 4 + "And End With a Stop."
    assert 120 <= len(title) < 250
    parsed = parse_dump(dump(title, "", ABSTRACT * 2, "", "Short Title", "", ABSTRACT), REF)
    assert [e.title for e in parsed.entries] == [title, "Short Title"]


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        pytest.param(b"a\nb\r\nc\rd\n\ne", [b"a", b"b", b"c", b"d", b"", b"e"], id="lf-crlf-cr"),
        pytest.param(b"abc\r\ndef\r\n", [b"abc", b"def"], id="crlf-across-chunks"),
        pytest.param(b"x" * 20 + b"\nok\n", [None, b"ok"], id="overlong-first"),
        pytest.param(b"ok\n" + b"y" * 12, [b"ok", None], id="overlong-last"),
        pytest.param(b"a\rbbbbbbbbbbb\rc\n", [b"a", None, b"c"], id="overlong-between-crs"),
        pytest.param(b"", [], id="empty"),
    ],
)
def test_lines_are_read_in_chunks_and_overlong_ones_never_held(monkeypatch, data, lines):
    import io

    from jobs import dumps

    # Chunks of 3 bytes and a 5-byte line cap: every line break lands on a chunk boundary.
    monkeypatch.setattr(dumps, "CHUNK_BYTES", 3)
    monkeypatch.setattr(dumps, "MAX_LINE_BYTES", 5)
    assert list(dumps.raw_lines(io.BytesIO(data))) == lines


@pytest.mark.parametrize(
    ("lines", "field", "reason"),
    [
        pytest.param(
            ["  • 99999999999999999999 authors"],
            "authors_count",
            "authors above 100,000 dropped",
            id="authors",
        ),
        pytest.param(
            ["·", "Mar 9, 2026 99999999999999999999"],
            "upvotes",
            "upvotes above 1,000,000 dropped",
            id="upvotes",
        ),
    ],
)
def test_an_impossible_count_drops_the_field_not_the_paper(lines, field, reason):
    data = dump("Mar 16", "A Title", ABSTRACT, *lines, "B Title", ABSTRACT.upper())
    parsed = parse_dump(data, REF)
    assert [e.title for e in parsed.entries] == ["A Title", "B Title"]
    assert getattr(parsed.entries[0], field) is None
    assert [s.reason for s in parsed.skips] == [reason]


def test_overlong_abstract_is_truncated_and_overlong_line_skipped():
    from jobs.dumps import MAX_LINE_BYTES
    from jobs.parsing import ABSTRACT_MAX_CHARS

    long_abstract = ABSTRACT * (ABSTRACT_MAX_CHARS // len(ABSTRACT) + 2)
    data = dump("A Title", long_abstract, "B Title", "x " * MAX_LINE_BYTES, "C Title", ABSTRACT)
    parsed = parse_dump(data, REF)
    assert [e.title for e in parsed.entries] == ["A Title", "C Title"]
    assert len(parsed.entries[0].abstract) <= ABSTRACT_MAX_CHARS
    assert parsed.entries[0].abstract.endswith("…")
    assert sorted(s.reason for s in parsed.skips) == [
        "abstract longer than 4,000 characters truncated",
        "line longer than 16,384 bytes",
        "title without an abstract",
    ]


def test_junk_lines_are_counted_not_kept():
    parsed = parse_dump(dump("A Title", ABSTRACT, *["#" * 80] * 20_000), REF)
    assert len(parsed.entries) == 1
    assert parsed.skip_counts == {"neither a title nor an abstract": 20_000}
    assert len(parsed.skips) == 100  # the first few keep their place, for inspection


def _mixed_dump() -> bytes:
    """Forty papers with junk lines between them, and a few lines that cannot be read as
    plain UTF-8 text: a stray bad byte, a Unicode line break, a form feed, a CRLF."""
    lines = ["Mar 16", ""]
    for n in range(40):
        abstract = ABSTRACT.replace("matches", "ma\udcfftchés") if n == 25 else ABSTRACT
        title = f"Paper {n}\u2028Model Title" if n == 30 else f"Paper {n} Model Title"
        authors = "  • 3 authors\x0c" if n == 33 else "  • 3 authors"
        date = "Oct 22, 2020 4\r" if n == 17 else "Oct 22, 2020 4"
        lines += [title, "", abstract, authors, date, "", "#" * 80, ""]
    return "\n".join(lines).encode("utf-8", errors="surrogateescape")


@pytest.mark.parametrize("chunk", [5, 300, 1 << 20], ids=["tiny", "small", "whole"])
def test_chunk_size_never_changes_what_is_read(monkeypatch, chunk):
    from jobs import dumps

    # Chunks of plain lines are decoded whole and the rest line by line: which is which
    # depends on the chunk size, and must change no entry, skip or line number.
    expected = parse_dump(_mixed_dump(), REF)
    monkeypatch.setattr(dumps, "CHUNK_BYTES", chunk)
    parsed = parse_dump(_mixed_dump(), REF)
    assert len(parsed.entries) == 40
    assert parsed.entries == expected.entries
    assert [(s.where, s.reason) for s in parsed.skips] == [
        (s.where, s.reason) for s in expected.skips
    ]
    assert ("line 205", "invalid UTF-8 bytes dropped") in [
        (s.where, s.reason) for s in parsed.skips
    ]
    assert parsed.entries[30].title == "Model Title" and parsed.entries[33].authors_count == 3
    assert parsed.skip_counts["neither a title nor an abstract"] == 40


@pytest.mark.parametrize(
    "title",
    [
        pytest.param("Janus 2", id="janus"),
        pytest.param("Octopus 2", id="octopus"),
        pytest.param("Marco 1", id="marco"),
        pytest.param("Novel 7", id="novel"),
    ],
)
def test_a_short_title_that_starts_like_a_month_is_a_title_not_a_date(title):
    # The first paper has no metadata lines, so a date-like line after its abstract would
    # read as its publication date, and the next paper would lose its title.
    other = ABSTRACT.replace("twelve", "eleven")
    parsed = parse_dump(dump("Mar 16", "Adapters for Everyone", ABSTRACT, title, other), REF)
    assert [(e.title, e.published) for e in parsed.entries] == [
        ("Adapters for Everyone", None),
        (title, None),
    ]
    assert not parsed.skips


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Sept 9, 2023", date(2023, 9, 9), id="sept"),
        pytest.param("March 9, 2023", date(2023, 3, 9), id="full-name"),
        pytest.param("Jun. 9, 2023", date(2023, 6, 9), id="abbreviation-with-dot"),
    ],
)
def test_month_spellings_still_read_as_dates(text, expected):
    assert parse_month_day(text, REF) == (expected, None)


def test_a_windows_1252_abstract_keeps_its_accents_quotes_and_dashes():
    # An accent or a curly quote is far under 1% of an abstract's bytes: those were dropped
    # as stray bad bytes ("Schrdinger", "models"), while the title beside it read right.
    abstract = (
        "We study Schrödinger bridges as a framework for generative modeling between "
        "arbitrary distributions, and show that the model’s iterative fitting procedure "
        "converges faster when initialised from a diffusion model – experiments on images "
        "and single-cell data confirm the gains at a fraction of the previous cost."
    )
    data = f"Mar 16\n\nSchrödinger Bridges\n\n{abstract}\n".encode("cp1252")
    parsed = parse_dump(data, REF)
    assert [(e.title, e.abstract) for e in parsed.entries] == [("Schrödinger Bridges", abstract)]
    assert dict(parsed.skip_counts) == {"not UTF-8; decoded as Windows-1252": 1}
