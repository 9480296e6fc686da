"""Save, /papers saved, Remove and the App Home reading list (per user, per team), and More
like this: clicks through the real app, replies through the stand-in."""

from __future__ import annotations

import json
import shutil
import threading

import pytest

from tests.bot.conftest import wait_for


def action_ids(message: dict) -> list[str]:
    found = []
    for block in message["blocks"]:
        found += [e["action_id"] for e in block.get("elements", []) if "action_id" in e]
        if block.get("accessory"):
            found.append(block["accessory"]["action_id"])
    return found


def click(slack, message: dict, prefix: str, index: int = 0, **kwargs) -> dict:
    """Click the index-th button whose action_id starts with prefix; return the reply."""
    action = [a for a in action_ids(message) if a.startswith(prefix)][index]
    clicked = slack.click(message, action, **kwargs)
    assert clicked["status"] == 200
    if "view" in kwargs:
        return clicked
    return wait_for(lambda: slack.responses(clicked["response_id"]))[0]


def test_save_list_and_remove_per_user_and_per_team(slack, reply):
    results = reply("lora")
    first = click(slack, results, "save_paper_")
    assert first["text"].startswith("Saved _") and first["replace_original"] is False
    assert "already in your reading list" in click(slack, results, "save_paper_")["text"]
    click(slack, results, "save_paper_", 1)
    mine = reply("saved")
    assert mine["text"] == "Your reading list: 2 papers"
    text = json.dumps(mine["blocks"])
    assert "A Unified Continual Learning Framework" in text and "PVP: Pre-trained Visual" in text
    # Someone else has their own list (another workspace's: tests/bot/test_workspaces.py).
    slack.add_user("U0OTHER", "other")
    assert "reading list is empty" in reply("saved", user="U0OTHER")["text"]
    # Remove updates the list in place.
    updated = click(slack, mine, "saved_remove_")
    assert updated["replace_original"] is True
    assert updated["text"] == "Your reading list: 1 paper"


def test_the_reading_list_on_app_home_with_remove(slack, reply):
    results = reply("lora")
    click(slack, results, "save_paper_")
    slack.event({"type": "app_home_opened", "user": "U0LOCAL", "tab": "home"})
    view = wait_for(lambda: slack.state.views.get("U0LOCAL"))
    text = json.dumps(view, ensure_ascii=False)
    assert "Your reading list" in text and "A Unified Continual Learning Framework" in text
    slack.state.views.clear()
    click(slack, view, "saved_remove_", view=view)
    after = wait_for(lambda: slack.state.views.get("U0LOCAL"))
    assert "A Unified Continual Learning" not in json.dumps(after)
    assert "Press *Save* on any paper" in json.dumps(after)


def test_save_from_a_digest_preview_on_app_home(slack, reply):
    reply("subscribe channel weekly")
    slack.event({"type": "app_home_opened", "user": "U0LOCAL", "tab": "home"})
    view = wait_for(lambda: slack.state.views.get("U0LOCAL"))
    slack.state.views.clear()
    slack.click(view, "home_preview_1", view=view)
    preview = wait_for(lambda: slack.state.views.get("U0LOCAL"))
    slack.state.views.clear()
    click(slack, preview, "save_paper_", view=preview)
    saved = wait_for(lambda: slack.state.views.get("U0LOCAL"))
    reading = json.dumps(saved["blocks"][saved["blocks"].index(_header("Your reading list")) :])
    assert "saved_remove_" in reading
    assert reply("saved")["text"] == "Your reading list: 1 paper"


def _header(text: str) -> dict:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def test_more_like_this_on_a_search_result_lists_related_seed_papers(slack, reply):
    results = reply('"few-shot learners"')
    assert "Language Models are Few-Shot Learners" in json.dumps(results["blocks"])
    titles = [b["text"]["text"] for b in results["blocks"] if b["type"] == "section"][1:]
    index = next(i for i, t in enumerate(titles) if "Language Models are Few-Shot" in t)
    more = click(slack, results, "more_like_", index)
    assert more["text"].startswith("More like _Language Models are Few-Shot Learners_")
    listed = json.dumps(more["blocks"])
    assert "mGPT: Few-Shot Learners Go Multilingual" in listed
    assert listed.count("more_like_") == 5  # five papers, each with its own buttons
    assert slack.state.rejected == []


def test_buttons_on_a_stale_paper_say_so(slack, reply):
    results = reply("lora")
    for block in results["blocks"]:
        for element in block.get("elements", []):
            if element.get("value", "").isdigit():
                element["value"] = "999999"
    assert "no longer in the store" in click(slack, results, "save_paper_")["text"]
    assert "no longer in the store" in click(slack, results, "more_like_")["text"]


def _set_values(message: dict, value: str) -> dict:
    for block in message["blocks"]:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if element.get("value", "").isdigit():
                element["value"] = value
    return message


BEYOND_SQLITE = "9" * 25  # digits, but past the 64-bit ids SQLite holds


@pytest.mark.parametrize("prefix", ["save_paper_", "more_like_"])
def test_a_paper_button_with_an_id_past_sqlites_range_says_the_paper_is_gone(slack, reply, prefix):
    # These got no reply at all: an OverflowError from SQLite after the ack.
    results = _set_values(reply("lora"), BEYOND_SQLITE)
    assert click(slack, results, prefix)["text"] == "That paper is no longer in the store."


def test_remove_with_an_id_past_sqlites_range_shows_the_list_unchanged(slack, reply):
    click(slack, reply("lora"), "save_paper_")
    mine = _set_values(reply("saved"), BEYOND_SQLITE)
    assert click(slack, mine, "saved_remove_")["text"] == "Your reading list: 1 paper"


def _home_preview(slack, reply) -> dict:
    reply("subscribe channel weekly")
    slack.event({"type": "app_home_opened", "user": "U0LOCAL", "tab": "home"})
    view = wait_for(lambda: slack.state.views.get("U0LOCAL"))
    slack.state.views.clear()
    slack.click(view, "home_preview_1", view=view)
    return wait_for(lambda: slack.state.views.get("U0LOCAL"))


def _click_home(slack, view: dict, prefix: str, index: int = 0) -> dict:
    slack.state.views.clear()
    click(slack, view, prefix, index, view=view)
    return wait_for(lambda: slack.state.views.get("U0LOCAL"))


def test_saving_from_a_home_preview_keeps_the_preview(slack, reply):
    """Save on a paper of a digest preview re-published Home without the preview, so saving
    a second paper of it meant pressing Preview again each time."""
    after = _click_home(slack, _home_preview(slack, reply), "save_paper_")
    assert "Preview of #1, not sent" in json.dumps(after, ensure_ascii=False)
    again = _click_home(slack, after, "save_paper_", 1)
    assert "Preview of #1, not sent" in json.dumps(again, ensure_ascii=False)
    assert reply("saved")["text"] == "Your reading list: 2 papers"
    # Removing from the reading list keeps it too.
    removed = _click_home(slack, again, "saved_remove_")
    assert "Preview of #1, not sent" in json.dumps(removed, ensure_ascii=False)
    assert reply("saved")["text"] == "Your reading list: 1 paper"


def test_a_save_refused_on_app_home_says_why(slack, reply, config, monkeypatch):
    """A full reading list (or a paper gone meanwhile) got no word at all on App Home."""
    monkeypatch.setattr("storage.saved.MAX_SAVED", 1)
    preview = _home_preview(slack, reply)
    _click_home(slack, preview, "save_paper_")
    refused = _click_home(slack, preview, "save_paper_", 1)
    assert "Your reading list holds 1 papers, the most allowed" in json.dumps(refused)


@pytest.mark.parametrize("where", ["results", "home-preview"])
def test_more_like_this_while_the_index_is_being_built_says_so(slack, reply, config, where):
    """More like this searches the index: while another process builds it, the click got
    no answer at all (IndexUnavailable after the ack); it gets the same words as /papers."""
    from storage import connect
    from storage import index as search_index

    message = reply("lora") if where == "results" else _home_preview(slack, reply)
    db = connect(config.db_path)
    # A bot started while another process builds the index (a fresh install, a deleted one).
    shutil.rmtree(search_index.index_dir(db))
    search_index.forget_readers()
    held = search_index.Writer(db)
    try:
        if where == "results":
            shown = click(slack, message, "more_like_")["text"]
        else:
            shown = json.dumps(_click_home(slack, message, "more_like_"))
    finally:
        held.close()
        search_index.forget_readers()
    assert ":warning: The search index is being built; try again in a minute." in shown


def test_a_slow_home_publish_never_replaces_a_newer_one(slack, reply):
    """Two Saves on App Home in quick succession: the first one's view, rendered before the
    second save and published after it, replaced the newer view, so Home showed one saved
    paper of two. Each publish names the view it replaces (`hash`); a stale one is re-rendered."""
    view = _home_preview(slack, reply)
    publishes = len([c for c in slack.state.calls if c[0] == "views.publish"])
    gate = threading.Event()
    slack.state.hold_publish = gate
    click(slack, view, "save_paper_", 0, view=view)
    wait_for(lambda: slack.state.publish_held)  # rendered with one paper saved, held
    click(slack, view, "save_paper_", 1, view=view)
    wait_for(lambda: len(_saved_on_home(slack)) == 2)  # the second click's view
    gate.set()
    # The held publish is refused (its view is not the one shown any more), then Home is
    # rendered again and published: three publishes for two clicks.
    wait_for(
        lambda: len([c for c in slack.state.calls if c[0] == "views.publish"]) == publishes + 3
    )
    assert len(_saved_on_home(slack)) == 2
    assert reply("saved")["text"] == "Your reading list: 2 papers"


def _saved_on_home(slack) -> list[str]:
    return [a for a in action_ids(slack.state.views["U0LOCAL"]) if a.startswith("saved_remove_")]


def test_a_button_that_fails_unforeseen_says_so(slack, reply, monkeypatch):
    """A bug behind a button left the click without any answer; like /papers, it says
    something went wrong (the traceback stays in the log)."""

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("bot.paper_actions.similar", broken)  # nothing else reaches this branch
    answer = click(slack, reply("lora"), "more_like_")
    assert answer["text"] == "Something went wrong on my side; please try again in a minute."


@pytest.mark.parametrize("change", ["save_paper_", "saved_remove_"])
def test_a_change_on_home_keeps_a_button_reply_in_view(slack, reply, change):
    """More like this on App Home shows its reply where the preview goes; a Save on one of
    its papers, or a Remove in the reading list, then re-published Home without it."""
    preview = _home_preview(slack, reply)
    listed = _click_home(slack, _click_home(slack, preview, "save_paper_"), "more_like_")
    assert "More like" in json.dumps(listed)
    after = _click_home(slack, listed, change)
    assert "More like" in json.dumps(after)
    assert len(_saved_on_home(slack)) == (2 if change == "save_paper_" else 0)


@pytest.mark.parametrize(
    "title, names",
    [
        pytest.param("&" * 300, ["&" * 120] * 3, id="ampersands"),
        pytest.param("Q&A " + "&" * 296, ["R&D " + "&" * 116] * 4, id="words-and-ampersands"),
    ],
)
def test_a_saved_paper_whose_text_grows_when_escaped_keeps_the_reading_list(
    slack, reply, config, title, names
):
    """A paper whose title and author names are long in `&`, `<` and `>` (five and four
    characters escaped) made its reading-list line over Slack's 3,000 characters: slack_sdk
    refused to build it, so `/papers saved` said "Something went wrong" and App Home no
    longer rendered, with no way left to Remove the paper."""
    from storage import connect

    results = reply("lora")
    saved = click(slack, results, "save_paper_")
    assert saved["text"].startswith("Saved _")
    paper_id = int(next(a for a in action_ids(results) if a.startswith("save_paper_"))[11:])
    db = connect(config.db_path)
    db["papers"].update(paper_id, {"title": title, "authors": json.dumps(names)})
    db.close()
    mine = reply("saved")
    assert mine["text"] == "Your reading list: 1 paper"
    assert f"saved_remove_{paper_id}" in action_ids(mine)
    assert "&amp;" * 100 in json.dumps(mine["blocks"])  # the title, escaped
    slack.event({"type": "app_home_opened", "user": "U0LOCAL", "tab": "home"})
    view = wait_for(lambda: slack.state.views.get("U0LOCAL"))
    assert f"saved_remove_{paper_id}" in action_ids(view)
    slack.state.views.clear()
    click(slack, view, "saved_remove_", view=view)
    after = wait_for(lambda: slack.state.views.get("U0LOCAL"))
    assert "Press *Save* on any paper" in json.dumps(after)
    assert slack.state.rejected == []


def _saved_titles(message: dict) -> list[str]:
    return [b["text"]["text"].split("\n")[0] for b in message["blocks"] if b.get("accessory")]


def test_a_reading_list_past_one_message_pages_to_its_oldest_papers(slack, reply, config):
    """`/papers saved` showed the newest 20 of 27 saved papers and no way to the other 7
    (nor did App Home's newest 10 say there were more). Next and Previous page through
    all of them; Remove on a later page keeps that page."""
    from storage import connect, saved
    from tests.conftest import NOW

    db = connect(config.db_path)
    ids = [row["id"] for row in db.query("SELECT id FROM papers ORDER BY id LIMIT 27")]
    for minute, paper_id in enumerate(ids):  # saved oldest first: ids[-1] is the newest
        saved.save(db, "T0LOCAL", "U0LOCAL", paper_id, NOW.replace(minute=minute))
    db.close()
    first = reply("saved")
    assert first["text"] == "Your reading list: 27 papers"
    assert "(27) · 1–20" in json.dumps(first["blocks"], ensure_ascii=False)
    assert [a for a in action_ids(first) if not a.startswith("saved_remove_")] == ["saved_next"]
    second = click(slack, first, "saved_next")
    assert second["replace_original"] is True
    assert "(27) · 21–27" in json.dumps(second["blocks"], ensure_ascii=False)
    assert len(_saved_titles(second)) == 7
    assert not set(_saved_titles(second)) & set(_saved_titles(first))
    assert [a for a in action_ids(second) if not a.startswith("saved_remove_")] == ["saved_prev"]
    after = click(slack, second, "saved_remove_")
    assert after["text"] == "Your reading list: 26 papers"
    assert "(26) · 21–26" in json.dumps(after["blocks"], ensure_ascii=False)
    back = click(slack, after, "saved_prev")
    assert _saved_titles(back) == _saved_titles(first)
    slack.event({"type": "app_home_opened", "user": "U0LOCAL", "tab": "home"})
    view = json.dumps(wait_for(lambda: slack.state.views.get("U0LOCAL")), ensure_ascii=False)
    assert "…and 16 more: `/papers saved`" in view
