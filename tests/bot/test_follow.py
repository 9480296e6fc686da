"""Following authors: `/papers follow` through the real app, alerts from the real worker for
new papers by that author from an arXiv feed and from HF JSON, once, never for a namesake."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from jobs import worker
from storage import connect
from tests.bot.conftest import wait_for
from tests.conftest import NOW

RSS = """<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0"><channel>
<title>cs.LG updates on arXiv.org</title><link>http://rss.arxiv.org/rss/cs.LG</link>
<item><title>Adapter Merging at Scale</title><link>https://arxiv.org/abs/2603.05001</link>
<description>arXiv:2603.05001v1 Announce Type: new
Abstract: We merge thousands of low-rank adapters into one model without retraining.</description>
<guid isPermaLink="false">oai:arXiv.org:2603.05001v1</guid>
<pubDate>Tue, 17 Mar 2026 00:00:00 -0400</pubDate>
<dc:creator>Edward Hu, Ada Lovelace</dc:creator></item>
<item><title>Sparse Attention for Long Video</title><link>https://arxiv.org/abs/2603.05002</link>
<description>arXiv:2603.05002v1 Announce Type: new
Abstract: We sparsify attention over frames and keep quality on long video benchmarks.</description>
<guid isPermaLink="false">oai:arXiv.org:2603.05002v1</guid>
<pubDate>Tue, 17 Mar 2026 00:00:00 -0400</pubDate>
<dc:creator>Eric Hu</dc:creator></item>
</channel></rss>"""


def hf_json() -> bytes:
    def item(arxiv_id: str, title: str, summary: str, names: list[str]) -> dict:
        paper = {"id": arxiv_id, "title": title, "summary": summary, "upvotes": 7}
        return {"paper": {**paper, "authors": [{"name": n} for n in names]}}

    return json.dumps(
        [
            item(
                "2603.06001",
                "Prompt Tuning Revisited",
                "We revisit prompt tuning and find it matches full fine-tuning at scale.",
                ["Hu, Edward J.", "Yelong Shen"],
            ),
            # The feed's paper again, now from HF: the same paper, no second alert.
            item(
                "2603.05001",
                "Adapter Merging at Scale",
                "We merge thousands of low-rank adapters into one model without retraining.",
                ["Edward Hu", "Ada Lovelace"],
            ),
        ]
    ).encode()


def dms(slack, user: str) -> list[dict]:
    return slack.messages(f"D{user}")


def test_follow_alerts_once_per_new_paper_by_that_author_and_never_a_namesake(
    slack, reply, config, file_server
):
    slack.add_user("U0ERIC", "eric")
    worker.ingest_and_alert(config, NOW)  # first run: what is stored is back catalogue
    followed = reply("follow Edward J. Hu")
    assert "Following: *#1* papers by Edward J. Hu → DM, instant alerts" in followed["text"]
    assert "papers by Eric Hu" in reply("follow Eric Hu", user="U0ERIC")["text"]
    assert "papers by Edward J. Hu" in reply("list")["text"]

    file_server.routes["/rss"] = (200, RSS.encode(), {})
    with_feed = replace(config, feed_urls=(file_server.url("/rss"),))
    worker.feeds_and_alert(with_feed, NOW + timedelta(minutes=30))
    alerts = dms(slack, "U0LOCAL")
    assert [a["text"] for a in alerts] == ["New paper by Edward J. Hu"]
    text = json.dumps(alerts[0]["blocks"])
    assert "Adapter Merging at Scale" in text and "Long Video" not in text
    eric = dms(slack, "U0ERIC")
    assert len(eric) == 1 and "Long Video" in json.dumps(eric[0]["blocks"])
    assert "Adapter Merging" not in json.dumps(eric[0]["blocks"])

    inbox = Path(config.inbox_dir)
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "hf-2026-03-18.json").write_bytes(hf_json())
    worker.ingest_and_alert(with_feed, NOW + timedelta(hours=1))
    alerts = dms(slack, "U0LOCAL")
    assert len(alerts) == 2 and "Prompt Tuning Revisited" in json.dumps(alerts[1]["blocks"])
    assert "Adapter Merging" not in json.dumps(alerts[1]["blocks"])
    # Every button on an alert works: Save is per user.
    assert "save_paper_" in json.dumps(alerts[1]["blocks"])

    (inbox / "hf-again.json").write_bytes(hf_json() + b" ")  # new bytes, same papers
    worker.ingest_and_alert(with_feed, NOW + timedelta(hours=2))
    assert len(dms(slack, "U0LOCAL")) == 2 and len(dms(slack, "U0ERIC")) == 1
    assert slack.state.rejected == []


def test_help_lists_the_new_commands(reply):
    text = reply("help")["text"]
    for command in ('/papers author:"Edward J. Hu"', "/papers follow", "/papers unfollow"):
        assert command in text
    assert "/papers saved" in text and "huggingface.co/papers link" in text


def test_unfollow_and_friendly_errors(reply):
    assert "first name or initial" in reply("follow Hu")["text"]
    reply("follow Hu, Edward J.")
    assert "already follow" in reply("follow Edward J. Hu")["text"]
    assert "Stopped following" in reply("unfollow Edward Hu")["text"]
    assert "papers by" not in reply("list")["text"]
    assert "You do not follow" in reply("unfollow Edward Hu")["text"]


def test_a_follow_is_paused_resumed_and_removed_by_its_name(reply):
    # As `/papers list` shows it: the name found no subscription ("No subscription of
    # yours matches"), only its number did.
    reply("follow Ann O'Neil")
    assert "Paused 1 subscription" in reply("pause ann o'neil")["text"]
    assert "Resumed 1 subscription" in reply("resume Ann O'Neil")["text"]
    assert "Removed 1 subscription" in reply("unsubscribe Ann  O'Neil")["text"]
    assert "papers by" not in reply("list")["text"]


def test_author_search_by_command_and_by_clicking_authors(slack, reply, config):
    worker.ingest_and_alert(config, NOW)
    inbox = Path(config.inbox_dir)
    (inbox / "hf.json").write_bytes(hf_json())
    worker.ingest_and_alert(config, NOW + timedelta(minutes=30))
    found = reply('author:"Edward J. Hu"')
    assert found["text"] == "2 papers by Edward J. Hu · latest added first"
    text = json.dumps(found["blocks"])
    assert "Prompt Tuning Revisited" in text and "Adapter Merging at Scale" in text
    assert "No papers by Grace Hopper" in reply('author:"Grace Hopper"')["text"]
    # A mrkdwn link cannot run a command: the Authors button lists each author with a
    # Papers by … button (and the command text to type).
    db = connect(config.db_path)
    prompt = next(db.query("SELECT id FROM papers WHERE title = 'Prompt Tuning Revisited'"))
    assert f"paper_authors_{prompt['id']}" in _buttons(found)
    clicked = slack.click(found, f"paper_authors_{prompt['id']}")
    listing = wait_for(lambda: slack.responses(clicked["response_id"]))[0]
    assert '`/papers author:\\"Yelong Shen\\"`' in json.dumps(listing["blocks"])
    by_shen = slack.click(listing, "author_search_1")
    result = wait_for(lambda: slack.responses(by_shen["response_id"]))[0]
    assert result["text"] == "1 paper by Yelong Shen · latest added first"


def _buttons(message: dict) -> list[str]:
    return [
        e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]


def _hopper_papers(first: int, count: int) -> bytes:
    """HF JSON of `count` papers by Grace Hopper, arXiv ids from 2603.07000 + first."""
    return json.dumps(
        [
            {
                "paper": {
                    "id": f"2603.{7000 + n}",
                    "title": f"Compiler Study Number {n}",
                    "summary": f"We study compilers, part {n}, and report what we measured.",
                    "upvotes": 1,
                    "authors": [{"name": "Grace Hopper"}],
                }
            }
            for n in range(first, first + count)
        ]
    ).encode()


def _titles(message: dict) -> list[str]:
    return re.findall(r"Compiler Study Number \d+", json.dumps(message["blocks"]))


def test_author_search_pages_with_next_and_previous(slack, reply, config):
    """`/papers author:"Grace Hopper"` with 7 papers shows 5 and a Next button (there was
    no way to see the other 2); Next shows them in place, Previous the first 5 again, and
    a paper that came in between never pushes one onto another page."""
    inbox = Path(config.inbox_dir)
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "hopper.json").write_bytes(_hopper_papers(0, 7))
    worker.ingest_and_alert(config, NOW)
    first = reply('author:"Grace Hopper"')
    assert first["text"] == "7 papers by Grace Hopper · latest added first · showing 1–5"
    assert "author_next" in _buttons(first) and "author_prev" not in _buttons(first)
    shown = _titles(first)
    (inbox / "hopper2.json").write_bytes(_hopper_papers(7, 1))  # a new paper between pages
    worker.ingest_and_alert(config, NOW + timedelta(minutes=30))
    clicked = slack.click(first, "author_next")
    second = wait_for(lambda: slack.responses(clicked["response_id"]))[0]
    assert second["replace_original"] is True
    assert "showing 6–7" in second["text"] and "author_next" not in _buttons(second)
    assert len(_titles(second)) == 2 and not set(_titles(second)) & set(shown)
    assert "Compiler Study Number 7" not in _titles(first) + _titles(second)
    back = slack.click(second, "author_prev")
    again = wait_for(lambda: slack.responses(back["response_id"]))[0]
    assert _titles(again) == shown


def test_a_short_author_list_has_no_page_buttons(slack, reply, config):
    Path(config.inbox_dir).mkdir(parents=True, exist_ok=True)
    (Path(config.inbox_dir) / "hopper.json").write_bytes(_hopper_papers(0, 2))
    worker.ingest_and_alert(config, NOW)
    found = reply('author:"Grace Hopper"')
    assert found["text"] == "2 papers by Grace Hopper · latest added first"
    assert not {"author_next", "author_prev"} & set(_buttons(found))


def test_author_pages_on_app_home_publish_home_with_that_page(slack, reply, config):
    """On App Home a click has no response_url to update: Next publishes Home with the
    next page where the reply was shown (as Papers by … shows its first page there)."""
    inbox = Path(config.inbox_dir)
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "hopper.json").write_bytes(_hopper_papers(0, 7))
    worker.ingest_and_alert(config, NOW)
    first = reply('author:"Grace Hopper"')
    slack.state.views.clear()
    # The reply's blocks as Home shows them where a button's reply goes.
    clicked = slack.click(first, "author_next", view={"blocks": first["blocks"]})
    assert clicked["status"] == 200
    home = wait_for(lambda: slack.state.views.get("U0LOCAL"))
    shown = json.dumps(home, ensure_ascii=False)
    assert "showing 6–7" in shown and "author_prev" in shown
    assert not set(_titles(home)) & set(_titles(first))


def _authors_reply(slack, reply, config, paper: dict, names) -> dict:
    """The reply to the Authors button of `paper` (HF JSON, with these author names), once
    the worker has ingested it."""
    worker.ingest_and_alert(config, NOW)
    paper["authors"] = [{"name": n} for n in names]
    (Path(config.inbox_dir) / "hf.json").write_text(json.dumps([{"paper": paper}]))
    worker.ingest_and_alert(config, NOW + timedelta(minutes=30))
    found = reply(paper["id"])
    authors = next(b for b in _buttons(found) if b.startswith("paper_authors_"))
    clicked = slack.click(found, authors)
    (listing,) = wait_for(lambda: slack.responses(clicked["response_id"]))
    return listing


def test_every_papers_by_button_finds_papers_even_beside_an_organisation(slack, reply, config):
    """HF lists organisations and mononyms as authors ("DeepSeek-AI"): the Authors reply
    gave them a Papers by … button (and a command to type) that only answered "Give a first
    name or initial and a surname". Such a name is listed without them."""
    paper = {"id": "2603.08001", "title": "Scaling Open Mixture Models", "upvotes": 3}
    paper["summary"] = "We scale open mixture-of-experts models and report what we measured."
    names = ("DeepSeek-AI", "Yelong Shen", "Prabhat")
    listing = _authors_reply(slack, reply, config, paper, names)
    text = json.dumps(listing["blocks"])
    assert "DeepSeek-AI" in text and "Prabhat" in text  # still listed
    assert '`/papers author:\\"DeepSeek-AI\\"`' not in text
    assert '`/papers author:\\"Yelong Shen\\"`' in text
    assert _buttons(listing) == ["author_search_1"]
    for button in _buttons(listing):
        answer = slack.click(listing, button)
        (result,) = wait_for(lambda a=answer: slack.responses(a["response_id"]))
        assert result["text"] == "1 paper by Yelong Shen · latest added first"


def test_every_listed_author_has_a_papers_by_button(slack, reply, config):
    """A paper of 15 authors (common in ML) listed all 15, but only the first 10 had the
    Papers by … button the README promises each; the others only a command to type."""
    names = [f"Ada{chr(97 + n)} Lovelace{chr(97 + n)}" for n in range(15)]
    paper = {"id": "2603.08002", "title": "A Many-Author Study", "upvotes": 3}
    paper["summary"] = "We study many authors at once and report what we measured."
    listing = _authors_reply(slack, reply, config, paper, names)
    assert _buttons(listing) == [f"author_search_{n}" for n in range(15)]
    last = slack.click(listing, "author_search_14")
    (result,) = wait_for(lambda: slack.responses(last["response_id"]))
    assert result["text"] == "1 paper by Adao Lovelaceo · latest added first"


@pytest.mark.parametrize(
    "typed",
    [
        # An arXiv author line, pasted whole: it followed one "name" no paper ever has.
        pytest.param("Edward J. Hu, Yelong Shen, Phillip Wallis", id="author-line"),
        pytest.param("Edward J. Hu, Yelong Shen", id="two-names"),
        pytest.param("Edward J. Hu and Yelong Shen", id="and"),
        pytest.param("Edward J. Hu; Yelong Shen", id="semicolon"),
        pytest.param("Edward J. Hu & Yelong Shen", id="ampersand"),
    ],
)
def test_following_several_authors_at_once_asks_for_one(reply, typed):
    answer = reply(f"follow {typed}")["text"]
    assert "one author at a time" in answer and "`/papers follow Edward J. Hu`" in answer
    assert "papers by" not in reply("list")["text"]


def test_following_a_text_longer_than_a_name_says_so(reply):
    answer = reply("follow " + "Edward " * 30 + "Hu")["text"]
    assert "longer than a name" in answer
    assert "papers by" not in reply("list")["text"]


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        pytest.param("Hu, Edward J.", "Hu, Edward J.", id="surname-first"),
        pytest.param("de la Cruz, Maria", "de la Cruz, Maria", id="surname-with-particles"),
        # Two surnames, no initial, no author the store knows by the first part alone.
        pytest.param(
            "García Márquez, Gabriel José", "García Márquez, Gabriel José", id="two-surnames"
        ),
        pytest.param("Robert W. Heath, Jr.", "Robert W. Heath, Jr.", id="suffix"),
        pytest.param("Heath, Robert W., Jr.", "Heath, Robert W., Jr.", id="surname-first-suffix"),
        pytest.param("Anna Sandberg-Ward", "Anna Sandberg-Ward", id="double-barrelled"),
    ],
)
def test_one_name_with_commas_is_followed(reply, typed, shown):
    answer = reply(f"follow {typed}")["text"]
    assert answer.startswith("Following:") and shown in answer


def _hf_by(papers: list[tuple[str, str, list[str]]]) -> bytes:
    """HF JSON of (arXiv id, title, author names) papers."""
    return json.dumps(
        [
            {
                "paper": {
                    "id": arxiv_id,
                    "title": title,
                    "summary": f"We study {title.lower()} and report what we measured.",
                    "upvotes": 1,
                    "authors": [{"name": n} for n in names],
                }
            }
            for arxiv_id, title, names in papers
        ]
    ).encode()


MUELLER_PAPERS = [
    ("2603.08001", "Sparse Mixtures of Adapters", ["Jürgen Müller", "Ada Lovelace"]),
    ("2603.08002", "Spelled Out Adapters", ["Joerg Schaefer"]),
    ("2603.08003", "Another Mueller Entirely", ["Jan Müller"]),
]


@pytest.mark.parametrize(
    ("followed", "on_paper", "title"),
    [
        pytest.param("Juergen Mueller", "Jürgen Müller", "Sparse Mixtures", id="typed-spelled-out"),
        pytest.param("Jörg Schäfer", "Joerg Schaefer", "Spelled Out", id="paper-spelled-out"),
    ],
)
def test_a_follow_alerts_whether_or_not_the_umlauts_are_typed(
    slack, reply, config, followed, on_paper, title
):
    worker.ingest_and_alert(config, NOW)  # first run: what is stored is back catalogue
    assert f"papers by {followed}" in reply(f"follow {followed}")["text"]
    inbox = Path(config.inbox_dir)
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "hf-mueller.json").write_bytes(_hf_by(MUELLER_PAPERS))
    worker.ingest_and_alert(config, NOW + timedelta(minutes=30))
    alerts = dms(slack, "U0LOCAL")
    assert [a["text"] for a in alerts] == [f"New paper by {followed}"]
    text = json.dumps(alerts[0]["blocks"], ensure_ascii=False)
    # The paper's author as written; never the other Müller's paper.
    assert title in text and on_paper in text and "Another Mueller" not in text


def test_two_follows_of_one_person_alert_each_paper_once(slack, reply, config):
    # With no Müller in the store yet, "Mueller" and "Muller" may be two people (as "Yue"
    # and "Yu" are), so both follows are taken; a paper by Jürgen Müller then fits both.
    worker.ingest_and_alert(config, NOW)  # first run: what is stored is back catalogue
    assert "papers by Juergen Mueller" in reply("follow Juergen Mueller")["text"]
    assert "papers by Jurgen Muller" in reply("follow Jurgen Muller")["text"]
    inbox = Path(config.inbox_dir)
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "hf-mueller.json").write_bytes(_hf_by(MUELLER_PAPERS))
    worker.ingest_and_alert(config, NOW + timedelta(minutes=30))
    alerts = dms(slack, "U0LOCAL")
    assert [a["text"] for a in alerts] == ["New paper by Juergen Mueller"]
    assert "Sparse Mixtures" in json.dumps(alerts[0]["blocks"])


@pytest.mark.parametrize(
    "command",
    [
        pytest.param("author:juergen mueller", id="author-spelled-out"),
        pytest.param("search author:juergen mueller", id="search-spelled-out"),
        pytest.param('search author:"Jurgen Muller"', id="search-dropped"),
    ],
)
def test_an_author_search_finds_umlauts_typed_without_them(reply, config, command):
    worker.ingest_and_alert(config, NOW)
    inbox = Path(config.inbox_dir)
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "hf-mueller.json").write_bytes(_hf_by(MUELLER_PAPERS))
    worker.ingest_and_alert(config, NOW + timedelta(minutes=30))
    found = reply(command)
    assert found["text"].startswith("1 paper by ") and found["text"].endswith("latest added first")
    text = json.dumps(found["blocks"], ensure_ascii=False)
    assert "Sparse Mixtures of Adapters" in text and "Jürgen Müller" in text
    assert "Another Mueller" not in text
