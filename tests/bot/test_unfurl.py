"""Pasted paper links unfurl: a signed link_shared event to the real app, one chat.unfurl to
the stand-in; unknown papers fetched once from a local arXiv API; other links ignored."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import replace

import pytest
import time_machine
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.unfurl import paper_ref
from jobs.arxiv_lookup import arxiv_lookup, lookup_url
from jobs.ingest import ingest_bytes
from slackstub.limits import validate_blocks
from storage import connect
from storage.config import Config
from tests.bot.conftest import wait_for
from tests.conftest import FIXTURES, NOW

STORED = "2603.04567"  # in tests/fixtures/hf_daily.json
LORA = "2106.09685"  # only in the arXiv API stand-in (tests/fixtures/arxiv_api.atom)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("https://arxiv.org/abs/2106.09685", LORA, id="abs"),
        pytest.param("https://arxiv.org/abs/2106.09685v2", LORA, id="abs-version"),
        pytest.param("https://arxiv.org/pdf/2106.09685", LORA, id="pdf"),
        pytest.param("https://arxiv.org/pdf/2106.09685v1.pdf", LORA, id="pdf-version-suffix"),
        pytest.param("http://www.arxiv.org/pdf/2106.09685.pdf", LORA, id="www-pdf-suffix"),
        pytest.param("https://huggingface.co/papers/2106.09685", LORA, id="hf-papers"),
        pytest.param("https://arxiv.org/html/2106.09685v2", LORA, id="html-version"),
        pytest.param("https://arxiv.org/html/2106.09685v2/", LORA, id="html-slash"),
        pytest.param("https://arxiv.org/abs/hep-th/9901001v1", "hep-th/9901001", id="old-style"),
        pytest.param("https://arxiv.org/list/cs.LG/recent", None, id="arxiv-listing"),
        pytest.param("https://huggingface.co/models", None, id="hf-models"),
        pytest.param("https://huggingface.co/papers", None, id="hf-papers-index"),
        pytest.param("https://evil.example/abs/2106.09685", None, id="other-domain"),
        pytest.param("ftp://arxiv.org/abs/2106.09685", None, id="not-http"),
    ],
)
def test_paper_ref(url, expected):
    assert paper_ref(url) == expected


@pytest.fixture
def arxiv_api(file_server):
    """A local arXiv API answering the id query for LORA with the arXiv Atom fixture."""
    api = file_server.url("/api/query")
    path = lookup_url(api, LORA).split(str(file_server.httpd.server_address[1]), 1)[1]
    file_server.routes[path] = (200, (FIXTURES / "arxiv_api.atom").read_bytes(), {})
    return file_server


@pytest.fixture
def lookup(config, arxiv_api):
    """The app's real arXiv lookup, pointed at the local arXiv API."""
    return arxiv_lookup(replace(config, arxiv_api=arxiv_api.url("/api/query")))


def link_shared(slack, *urls: str, source: str = "conversations_history") -> dict:
    ts = f"1773700000.{uuid.uuid4().int % 10**6:06d}"
    event = {
        "type": "link_shared",
        "channel": "C0GENERAL",
        "user": "U0LOCAL",
        "message_ts": ts,
        "unfurl_id": f"U0LOCAL-{uuid.uuid4()}",
        "source": source,
        "links": [{"domain": u.split("/")[2], "url": u} for u in urls],
        "event_ts": ts,
    }
    sent = slack.event(event)
    assert sent["status"] == 200, sent
    return event


def unfurl_calls(slack) -> list[dict]:
    return [params for method, params in slack.state.calls if method == "chat.unfurl"]


def buttons(blocks: list[dict]) -> dict[str, dict]:
    return {e["text"]["text"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


def store_hf_with_repo(config) -> None:
    items = json.loads((FIXTURES / "hf_daily.json").read_text(encoding="utf-8"))
    items[0]["paper"]["githubRepo"] = "https://github.com/example/dit-friends"
    db = connect(config.db_path)
    ingest_bytes(db, "hf.json", json.dumps(items).encode(), NOW)
    db.close()


def test_a_stored_paper_unfurls_once_with_title_authors_and_code(slack, config):
    store_hf_with_repo(config)
    url = f"https://arxiv.org/abs/{STORED}v1"
    link_shared(slack, url, "https://example.com/not-a-paper")
    calls = wait_for(lambda: unfurl_calls(slack))
    assert len(calls) == 1 and set(calls[0]["unfurls"]) == {url}
    blocks = calls[0]["unfurls"][url]["blocks"]
    text = json.dumps(blocks, ensure_ascii=False)
    # Escaped: the title's <!channel> pings nobody.
    assert "Diffusion Transformers &lt;!channel&gt; &amp; Friends" in text
    assert "Jane Doe, John Roe" in text and "▲ 42 upvotes" in text and "Mar 16, 2026" in text
    found = buttons(blocks)
    assert found["Code"]["url"] == "https://github.com/example/dit-friends"
    assert {"Save", "More like this"} <= set(found)
    assert validate_blocks(blocks) == [] and slack.state.rejected == []
    assert list(slack.state.unfurls) == [calls[0]["unfurl_id"]]


def test_an_unknown_paper_is_fetched_once_from_the_arxiv_api_after_the_ack(slack, arxiv_api):
    arxiv_api.hold = threading.Event()
    url = f"https://arxiv.org/pdf/{LORA}v2.pdf"
    # Slack has its 200 while the arXiv API has not answered yet: the ack never waits.
    link_shared(slack, url, source="composer")
    assert unfurl_calls(slack) == []
    arxiv_api.hold.set()
    calls = wait_for(lambda: unfurl_calls(slack))
    text = json.dumps(calls[0]["unfurls"][url]["blocks"])
    assert "LoRA: Low-Rank Adaptation of Large Language Models" in text
    assert "Edward J. Hu, Yelong Shen" in text and "Jun 17, 2021" in text
    assert calls[0]["source"] == "composer"
    # Posted: the same link again unfurls from the store; the API is asked only once.
    again = f"https://huggingface.co/papers/{LORA}"
    link_shared(slack, again)
    wait_for(lambda: len(unfurl_calls(slack)) == 2)
    assert len([p for p, _ in arxiv_api.requests if p.startswith("/api/query")]) == 1
    assert slack.state.rejected == []


def test_an_id_the_arxiv_api_does_not_know_is_ignored_and_not_asked_again(
    slack, arxiv_api, config, lookup
):
    store_hf_with_repo(config)
    missing = "2699.99999"
    link_shared(slack, f"https://arxiv.org/abs/{missing}")
    db = connect(config.db_path)
    wait_for(lambda: list(db.query("SELECT * FROM arxiv_lookups WHERE found = 0")))
    # A stored paper's link after it is answered; the unknown one never was.
    link_shared(slack, f"https://arxiv.org/abs/{STORED}")
    calls = wait_for(lambda: unfurl_calls(slack))
    assert [list(c["unfurls"]) for c in calls] == [[f"https://arxiv.org/abs/{STORED}"]]
    # Asked again (another version of the link): known to be missing, no second request.
    assert lookup(db, missing) is None
    assert len(arxiv_api.requests) == 1


def test_links_to_other_pages_get_no_unfurl_call(slack, config):
    store_hf_with_repo(config)
    link_shared(slack, "https://arxiv.org/list/cs.LG/recent", "https://huggingface.co/models")
    # A stored paper's link sent after them is answered; the pages before it never were.
    link_shared(slack, f"https://huggingface.co/papers/{STORED}")
    calls = wait_for(lambda: unfurl_calls(slack))
    assert len(calls) == 1 and list(calls[0]["unfurls"]) == [
        f"https://huggingface.co/papers/{STORED}"
    ]


def test_a_paper_link_after_many_other_pages_still_unfurls(slack, config):
    # The first ten links counted, papers or not: ten model pages hid the paper after them.
    store_hf_with_repo(config)
    pages = [f"https://huggingface.co/models?page={n}" for n in range(10)]
    paper = f"https://arxiv.org/abs/{STORED}"
    link_shared(slack, *pages, paper)
    calls = wait_for(lambda: unfurl_calls(slack))
    assert list(calls[0]["unfurls"]) == [paper]


def test_the_stand_in_checks_unfurls_and_a_second_call_replaces_the_first(standin):
    client = WebClient(token=standin.token, base_url=standin.api_url)
    url = "https://arxiv.org/abs/2106.09685"
    ok = {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "LoRA"}}]}
    client.chat_unfurl(channel="C0GENERAL", ts="1.000001", unfurls={url: ok})
    better = {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "LoRA v2"}}]}
    client.chat_unfurl(channel="C0GENERAL", ts="1.000001", unfurls={url: better})
    assert standin.state.unfurls == {"C0GENERAL:1.000001": {url: better}}
    too_long = {"blocks": [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}]}
    for target, unfurls, error in [
        ({"channel": "C0GENERAL", "ts": "1.000002"}, {url: too_long}, "invalid_blocks"),
        ({"channel": "C0GENERAL"}, {url: ok}, "invalid_arguments"),
        ({"unfurl_id": "U1-x", "source": "composer"}, {}, "invalid_unfurls_format"),
    ]:
        with pytest.raises(SlackApiError) as raised:
            client.chat_unfurl(unfurls=unfurls, **target)
        assert raised.value.response["error"] == error
    assert list(standin.state.unfurls) == ["C0GENERAL:1.000001"]


def test_the_arxiv_api_address_comes_from_the_environment():
    assert Config.from_env({}).arxiv_api == "http://export.arxiv.org/api/query"
    custom = Config.from_env({"PAPERS_ARXIV_API": "http://127.0.0.1:9/api/query"})
    assert custom.arxiv_api == "http://127.0.0.1:9/api/query"


@pytest.fixture
def alerting(slack, config):
    """A lora keyword alert and a follow of Edward J. Hu (LoRA's first author), past the
    first alert runs; returns the database and a function running both alert jobs."""
    from jobs.alerts import run_alerts
    from jobs.author_alerts import run_author_alerts
    from jobs.slack import client_factory

    db = connect(config.db_path)
    client_for = client_factory(config)

    def run_alert_jobs():
        return run_alerts(db, client_for, NOW) + run_author_alerts(db, client_for, NOW)

    run_alert_jobs()  # the first runs mark the back catalogue
    assert "Subscribed" in slack_reply(slack, "subscribe low-rank instant")
    assert "Following" in slack_reply(slack, "follow Edward J. Hu")
    return db, run_alert_jobs


def test_a_paper_fetched_for_a_pasted_link_is_never_news(slack, alerting, lookup):
    from storage.trending import trending

    db, run_alert_jobs = alerting
    assert lookup(db, LORA)["title"].startswith("LoRA: Low-Rank Adaptation")
    # A 2021 paper someone pasted today: no keyword or author alert, not trending today.
    assert run_alert_jobs() == {}
    assert slack.messages() == []
    assert LORA not in {p["arxiv_id"] for p in trending(db, NOW, "week", limit=200)}


def test_a_paper_looked_up_before_it_is_listed_is_alerted_once_when_it_is(slack, alerting, lookup):
    """A link pasted the day before Hugging Face lists the paper: the lookup stored it
    unlisted, and the alerts' bookmarks passed it then, so its listing the next day was
    never news for its keyword or author alerts (trending counted it, alerts never did)."""
    db, run_alert_jobs = alerting
    lookup(db, LORA)
    assert run_alert_jobs() == {}
    listing = {
        "paper": {
            "id": LORA,
            "title": "LoRA: Low-Rank Adaptation of Large Language Models",
            "summary": "We propose low-rank adaptation, which freezes the pretrained weights.",
            "upvotes": 120,
            "authors": [{"name": "Edward J. Hu"}, {"name": "Yelong Shen"}],
        },
        "publishedAt": "2026-03-18T02:10:00.000Z",
    }
    for upvotes in (120, 150):  # listed, then listed again the next day
        listing["paper"]["upvotes"] = upvotes
        ingest_bytes(db, f"{upvotes}.json", json.dumps([listing]).encode(), NOW)
        run_alert_jobs()
    texts = [m["text"] for m in slack.messages("DU0LOCAL")]
    assert sorted(texts) == sorted(["1 new paper on low-rank", "New paper by Edward J. Hu"])


def slack_reply(slack, text: str) -> str:
    sent = slack.command(text)
    posts = wait_for(lambda: slack.responses(sent["response_id"]))
    return json.dumps(posts[0]["blocks"])


@pytest.mark.parametrize(
    ("page", "alerted"),
    [
        pytest.param("Jan 5", 0, id="listed-months-ago"),
        pytest.param("Mar 16", 1, id="listed-yesterday"),
    ],
)
def test_a_pasted_link_naming_a_stored_papers_authors_alerts_only_if_it_was_listed_lately(
    slack, config, lookup, page, alerted
):
    """A paper a dump listed without its authors' names, then pasted as a link: the
    lookup brings the names, and a follower of its first author got "New paper by Edward J.
    Hu" (the names arrived past the author alerts' bookmark) though the dump had listed it
    in January. Listed yesterday, it is news as for a keyword alert: one alert."""
    db, alert = _lora_listed_without_names_and_followed(slack, config, page)
    with time_machine.travel(NOW, tick=False):  # pasted the day the alerts run
        paper = lookup(db, LORA)
    assert "Edward J. Hu" in paper["authors"]  # the lookup found the stored paper's names
    alert()
    news = [m for m in slack.messages() if "New paper by" in json.dumps(m)]
    assert len(news) == alerted
    db.close()


REPLACED = """<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/"
 version="2.0"><channel><title>cs.CL updates on arXiv.org</title>
<link>http://rss.arxiv.org/rss/cs.CL</link><description>cs.CL</description>
<item><title>LoRA: Low-Rank Adaptation of Large Language Models</title>
<link>https://arxiv.org/abs/2106.09685</link>
<description>arXiv:2106.09685v3 Announce Type: replace
Abstract: An important paradigm of natural language processing consists of large-scale
 pre-training on general domain data and adaptation to particular tasks.</description>
<guid isPermaLink="false">oai:arXiv.org:2106.09685v3</guid>
<pubDate>Tue, 17 Mar 2026 00:00:00 -0400</pubDate>
<arxiv:announce_type>replace</arxiv:announce_type>
<dc:creator>Edward J. Hu, Yelong Shen</dc:creator></item></channel></rss>"""


def test_names_a_replacement_brings_to_a_paper_listed_months_ago_alert_no_follower(slack, config):
    """A January dump listed LoRA without its authors' names; arXiv's replacement of it in
    March names them: its followers got "New paper by Edward J. Hu" for a new version of a
    paper listed months before (a replacement is no listing: no keyword alert either)."""
    db, alert = _lora_listed_without_names_and_followed(slack, config, "Jan 5")
    ingest_bytes(db, "replaced.xml", REPLACED.encode(), NOW)
    names = [row["name"] for row in db.query("SELECT name FROM paper_authors")]
    assert "Edward J. Hu" in names  # stored, and found by author: search
    alert()
    assert not [m for m in slack.messages() if "New paper by" in json.dumps(m)]
    db.close()


def _lora_listed_without_names_and_followed(slack, config, page: str):
    """LoRA listed by a dump of `page`'s date, without its authors' names (as dumps list
    papers), the alerts' first runs done, and Edward J. Hu followed: the database and a
    call that runs both alert jobs."""
    from jobs.alerts import run_alerts
    from jobs.author_alerts import run_author_alerts
    from jobs.slack import client_factory

    db = connect(config.db_path)
    dump = (
        f"{page}\n\nLoRA: Low-Rank Adaptation of Large Language Models\n\n"
        "An important paradigm of natural language processing consists of large-scale"
        " pre-training on general domain data and adaptation to particular tasks.\n\n"
        "  • 8 authors\n·\nJun 17, 2021 900\n"
    )
    ingest_bytes(db, "dump.txt", dump.encode(), NOW)
    client_for = client_factory(config)

    def alert() -> None:
        run_alerts(db, client_for, NOW), run_author_alerts(db, client_for, NOW)

    alert()  # the first runs: a bookmark each
    assert "Following" in slack_reply(slack, "follow Edward J. Hu")
    return db, alert
