"""A keyword alert for more papers than it shows: the rest are the new papers the alert is
about, not the best matches of all time (which the plain search ranks first)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from jobs import worker
from storage import connect
from storage import search as search_module
from storage.deliveries import ledger
from storage.search import search
from tests.bot.conftest import wait_for
from tests.conftest import NOW, add_subscription

OLD_TITLES = [f"LoRA Variant {n}: Low-Rank Adapters Revisited" for n in range(6)]
NEW_TITLES = [f"Routing Study {n}: Mixing Experts per Token" for n in range(12)]


def dump(day: str, titles: list[str], published: str, upvotes: int) -> str:
    """A daily-papers page with one paper a title, each mentioning LoRA in its abstract."""
    parts = [f"{day}\n"]
    for n, title in enumerate(titles):
        parts.append(
            f"{title}\n\nWe study LoRA adapters in setting number {n} of {title.split(':')[0]} "
            "and report how a learned router compares with static merging at equal budget.\n\n"
            f"  • 4 authors\n·\n{published} {upvotes}\n"
        )
    return "\n".join(parts)


def titles_in(message: dict) -> list[str]:
    text = json.dumps(message.get("blocks", []), ensure_ascii=False)
    return [t for t in OLD_TITLES + NEW_TITLES if t in text]


@pytest.mark.parametrize("first", [200, 5], ids=["all-at-once", "more-than-asked-first"])
def test_the_rest_of_a_long_alert_shows_the_new_papers_not_the_famous_old_ones(
    slack, config, monkeypatch, first
):
    # Alert queries ask for 200 matches first: one with more announced the first 200 and
    # dropped the rest for good (seen with 5 here, as with 300 papers at 200).
    monkeypatch.setattr(search_module, "ALERT_LIMIT", first)
    slack.state.rate_per_second, slack.state.burst = 1000.0, 1000.0
    inbox = Path(config.inbox_dir)
    inbox.mkdir(parents=True, exist_ok=True)
    # The back catalogue: famous LoRA papers, named so in their titles, heavily upvoted.
    (inbox / "old.txt").write_text(dump("Mar 16", OLD_TITLES, "Jun 17, 2021", 900))
    worker.ingest_and_alert(config, NOW)  # first run: what is stored is not news
    db = connect(config.db_path)
    add_subscription(
        db,
        slack.team_id,
        "U0LOCAL",
        "U0LOCAL",
        kind="personal",
        frequency="instant",
        keywords="lora",
    )
    (inbox / "new.txt").write_text(dump("Mar 18", NEW_TITLES, "Mar 17, 2026", 1))
    worker.ingest_and_alert(config, NOW + timedelta(minutes=30))
    # The plain search ranks the famous old papers first: it is not what the alert is about.
    best = [p["title"] for p in search(db, "lora", limit=5).papers]
    db.close()
    assert set(best) <= set(OLD_TITLES), best
    (alert,) = slack.messages("DU0LOCAL")
    assert alert["text"] == "12 new papers on lora"
    shown = titles_in(alert)
    assert len(shown) == 10 and set(shown) <= set(NEW_TITLES)
    assert "/papers lora" not in json.dumps(alert["blocks"])  # it would show the old ones

    clicked = slack.click(alert, "alert_show_all", channel="DU0LOCAL")
    assert clicked["status"] == 200
    (page,) = wait_for(lambda: slack.responses(clicked["response_id"]))
    seen = titles_in(page)
    assert "12 new papers match" in page["text"]
    while any(b.get("action_id") == "search_next" for b in _buttons(page)):
        clicked = slack.click(page, "search_next", channel="DU0LOCAL")
        (page,) = wait_for(lambda c=clicked: slack.responses(c["response_id"]))
        seen += titles_in(page)
    assert sorted(seen) == sorted(NEW_TITLES)
    # Every one of them was announced: a run after it has nothing more to say.
    worker.ingest_and_alert(config, NOW + timedelta(hours=1))
    assert len(slack.messages("DU0LOCAL")) == 1


def _buttons(message: dict) -> list[dict]:
    return [e for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]


WORDS = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"]
WORDS += ["Golf", "Hotel", "India", "Juliett", "Kilo", "Lima"]


def rss(items: list[tuple[str, str, str]]) -> str:
    """An arXiv RSS listing of (arXiv id, announce type, title) items about LoRA."""
    parts = []
    for ident, announce, title in items:
        parts.append(
            f"<item><title>{title}</title><link>https://arxiv.org/abs/{ident}</link>"
            f"<description>arXiv:{ident}v2 Announce Type: {announce} \nAbstract: We study LoRA"
            f" adapters in {title}, with a learned router against static merging.</description>"
            f'<guid isPermaLink="false">oai:arXiv.org:{ident}v2</guid>'
            f"<pubDate>Wed, 18 Mar 2026 00:00:00 -0400</pubDate>"
            f"<arxiv:announce_type>{announce}</arxiv:announce_type>"
            f"<dc:creator>Ada Lovelace</dc:creator></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"'
        ' xmlns:arxiv="http://arxiv.org/schemas/atom"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>cs.CL updates</title>'
        "<link>http://rss.arxiv.org/rss/cs.CL</link><description>cs.CL</description>"
        + "".join(parts)
        + "</channel></rss>"
    )


def _all_pages(slack, alert: dict, titles: list[str]) -> list[str]:
    """The titles Show all lists, page after page."""
    clicked = slack.click(alert, "alert_show_all", channel="DU0LOCAL")
    (page,) = wait_for(lambda: slack.responses(clicked["response_id"]))
    text = json.dumps(page["blocks"], ensure_ascii=False)
    seen = [t for t in titles if t in text]
    while any(b.get("action_id") == "search_next" for b in _buttons(page)):
        clicked = slack.click(page, "search_next", channel="DU0LOCAL")
        (page,) = wait_for(lambda c=clicked: slack.responses(c["response_id"]))
        text = json.dumps(page["blocks"], ensure_ascii=False)
        seen += [t for t in titles if t in text]
    return seen


def _lora_alert_inbox(slack, config) -> Path:
    """A `lora` instant alert past the worker's first run (its bookmark set); the inbox."""
    slack.state.rate_per_second, slack.state.burst = 1000.0, 1000.0
    inbox = Path(config.inbox_dir)
    inbox.mkdir(parents=True, exist_ok=True)
    worker.ingest_and_alert(config, NOW)  # first run: the bookmark is set
    db = connect(config.db_path)
    add_subscription(
        db, slack.team_id, "U0LOCAL", "U0LOCAL", kind="personal", frequency="instant",
        keywords="lora",
    )  # fmt: skip
    db.close()
    return inbox


def test_show_all_lists_only_the_alerts_papers_not_replacements_between_them(slack, config):
    inbox = _lora_alert_inbox(slack, config)
    # arXiv lists replacements of older papers among the new ones: they get ids between the
    # alert's new papers, but a replacement is never news, so the alert leaves them out.
    new = [(f"2603.{9100 + n}", "new", f"Adapter Study {w}") for n, w in enumerate(WORDS[:12])]
    old = [(f"2401.{9200 + n}", "replace", f"Revised Work {w}") for n, w in enumerate(WORDS[:4])]
    items = new[:3] + old[:2] + new[3:8] + old[2:] + new[8:]
    (inbox / "cs.CL.xml").write_text(rss(items))
    worker.ingest_and_alert(config, NOW + timedelta(minutes=30))
    (alert,) = slack.messages("DU0LOCAL")
    assert alert["text"] == "12 new papers on lora"
    titles = [title for _, _, title in items]
    seen = _all_pages(slack, alert, titles)
    assert sorted(seen) == sorted(title for _, _, title in new)


def _lora_alert(slack, config, reply) -> dict:
    """The alert a `/papers subscribe lora instant` gets for the 12 new papers on LoRA."""
    slack.state.rate_per_second, slack.state.burst = 1000.0, 1000.0
    inbox = Path(config.inbox_dir)
    inbox.mkdir(parents=True, exist_ok=True)
    worker.ingest_and_alert(config, NOW)
    reply("subscribe lora instant")
    (inbox / "new.txt").write_text(dump("Mar 18", NEW_TITLES, "Mar 17, 2026", 1))
    worker.ingest_and_alert(config, NOW + timedelta(minutes=30))
    (alert,) = slack.messages("DU0LOCAL")
    return alert


@pytest.mark.parametrize("button", ["alert_show_all", "search_next", "search_share"])
def test_show_all_after_the_alert_was_unsubscribed_says_why_and_what_to_type(
    slack, config, reply, button
):
    """Show all (or Next, Share on its page) after `/papers unsubscribe lora` said "Those
    papers are no longer available": they are; what went is the alert's list of them, with
    its subscription. The reply says so and names the search to type."""
    alert = _lora_alert(slack, config, reply)
    clicked = slack.click(alert, "alert_show_all", channel="DU0LOCAL")
    (page,) = wait_for(lambda: slack.responses(clicked["response_id"]))
    assert reply("unsubscribe lora")["text"].startswith("Removed")
    source = alert if button == "alert_show_all" else page
    clicked = slack.click(source, button, channel="DU0LOCAL")
    (answer,) = wait_for(lambda: slack.responses(clicked["response_id"]))
    assert answer["text"].startswith("That alert's subscription was removed")
    assert "`/papers lora`" in answer["text"]
    assert answer["replace_original"] is False  # the alert and its page stay as they were
    assert slack.messages("DU0LOCAL") == [alert]  # nothing shared


def test_show_all_of_another_workspaces_alert_shows_nothing_of_it(slack, config, reply):
    """A Show all value names its delivery by subscription id, a number another workspace
    can guess: clicked from there (a forged button), it listed the papers this team's
    alert announced. Only the team whose alert it is sees them."""
    alert = _lora_alert(slack, config, reply)
    clicked = slack.click(alert, "alert_show_all", channel="DU0LOCAL", team="T0OTHER")
    (answer,) = wait_for(lambda: slack.responses(clicked["response_id"]))
    assert titles_in(answer) == []
    assert "new papers match" not in answer["text"]
    clicked = slack.click(alert, "alert_show_all", channel="DU0LOCAL")
    (own,) = wait_for(lambda: slack.responses(clicked["response_id"]))
    assert own["text"].startswith("12 new papers match")


def _channel_alert(slack, config) -> dict:
    """A keyword alert of the 12 new papers on LoRA delivered to #general, a channel this
    team shares with a partner workspace (Slack Connect)."""
    slack.state.rate_per_second, slack.state.burst = 1000.0, 1000.0
    inbox = Path(config.inbox_dir)
    inbox.mkdir(parents=True, exist_ok=True)
    worker.ingest_and_alert(config, NOW)
    db = connect(config.db_path)
    add_subscription(
        db, slack.team_id, "U0LOCAL", "C0GENERAL", kind="channel", frequency="instant",
        keywords="lora",
    )  # fmt: skip
    db.close()
    (inbox / "new.txt").write_text(dump("Mar 18", NEW_TITLES, "Mar 17, 2026", 1))
    worker.ingest_and_alert(config, NOW + timedelta(minutes=30))
    (alert,) = slack.messages("C0GENERAL")
    return alert


@pytest.mark.parametrize(
    ("team", "user_team"),
    [
        pytest.param("T0PARTNER", "T0PARTNER", id="payload-team-is-the-partners"),
        pytest.param(None, "T0PARTNER", id="payload-team-is-the-channels-host"),
    ],
)
def test_show_all_in_a_shared_channel_works_for_a_partner_workspaces_member(
    slack, config, team, user_team
):
    """In a Slack Connect channel a member of the partner workspace sees the alert; their
    Show all was told the subscription was removed (it was looked up by their workspace).
    Clicked in the channel the alert was delivered to, it lists the alert's papers, and so
    does Next on that page."""
    alert = _channel_alert(slack, config)
    who = {"user": "U0PARTNER", "channel": "C0GENERAL", "team": team, "user_team": user_team}
    clicked = slack.click(alert, "alert_show_all", **who)
    (page,) = wait_for(lambda: slack.responses(clicked["response_id"]))
    assert page["text"].startswith("12 new papers match")
    seen = titles_in(page)
    clicked = slack.click(page, "search_next", **who)
    (after,) = wait_for(lambda: slack.responses(clicked["response_id"]))
    assert after["text"].startswith("12 new papers match")
    assert set(titles_in(after)).isdisjoint(seen) and set(titles_in(after)) <= set(NEW_TITLES)


@pytest.mark.parametrize(
    "team",
    [
        pytest.param("T0OTHER", id="another-workspace"),
        pytest.param(None, id="this-workspace"),
    ],
)
def test_show_all_clicked_outside_the_alerts_channel_lists_nothing(slack, config, team):
    """A Show all value (forged, or copied) clicked in a channel the alert was never
    delivered to lists none of its papers, whichever workspace the clicker is in."""
    alert = _channel_alert(slack, config)
    clicked = slack.click(alert, "alert_show_all", channel="C0ELSEWHERE", team=team)
    (answer,) = wait_for(lambda: slack.responses(clicked["response_id"]))
    assert titles_in(answer) == []
    assert "new papers match" not in answer["text"]
    clicked = slack.click(alert, "alert_show_all", channel="C0GENERAL")
    (own,) = wait_for(lambda: slack.responses(clicked["response_id"]))
    assert own["text"].startswith("12 new papers match")


def test_show_all_after_a_paper_was_revised_still_lists_every_paper_the_alert_announced(
    slack, config
):
    """A paper the alert announced (and showed) whose arXiv replacement no longer names the
    keywords dropped out of Show all: "Show all 12" listed 11. It lists all 12, the ones
    that still match first."""
    inbox = _lora_alert_inbox(slack, config)
    new = [(f"2603.{9100 + n}", "new", f"Adapter Study {w}") for n, w in enumerate(WORDS)]
    (inbox / "cs.CL.xml").write_text(rss(new))
    worker.ingest_and_alert(config, NOW + timedelta(minutes=30))
    (alert,) = slack.messages("DU0LOCAL")
    assert alert["text"] == "12 new papers on lora" and "Adapter Study Alpha" in str(alert)
    # Days later, v3 of the first one is about low-rank adapters, without the word LoRA.
    revised = rss([("2603.9100", "replace", "Adapter Study Alpha")])
    (inbox / "v3.xml").write_text(revised.replace("v2", "v3").replace("LoRA", "low-rank"))
    worker.ingest_and_alert(config, NOW + timedelta(days=3))
    db = connect(config.db_path)
    assert "Adapter Study Alpha" not in [p["title"] for p in search(db, "lora", limit=50).papers]
    ids = json.loads(ledger(db)[-1]["paper_ids"])
    ranked = [p["title"] for p in search(db, "lora", limit=50, only=ids).papers]
    assert ranked[-1] == "Adapter Study Alpha"  # the 11 that still match come first
    db.close()
    clicked = slack.click(alert, "alert_show_all", channel="DU0LOCAL")
    (page,) = wait_for(lambda: slack.responses(clicked["response_id"]))
    assert page["text"].startswith("12 new papers match")
    seen = _all_pages(slack, alert, [title for _, _, title in new])
    assert sorted(seen) == sorted(title for _, _, title in new)
