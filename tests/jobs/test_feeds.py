"""Feeds and JSON through real feedparser, fetched from a local HTTP server."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.text import escape_mrkdwn
from jobs.feeds import parse_feed, parse_hf_json
from jobs.ingest import ingest_bytes, ingest_target
from storage.search import search
from tests.conftest import FIXTURES, NOW, count

DAY = date(2026, 3, 17)


def test_arxiv_rss_items_take_id_authors_and_strip_announce_prefix():
    parsed = parse_feed((FIXTURES / "arxiv_rss.xml").read_bytes(), DAY)
    first = parsed.entries[0]
    assert first.title == "LoRA Soup: Merging Low-Rank Adapters & Friends"
    assert first.arxiv_id == "2603.01234"
    assert first.abstract.startswith("We study how low-rank adaptation")
    assert first.authors == ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
    assert first.url == "https://arxiv.org/abs/2603.01234"
    assert parsed.entries[1].arxiv_id == "2107.02137"


def test_arxiv_api_atom_drops_version_and_folds_title_lines():
    parsed = parse_feed((FIXTURES / "arxiv_api.atom").read_bytes(), DAY)
    assert [e.arxiv_id for e in parsed.entries] == ["2106.09685", "2106.09685"]
    assert parsed.entries[0].title == "LoRA: Low-Rank Adaptation of Large Language Models"
    assert parsed.entries[0].published == "2021-06-17"
    assert parsed.entries[0].authors == ["Edward J. Hu", "Yelong Shen"]


def test_hf_json_keeps_good_items_and_counts_bad_ones():
    parsed = parse_hf_json((FIXTURES / "hf_daily.json").read_bytes(), DAY)
    assert [e.arxiv_id for e in parsed.entries] == ["2603.04567", "2603.01234", None]
    first = parsed.entries[0]
    assert (first.upvotes, first.comments, first.listed_on) == (42, 3, "2026-03-17")
    assert first.authors == ["Jane Doe", "John Roe"] and first.published == "2026-03-16"
    assert parsed.entries[2].title is None and parsed.entries[2].upvotes is None
    assert sorted(s.reason for s in parsed.skips) == [
        "item has no paper object",
        "item has no paper object",
        "paper has no summary",
    ]


def test_feed_versions_of_one_paper_are_one_paper(db):
    ingest_target(db, str(FIXTURES / "arxiv_api.atom"), NOW)
    assert db["papers"].count == 1 and db["sightings"].count == 1


def test_feed_gives_seed_paper_its_arxiv_id(seeded):
    ingest_target(seeded, str(FIXTURES / "arxiv_rss.xml"), NOW)
    rows = list(seeded.query("SELECT arxiv_id FROM papers WHERE title LIKE 'ERNIE 3.0%'"))
    assert rows == [{"arxiv_id": "2107.02137"}]
    hits = search(seeded, "ernie 3.0").papers
    assert [p["url"] for p in hits if p["title"].startswith("ERNIE 3.0")] == [
        "https://arxiv.org/abs/2107.02137"
    ]


def test_rss_and_json_of_the_same_paper_merge_and_keep_upvotes(db):
    ingest_target(db, str(FIXTURES / "arxiv_rss.xml"), NOW)
    ingest_target(db, str(FIXTURES / "hf_daily.json"), NOW)
    rows = list(db.query("SELECT paper_id, upvotes FROM sightings ORDER BY id"))
    lora = [r for r in rows if r["paper_id"] == rows[0]["paper_id"]]
    assert [r["upvotes"] for r in lora] == [None, 17]


def test_urls_ingest_with_conditional_get_and_a_failing_source_does_not_stop_others(
    db, file_server
):
    rss = (FIXTURES / "arxiv_rss.xml").read_bytes()
    file_server.routes["/rss"] = (200, rss, {"ETag": '"v1"', "Content-Type": "application/xml"})
    file_server.routes["/broken"] = (500, b"oops", {})
    file_server.routes["/json"] = (200, (FIXTURES / "hf_daily.json").read_bytes(), {})
    reports = [
        r
        for url in ("/broken", "/rss", "/json")
        for r in ingest_target(db, file_server.url(url), NOW)
    ]
    # The URL is the report's source: its error does not say it again.
    assert (reports[0].source, reports[0].error) == (file_server.url("/broken"), "HTTP 500")
    assert reports[1].new_papers == 2 and reports[2].parsed == 3
    again = ingest_target(db, file_server.url("/rss"), NOW)[0]
    assert again.not_modified
    assert file_server.requests[-1][1].get("If-None-Match") == '"v1"'
    failing = next(db.query("SELECT failures, last_error FROM sources WHERE name LIKE '%broken'"))
    assert failing == {"failures": 1, "last_error": "HTTP 500"}


@pytest.mark.parametrize(
    "scheme",
    [pytest.param("HTTP", id="upper"), pytest.param("Http", id="mixed")],
)
def test_a_url_with_an_upper_case_scheme_is_fetched(db, file_server, scheme):
    # URL schemes are case-insensitive: `papers ingest HTTP://host/feed` is a URL, not a file.
    file_server.routes["/rss"] = (200, (FIXTURES / "arxiv_rss.xml").read_bytes(), {})
    url = scheme + file_server.url("/rss").removeprefix("http")
    (report,) = ingest_target(db, url, NOW)
    assert report.error is None and report.new_papers == 2
    assert file_server.requests[-1][0] == "/rss"


def test_unreachable_url_is_reported_not_raised(db):
    report = ingest_target(db, "http://127.0.0.1:9/feed", NOW)[0]
    assert report.source == "http://127.0.0.1:9/feed"
    assert "Connection refused" in report.error and "127.0.0.1:9" not in report.error


@pytest.mark.fuzz
@given(st.binary(max_size=3000))
def test_garbage_bytes_as_feed_or_json_never_raise(data):
    count("parsed inputs")
    for parser in (parse_feed, parse_hf_json):
        parsed = parser(data, DAY)
        assert all(entry.abstract for entry in parsed.entries)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "paper",
                    "id",
                    "title",
                    "summary",
                    "upvotes",
                    "authors",
                    "name",
                    "publishedAt",
                    "numComments",
                ]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=20,
)


@pytest.mark.fuzz
@given(st.lists(JSONISH, max_size=5))
def test_wrongly_typed_json_items_never_raise(items):
    count("parsed inputs")
    import json

    parsed = parse_hf_json(json.dumps(items).encode(), DAY)
    # Each item is an entry or a skipped item; a dropped field is counted besides.
    skipped_items = [s for s in parsed.skips if not s.reason.endswith(("dropped", "truncated"))]
    assert len(parsed.entries) + len(skipped_items) == len(items)


def test_arxiv_rss_keeps_announce_type_and_version():
    parsed = parse_feed((FIXTURES / "arxiv_rss_replace.xml").read_bytes(), DAY)
    assert [(e.arxiv_id, e.announce, e.version) for e in parsed.entries] == [
        ("2603.05555", "new", 1),
        ("2409.01234", "replace", 3),
        ("2410.04321", "replace-cross", 2),
        ("2107.02137", "replace", 3),
    ]
    assert [e.is_revision for e in parsed.entries] == [False, True, True, True]


def test_an_arxiv_replacement_is_not_dated_the_day_its_new_version_was_announced():
    # Every item's pubDate is the announcement day (Mar 18): the new paper's date, but for
    # a replaced 2024 or 2021 paper only the day its new version came out.
    parsed = parse_feed((FIXTURES / "arxiv_rss_replace.xml").read_bytes(), DAY)
    assert [(e.arxiv_id, e.published, e.listed_on) for e in parsed.entries] == [
        ("2603.05555", "2026-03-18", "2026-03-18"),
        ("2409.01234", None, "2026-03-18"),
        ("2410.04321", None, "2026-03-18"),
        ("2107.02137", None, "2026-03-18"),
    ]


def hf_items(n: int) -> list[dict]:
    return [
        {
            "paper": {
                "id": f"2603.{i:05d}",
                "title": f"Paper number {i} on adapters",
                "summary": f"We study adapters in setting {i} and report results on benchmarks.",
                "upvotes": i,
            },
            "publishedAt": "2026-03-17T02:10:00.000Z",
            "numComments": 1,
        }
        for i in range(n)
    ]


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        pytest.param("upvotes", 2**64, "upvotes above 1,000,000 dropped", id="upvotes-2^64"),
        pytest.param("upvotes", 2**63, "upvotes above 1,000,000 dropped", id="upvotes-2^63"),
        pytest.param("numComments", 2**63, "comments above 1,000,000 dropped", id="comments-2^63"),
        pytest.param("upvotes", 10**5000, "upvotes above 1,000,000 dropped", id="5001-digits"),
    ],
)
def test_hf_json_with_an_impossible_count_stores_every_paper(db, field, value, reason):
    import json

    items = hf_items(51)
    target = items[7]["paper"] if field == "upvotes" else items[7]
    target[field] = value
    data = json.dumps(items).encode() if value < 10**100 else _big_json(items, field, value)
    report = ingest_bytes(db, "hf.json", data, NOW)
    assert report.error is None and (report.parsed, report.new_papers) == (51, 51)
    assert report.skip_reasons == {reason: 1}
    row = next(db.query("SELECT MAX(upvotes) AS up, MAX(comments) AS c FROM sightings"))
    assert row == {"up": 50, "c": 1}


def _big_json(items: list, field: str, value: int) -> bytes:
    # json.dumps refuses ints past 4,300 digits; write the number by hand, as a file could.
    import json

    marker = 424242424242
    items[7]["paper"][field] = marker
    return json.dumps(items).replace(str(marker), "9" * 5001).encode()


def test_hf_json_nested_100k_deep_is_reported_not_raised(db):
    data = b"[" * 100_000 + b"]" * 100_000
    report = ingest_bytes(db, "deep.json", data, NOW)
    assert report.error == "not daily papers JSON (nested deeper than 32 levels)"
    assert db["papers"].count == 0


def test_overlong_title_and_summary_in_json_are_truncated(db):
    import json

    items = hf_items(2)
    items[0]["paper"]["title"] = "Adapters " * 100
    items[0]["paper"]["summary"] = "We study adapters. " * 1000
    report = ingest_bytes(db, "long.json", json.dumps(items).encode(), NOW)
    assert report.new_papers == 2
    assert report.skip_reasons == {
        "title longer than 300 characters truncated": 1,
        "abstract longer than 4,000 characters truncated": 1,
    }
    row = next(db.query("SELECT MAX(length(title)) AS t, MAX(length(abstract)) AS a FROM papers"))
    assert row["t"] <= 300 and row["a"] <= 4000


ARXIV_LISTING_PAGE = (
    b"<!DOCTYPE html>\n<html lang='en'><head><title>Computation and Language</title></head>"
    b"<body><h1>Computation and Language</h1><dl><dt>[1] arXiv:2603.01234</dt>"
    b"<dd>LoRA Soup: Merging Low-Rank Adapters</dd></dl></body></html>\n"
)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        pytest.param(
            ARXIV_LISTING_PAGE,
            "not a readable RSS/Atom feed (an HTML page)",
            id="html-listing-page",
        ),
        pytest.param(
            b'{"error": "Invalid date"}',
            "not daily papers JSON (an object without a papers list)",
            id="json-error-object",
        ),
    ],
)
def test_a_page_that_is_no_feed_fails_instead_of_ingesting_nothing(db, file_server, body, error):
    # An admin who gives the listing page's URL (or an API answering with an error object)
    # must see the source fail, not "0 parsed" with the source marked ok.
    file_server.routes["/cs.CL"] = (200, body, {})
    url = file_server.url("/cs.CL")
    (report,) = ingest_target(db, url, NOW)
    assert report.error == error and report.parsed == 0
    (row,) = db.query("SELECT last_error, last_ok_at FROM sources WHERE name = ?", [url])
    assert row == {"last_error": error, "last_ok_at": None}


def test_an_empty_rss_channel_is_no_failure(db):
    # arXiv's RSS has no items on weekends: that is an empty feed, not a broken one.
    empty = (FIXTURES / "arxiv_rss.xml").read_text().split("<item>")[0] + "</channel></rss>"
    report = ingest_bytes(db, "weekend.xml", empty.encode(), NOW)
    assert report.error is None and report.parsed == 0


@pytest.mark.parametrize(
    ("creator", "names"),
    [
        pytest.param(
            "Robert W. Heath, Jr., Ada Lovelace",
            ["Robert W. Heath, Jr.", "Ada Lovelace"],
            id="jr-mid-list",
        ),
        pytest.param(
            "Ada Lovelace, Martin Luther King, III",
            ["Ada Lovelace", "Martin Luther King, III"],
            id="iii-last",
        ),
        pytest.param("Ada Lovelace, Alan Turing", ["Ada Lovelace", "Alan Turing"], id="plain"),
    ],
)
def test_a_suffix_in_an_arxiv_rss_author_list_stays_with_its_author(creator, names):
    assert rss_authors(creator) == names


@pytest.mark.parametrize(
    ("creator", "names"),
    [
        pytest.param(
            "Edward J. Hu (Microsoft Research, Redmond), Yelong Shen (Microsoft)",
            ["Edward J. Hu", "Yelong Shen"],
            id="affiliations",
        ),
        pytest.param("Edward J. Hu (Microsoft)", ["Edward J. Hu"], id="one-author-affiliation"),
        pytest.param(
            "Robert W. Heath Jr (UT Austin), Ada Lovelace",
            ["Robert W. Heath Jr", "Ada Lovelace"],
            id="suffix-and-affiliation",
        ),
        pytest.param(
            "Ada Lovelace (Cut, Alan Turing", ["Ada Lovelace (Cut", "Alan Turing"], id="unpaired"
        ),
    ],
)
def test_affiliations_in_an_arxiv_rss_author_list_are_no_authors_nor_surnames(creator, names):
    # arXiv's dc:creator gives each author's affiliations in parentheses: they were split at
    # their commas into authors ("Redmond)"), and "Microsoft" was the name's surname, so a
    # follower of Edward J. Hu was never alerted.
    assert rss_authors(creator) == names


def rss_authors(creator: str) -> list[str]:
    rss = f"""<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0"><channel><title>cs.IT</title>
<item><title>Massive MIMO</title><link>https://arxiv.org/abs/2603.05001</link>
<description>arXiv:2603.05001v1 Announce Type: new
Abstract: We study massive MIMO at scale.</description>
<dc:creator>{creator}</dc:creator></item></channel></rss>"""
    (entry,) = parse_feed(rss.encode(), date(2026, 3, 17)).entries
    return entry.authors


RSS = (FIXTURES / "arxiv_rss.xml").read_bytes()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        pytest.param(
            RSS[: RSS.index(b"<description>arXiv:2603.01234")],
            "not a readable RSS/Atom feed: no paper found (1× no abstract; 1× broken XML"
            " (SAXParseException))",
            id="feed-cut-inside-its-first-item",
        ),
        pytest.param(
            b'[{"title": "LoRA Soup", "upvotes": 3}, {"paper": {"id": "2603.01234"}}]',
            "not daily papers JSON: no paper found (1× item has no paper object;"
            " 1× paper has no summary)",
            id="json-items-missing-their-fields",
        ),
    ],
)
def test_a_feed_with_items_but_no_paper_is_a_counted_failure(db, file_server, body, error):
    # A download cut off inside the first item, or JSON whose items lost their fields,
    # parses to 0 papers: the admin must see the source failing in `papers stats`.
    file_server.routes["/feed"] = (200, body, {})
    url = file_server.url("/feed")
    (report,) = ingest_target(db, url, NOW)
    assert report.error == error and report.parsed == 0
    (row,) = db.query("SELECT last_error, last_ok_at, failures FROM sources WHERE name = ?", [url])
    assert row == {"last_error": error, "last_ok_at": None, "failures": 1}
    # The whole feed, once it comes, is read and the source is ok again.
    file_server.routes["/feed"] = (200, RSS, {})
    (report,) = ingest_target(db, url, NOW)
    assert report.error is None and report.new_papers == 2
    (row,) = db.query("SELECT last_error, last_ok_at FROM sources WHERE name = ?", [url])
    assert row == {"last_error": None, "last_ok_at": NOW.isoformat()}


def test_a_feed_url_answering_an_empty_body_is_a_failure_not_silence(db, file_server):
    # An upstream outage can answer 200 with nothing in it: for a URL that is a failed
    # fetch (logged, counted, shown in papers stats), not an empty inbox file to wait on.
    file_server.routes["/rss/cs.CL"] = (200, b"", {"ETag": '"outage"'})
    url = file_server.url("/rss/cs.CL")
    (report,) = ingest_target(db, url, NOW)
    assert report.error == "empty response (0 bytes)"
    (row,) = db.query("SELECT last_error, failures, etag FROM sources WHERE name = ?", [url])
    assert row == {"last_error": report.error, "failures": 1, "etag": None}
    file_server.routes["/rss/cs.CL"] = (200, RSS, {"ETag": '"v1"'})
    (report,) = ingest_target(db, url, NOW)  # fetched whole, not answered 304
    assert report.error is None and report.new_papers == 2


def _rss_item(title: str, abstract: str, ident: str = "2603.07001") -> bytes:
    """One item as rss.arxiv.org writes it: plain text, XML-escaped once."""
    return f"""<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/"
 version="2.0"><channel><title>cs.LG updates on arXiv.org</title>
<item><title>{title}</title><link>https://arxiv.org/abs/{ident}</link>
<description>arXiv:{ident}v1 Announce Type: new 
Abstract: {abstract}</description>
<guid isPermaLink="false">oai:arXiv.org:{ident}v1</guid>
<pubDate>Tue, 17 Mar 2026 00:00:00 -0400</pubDate>
<arxiv:announce_type>new</arxiv:announce_type><dc:creator>Ada Lovelace</dc:creator></item>
</channel></rss>""".encode()


@pytest.mark.parametrize(
    ("title", "abstract", "want_title", "want_abstract"),
    [
        pytest.param(
            "Bounds for $k&lt;n$ and $m&gt;2$ in Sparse Recovery",
            "For $p&lt;0.05$ and $n&gt;100$ samples the bias vanishes.",
            "Bounds for $k<n$ and $m>2$ in Sparse Recovery",
            "For $p<0.05$ and $n>100$ samples the bias vanishes.",
            id="latex-inequalities",
        ),
        pytest.param(
            "A &lt;!channel&gt; Title &amp; More",
            "Loss drops by &lt;1% while speed grows &gt;2x on all tasks.",
            "A <!channel> Title & More",
            "Loss drops by <1% while speed grows >2x on all tasks.",
            id="mention-and-percent",
        ),
        pytest.param(
            "CO&lt;sub&gt;2&lt;/sub&gt; Capture with &lt;i&gt;Graph&lt;/i&gt; Networks",
            "&lt;p&gt;We model CO&lt;sub&gt;2&lt;/sub&gt; capture.&lt;/p&gt;"
            "&lt;p&gt;It works.&lt;/p&gt;",
            "CO2 Capture with Graph Networks",
            "We model CO2 capture. It works.",
            id="real-html-tags-go",
        ),
        # HTML5 and MathML pass a feed's sanitiser too: their tags go, their text stays.
        pytest.param(
            "&lt;span&gt;Adapters&lt;/span&gt; at Scale",
            "&lt;figure&gt;&lt;figcaption&gt;Fig 1&lt;/figcaption&gt;&lt;/figure&gt;"
            "&lt;section&gt;We study lora.&lt;/section&gt;",
            "Adapters at Scale",
            "Fig 1 We study lora.",
            id="html5-sections",
        ),
        pytest.param(
            "Bounds When &lt;math&gt;&lt;mi&gt;x&lt;/mi&gt;&lt;mo&gt;&amp;lt;&lt;/mo&gt;"
            "&lt;mn&gt;1&lt;/mn&gt;&lt;/math&gt;",
            "Let &lt;math&gt;&lt;mi&gt;x&lt;/mi&gt;&lt;mo&gt;&amp;lt;&lt;/mo&gt;&lt;mn&gt;1"
            "&lt;/mn&gt;&lt;/math&gt; hold.",
            "Bounds When x < 1",
            "Let x < 1 hold.",
            id="mathml",
        ),
    ],
)
def test_less_than_and_greater_than_in_feed_text_are_kept(
    db, title, abstract, want_title, want_abstract
):
    # arXiv's RSS is plain text: `$p<0.05$ ... $n>100$` is maths, not an HTML tag, and
    # cutting from `<` to `>` lost the words between (the title read "Bounds for $k 2$").
    report = ingest_bytes(db, "cs.LG.xml", _rss_item(title, abstract), NOW)
    assert report.error is None and report.new_papers == 1
    (row,) = db.query("SELECT title, abstract FROM papers")
    assert (row["title"], row["abstract"]) == (want_title, want_abstract)
    # Shown in Slack, the kept text is escaped: no mention, no link.
    assert "<" not in escape_mrkdwn(row["title"]) and "<!channel>" not in escape_mrkdwn(
        row["abstract"]
    )


ARXIV_API_ERROR = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <link href="http://arxiv.org/api/query?search_query%3D%26id_list%3D1234.12345" rel="self"
   type="application/atom+xml"/>
  <title type="html">ArXiv Query: search_query=&amp;id_list=1234.12345</title>
  <id>http://arxiv.org/api/kvuntZ8c9a4Eq5CF7KY03nMug+Q</id>
  <updated>2026-03-17T00:00:00-04:00</updated>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">1
  </opensearch:totalResults>
  <entry>
    <id>http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345</id>
    <title>Error</title>
    <summary>incorrect id format for 1234.12345</summary>
    <updated>2026-03-17T00:00:00-04:00</updated>
    <link href="http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345"
     rel="alternate" type="text/html"/>
    <author><name>arXiv api core</name></author>
  </entry>
</feed>"""


def test_an_arxiv_api_error_is_the_sources_failure_not_a_paper_called_error(db, file_server):
    # export.arxiv.org answers a mistyped query with HTTP 200 and one entry titled "Error":
    # stored, it was a paper "Error" (arXiv id 1234.12345) in searches, digests and alerts.
    file_server.routes["/api/query"] = (200, ARXIV_API_ERROR, {})
    url = file_server.url("/api/query")
    (report,) = ingest_target(db, url, NOW)
    assert report.error == "arXiv API error: incorrect id format for 1234.12345"
    assert db["papers"].count == 0
    (row,) = db.query("SELECT last_error FROM sources WHERE name = ?", [url])
    assert row["last_error"] == report.error


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            b"<?xml version='1.0' encoding='UTF-8'?>\n<rss version=\"2.0\"><channel>"
            b"<title>Feed error for query: cs.LGG</title><link>http://rss.arxiv.org/rss/cs.LGG"
            b"</link><description>Feed error for query: cs.LGG</description></channel></rss>",
            id="rss",
        ),
        pytest.param(
            b"<?xml version='1.0' encoding='UTF-8'?>\n"
            b'<feed xmlns="http://www.w3.org/2005/Atom"><id>http://rss.arxiv.org/atom/cs.LGG</id>'
            b"<title>Feed error for query: cs.LGG</title>"
            b"<updated>2026-03-17T00:30:00-04:00</updated></feed>",
            id="atom",
        ),
    ],
)
def test_an_arxiv_feed_for_a_mistyped_category_fails_unlike_an_empty_weekend(db, file_server, body):
    # rss.arxiv.org answers `cs.LGG` with a valid feed of no items whose title says so:
    # read as a weekend's empty feed, the admin's typo was ok forever and fed nothing.
    file_server.routes["/rss/cs.LGG"] = (200, body, {})
    url = file_server.url("/rss/cs.LGG")
    (report,) = ingest_target(db, url, NOW)
    assert report.error == "arXiv feed error: Feed error for query: cs.LGG"
    (row,) = db.query("SELECT last_error, last_ok_at FROM sources WHERE name = ?", [url])
    assert row == {"last_error": report.error, "last_ok_at": None}


def _daily_item(ident: str, title: str, published: str, featured: str, upvotes: int) -> dict:
    """A daily papers item as huggingface.co/api/daily_papers gives it: the item's
    publishedAt is arXiv's submission time, the paper's submittedOnDailyAt its day on the
    daily page."""
    return {
        "paper": {
            "id": ident,
            "authors": [{"_id": "6a63a8cbab9cdf9be5794456", "name": "Xiao Yu", "hidden": False}],
            "publishedAt": f"{published}T00:00:00.000Z",
            "submittedOnDailyAt": f"{featured}T10:04:20.120Z",
            "title": title,
            "summary": f"We present {title}, a method evaluated on many benchmarks.",
            "upvotes": upvotes,
            "discussionId": "6a63a8ccab9cdf9be579446a",
        },
        "publishedAt": f"{published}T20:37:52.000Z",
        "title": title,
        "summary": "Short description for listing",
        "thumbnail": f"https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/{ident}.png",
        "numComments": 2,
        "submittedBy": {"fullname": "Baolin Peng", "user": "Baolin", "type": "user"},
        "isAuthorParticipating": False,
    }


def test_a_daily_paper_is_listed_on_its_day_on_the_daily_page_not_its_arxiv_day(db):
    import json
    from datetime import UTC, datetime

    from storage.trending import trending

    # Hugging Face features papers days after arXiv has them: today's daily page (Nov 24)
    # holds one from Nov 18. Listed on Nov 18, it was missing from today's trending digest.
    items = [
        _daily_item("2511.20001", "Fresh Agents", "2025-11-23", "2025-11-24", 3),
        _daily_item("2511.14899", "Week-Old Reasoning", "2025-11-18", "2025-11-24", 80),
    ]
    report = ingest_bytes(db, "daily_papers.json", json.dumps(items).encode(), NOW)
    assert report.error is None and report.new_papers == 2
    listed = {r["listed_on"] for r in db.query("SELECT listed_on FROM sightings")}
    assert listed == {"2025-11-24"}
    now = datetime(2025, 11, 24, 12, 0, tzinfo=UTC)
    assert [p["title"] for p in trending(db, now, "day")] == ["Week-Old Reasoning", "Fresh Agents"]


def test_daily_papers_json_saved_as_windows_1252_is_read_not_failed(db):
    import json

    # Saved by an older Windows editor ("ANSI"): é and – are single bytes, not UTF-8.
    items = hf_items(2)
    items[0]["paper"]["title"] = "Café – Adapters for Naïve Bayes"
    data = json.dumps(items, ensure_ascii=False).encode("cp1252")
    report = ingest_bytes(db, "daily.json", data, NOW)
    assert report.error is None and report.new_papers == 2
    assert report.skip_reasons == {"not UTF-8; decoded as Windows-1252": 1}
    titles = {r["title"] for r in db.query("SELECT title FROM papers")}
    assert "Café – Adapters for Naïve Bayes" in titles


WRONG_CHARSET_FEED = """<?xml version="1.0" encoding="{declared}"?>
<rss version="2.0"><channel><title>Lab papers</title>
<item><title>Schrödinger Bridges for Naïve Café Models</title>
<link>https://arxiv.org/abs/2603.00009</link>
<description>We study Schrödinger bridges — naïvely — on café data.</description></item>
</channel></rss>"""


@pytest.mark.parametrize(
    ("declared", "written"),
    [
        pytest.param("windows-1252", "utf-8", id="utf8-declared-cp1252"),
        pytest.param("ISO-8859-1", "utf-8", id="utf8-declared-latin1"),
        pytest.param("windows-1252", "cp1252", id="cp1252-as-declared"),
        pytest.param("UTF-8", "cp1252", id="cp1252-declared-utf8"),
    ],
)
def test_a_feed_whose_declared_charset_is_wrong_still_reads_right(db, declared, written):
    # A feed generator writing UTF-8 under a windows-1252 declaration made "SchrÃ¶dinger"
    # of every accent in the abstracts, stored and shown as such.
    data = WRONG_CHARSET_FEED.format(declared=declared).encode(written)
    report = ingest_bytes(db, "feed.xml", data, NOW)
    assert report.error is None and report.new_papers == 1
    (row,) = db.query("SELECT title, abstract FROM papers")
    assert row == {
        "title": "Schrödinger Bridges for Naïve Café Models",
        "abstract": "We study Schrödinger bridges — naïvely — on café data.",
    }


def _dated_item(ident: str, pub_date: str) -> str:
    return f"""<item><title>Paper {ident} on sparse adapters</title>
<link>https://example.org/papers/{ident}</link>
<description>We study sparse adapters in setting {ident} and report results.</description>
<pubDate>{pub_date}</pubDate></item>"""


@pytest.mark.parametrize(
    ("pub_date", "read_on", "listed"),
    [
        pytest.param("Tue, 17 Mar 00:00:00 -0400", date(2026, 3, 18), "2026-03-17", id="rfc822"),
        pytest.param("Mon, 29 Dec 12:00:00 GMT", date(2027, 1, 2), "2026-12-29", id="new-year"),
        pytest.param("--12-29", date(2028, 1, 2), "2027-12-29", id="iso-new-year"),
        pytest.param("17 Mar", date(2026, 3, 18), "2026-03-17", id="day-month"),
        # Read on New Year's Eve, a time zone ahead: tomorrow, not a year back (nor the
        # year 100 feedparser reads in the zone offset).
        pytest.param("Fri, 1 Jan 00:30:00 +0100", date(2026, 12, 31), "2027-01-01", id="eve"),
        pytest.param("Tue, 17 Mar 09:00:00 +0100", date(2026, 3, 18), "2026-03-17", id="+0100"),
        # Dates with their year, which the year-less reading must leave to feedparser.
        pytest.param("20260317", date(2026, 3, 20), "2026-03-17", id="compact-iso-has-a-year"),
        pytest.param("2025-12-29", date(2026, 3, 20), "2025-12-29", id="iso-has-a-year"),
    ],
)
def test_a_feed_date_without_a_year_takes_the_year_it_was_read_in(pub_date, read_on, listed):
    # Some generators drop the year: the item was listed on that day of the year the feed
    # was read in (last year's, for December read in January), not on the day it was read
    # (nor, as feedparser guesses for `--12-29`, a day in the future).
    rss = f'<rss version="2.0"><channel><title>t</title>{_dated_item("1", pub_date)}'
    rss += "</channel></rss>"
    (entry,) = parse_feed(rss.encode(), read_on).entries
    assert (entry.listed_on, entry.published) == (listed, listed)


@pytest.mark.parametrize(
    "description",
    [
        pytest.param("arXiv:2603.07002v1 Announce Type: new Abstract: We study", id="one-line"),
        pytest.param("arXiv:2603.07002v1\nAbstract: We study", id="no-announce-type"),
        pytest.param("arXiv:2603.07002v1 announce type: NEW\n abstract: We study", id="case"),
    ],
)
def test_the_arxiv_prefix_never_stays_in_an_abstract(description):
    rss = _rss_item("Sparse Adapters", "x").replace(
        b"arXiv:2603.07001v1 Announce Type: new \nAbstract: x",
        (description + " sparse adapters at scale.").encode(),
    )
    (entry,) = parse_feed(rss, DAY).entries
    assert entry.abstract == "We study sparse adapters at scale."
    assert entry.version == 1


def test_an_old_paper_in_an_arxiv_api_feed_never_trends(tmp_path):
    """Published ten days before the feed was read (an API query by lastUpdatedDate lists
    papers that got a new version): not news. It trended in any window reaching its date,
    here a week ending at the feed's other, new paper."""
    from datetime import UTC, datetime

    from storage import connect
    from storage.papers import get_papers
    from storage.trending import trending
    from tests.jobs.test_alerts import _api_entry

    feed = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>ArXiv Query</title>'
        + _api_entry("2603.11111", 1, "2026-03-12", "2026-03-12", "Routing Adapters per Token")
        + _api_entry("2603.02222", 3, "2026-03-07", "2026-03-17", "Adapters for Speech")
        + "</feed>"
    )
    read = datetime(2026, 3, 17, 6, tzinfo=UTC)
    db = connect(tmp_path / "papers.db")
    report = ingest_bytes(db, "https://export.arxiv.org/api/query", feed.encode(), read)
    assert report.new_papers == 2
    week = [p["title"] for p in trending(db, read, "week")]
    assert week == ["Routing Adapters per Token"]
    (old,) = search(db, "adapters speech").papers  # stored and searchable
    assert get_papers(db, [old["id"]])[0]["listed_on"] is None


@pytest.mark.parametrize(
    "title",
    [
        pytest.param("[Re] Reproducibility Study of Fair Ranking", id="bracket"),
        pytest.param("[CLS] Is All You Need", id="cls"),
    ],
)
def test_a_dump_whose_first_title_starts_with_a_bracket_is_a_dump_not_json(db, title):
    # A dump without the page's header lines starts with its first title: one opening with
    # `[` failed the whole dump as "not valid JSON".
    abstract = (
        "We reproduce a study of fair ranking under uncertainty and find that its main claims "
        "hold on two of the three datasets, while the third needs a different calibration."
    )
    data = f"{title}\n\n{abstract}\n".encode()
    report = ingest_bytes(db, "headerless.txt", data, NOW)
    assert (report.error, report.new_papers) == (None, 1)
    assert next(db.query("SELECT title FROM papers"))["title"] == title


@pytest.mark.parametrize(
    ("link", "ident"),
    [
        pytest.param("https://blog.example.com/posts/1234567", None, id="blog-post"),
        pytest.param("https://pubmed.ncbi.nlm.nih.gov/1234567/", None, id="pubmed"),
        pytest.param("https://arxiv.org/abs/hep-th/9901001v2", "hep-th/9901001", id="old-style"),
        pytest.param("https://arxiv.org/abs/math.AG/0601001", "math.AG/0601001", id="subject"),
    ],
)
def test_a_link_with_seven_digits_is_an_old_arxiv_id_only_when_it_can_be_one(link, ident):
    # "posts/1234567" was taken for an old-style arXiv id: the paper was shown with the
    # broken link https://arxiv.org/abs/posts/1234567 instead of its own.
    rss = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
        f"<title>A Post About Adapters</title><link>{link}</link>"
        "<description>We describe adapters for language models and what they cost.</description>"
        "</item></channel></rss>"
    )
    entry = parse_feed(rss.encode(), DAY).entries[0]
    assert entry.arxiv_id == ident
    assert entry.url == (f"https://arxiv.org/abs/{ident}" if ident else link)
