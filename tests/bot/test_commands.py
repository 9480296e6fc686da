"""/papers as a user meets it: signed requests to the real app, replies via the stand-in."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from jobs.ingest import ingest_bytes, ingest_target
from storage import connect
from storage import subscriptions as subs
from tests.bot.conftest import wait_for
from tests.conftest import FIXTURES, NOW


def all_text(message: dict) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


def buttons(message: dict) -> list[str]:
    return [
        e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]


def test_search_lora_returns_the_lora_papers(reply):
    message = reply("lora")
    text = all_text(message)
    assert message["text"] == "2 papers match `lora`"
    assert "A Unified Continual Learning Framework" in text and "PVP: Pre-trained Visual" in text
    assert "*LoRA*" in text  # the matched word in bold
    assert message.get("response_type", "ephemeral") == "ephemeral"
    assert [b for b in buttons(message) if b.startswith("search_")] == ["search_share"]


def test_next_and_previous_update_the_message_in_place(slack, reply):
    first = reply("language")
    assert "showing 1–5" in all_text(first) and "search_next" in buttons(first)
    clicked = slack.click(first, "search_next")
    assert clicked["status"] == 200
    update = wait_for(lambda: slack.responses(clicked["response_id"]))[0]
    assert update["replace_original"] is True
    assert "showing 6–10" in all_text(update) and "search_prev" in buttons(update)
    back = slack.click(update, "search_prev")
    again = wait_for(lambda: slack.responses(back["response_id"]))[0]
    assert "showing 1–5" in all_text(again)


def test_share_posts_the_results_in_the_channel(slack, reply):
    message = reply("lora")
    shared = slack.click(message, "search_share")
    post = wait_for(lambda: slack.responses(shared["response_id"]))[0]
    assert post["response_type"] == "in_channel" and post["replace_original"] is False
    assert "Shared by <@U0LOCAL>" in all_text(post) and "search_share" not in buttons(post)


def _with_value(message: dict, action_id: str, value: str) -> dict:
    """The message with one button's value changed (by hand, or by an older release)."""
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                element["value"] = value
    return message


@pytest.mark.parametrize("action", ["search_next", "search_share"])
def test_a_page_past_the_last_one_shows_the_last_page(slack, reply, action):
    # 20 papers match; an offset of 1000 used to answer "No papers match `reasoning`."
    first = _with_value(reply("reasoning"), action, '{"q": "reasoning", "o": 1000}')
    clicked = slack.click(first, action)
    page = wait_for(lambda: slack.responses(clicked["response_id"]))[0]
    assert page["text"] == "20 papers match `reasoning`"
    assert "showing 16–20" in all_text(page)
    if action == "search_next":
        assert "search_prev" in buttons(page) and "search_next" not in buttons(page)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("[1]", id="a-list"),
        pytest.param("5", id="a-number"),
        pytest.param('{"q": "lora", "o": 1e400}', id="infinite-offset"),
        pytest.param('{"q": "lora", "o": 2.5}', id="fractional-offset"),
        pytest.param('{"q": ["lora"], "o": 0}', id="query-not-text"),
        pytest.param('{"q": "lora", "o": "5"}', id="offset-not-a-number"),
        pytest.param('{"q": "lora", "o": 0, "n": 1e400}', id="infinite-newest-id"),
        pytest.param('{"q": "lora", "o": 0, "n": "9"}', id="newest-id-not-a-number"),
        pytest.param('{"q": "lora", "o": 0, "n": true}', id="newest-id-a-boolean"),
        pytest.param('{"q": "lora", "o": 0, "n": 9, "a": "3"}', id="after-id-not-a-number"),
        pytest.param('{"q": "lora", "o": 0, "n": 9, "a": 1e400}', id="infinite-after-id"),
    ],
)
@pytest.mark.parametrize("action", ["search_next", "search_share"])
def test_a_malformed_page_button_gets_a_clear_reply(slack, reply, action, value):
    # These got no reply at all: the listener failed after its ack (TypeError, OverflowError).
    first = _with_value(reply("reasoning"), action, value)
    clicked = slack.click(first, action)
    answer = wait_for(lambda: slack.responses(clicked["response_id"]))[0]
    assert answer["replace_original"] is False
    assert answer["text"] in (
        "That page is no longer available; search again.",
        "Those results are gone; search again.",
    )
    assert slack.messages("C0GENERAL") == []  # nothing shared


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", "*papers* keeps you on top of new ML papers", id="empty-is-help"),
        pytest.param("help", "/papers subscribe lora", id="help"),
        pytest.param(
            "subscirbe lora", "Did you mean `/papers subscribe lora`?", id="unknown-subcommand"
        ),
        pytest.param("x" * 2000, "That query is 2000 characters long", id="2000-char-query"),
        pytest.param("search", "Type a few words to search for", id="search-without-words"),
        pytest.param("loar", "Did you mean `lora`?", id="did-you-mean"),
        pytest.param(
            "langauge modle", "Did you mean `language model`?", id="did-you-mean-common-spelling"
        ),
        pytest.param("-lora", "only leaves papers out", id="only-exclusion"),
        pytest.param("l*", "`l*` is too short a prefix", id="one-letter-prefix"),
    ],
)
def test_friendly_replies(reply, text, expected):
    assert expected in all_text(reply(text))


def test_trending(reply):
    message = reply("trending week")
    assert message["blocks"][0]["text"]["text"] == "Trending in the week to Tue, Mar 17"
    assert "listed Mar" in all_text(message)


def test_paper_text_is_escaped(config, reply):
    db = connect(config.db_path)
    ingest_target(db, str(FIXTURES / "hf_daily.json"), NOW)
    text = all_text(reply('"diffusion transformers"'))
    assert "&lt;!channel&gt; &amp; Friends" in text
    assert "<!channel>" not in text


def test_subscribe_list_unsubscribe_round_trip(reply):
    done = reply("subscribe lora weekly at 8:30 on monday")
    assert "Subscribed: *#1* `lora` → DM, weekly on Monday at 08:30 America/New_York" in all_text(
        done
    )
    reply("subscribe diffusion instant")
    listed = all_text(reply("list"))
    assert "#1" in listed and "#2* `diffusion` → DM, instant alerts" in listed
    assert "You already have this subscription" in all_text(
        reply("subscribe lora weekly at 8:30 on monday")
    )
    assert "Removed 1 subscription" in all_text(reply("unsubscribe lora"))
    assert "Removed 1 subscription" in all_text(reply("unsubscribe #2"))
    assert "No subscriptions yet" in all_text(reply("list"))
    assert "No subscription of yours matches" in all_text(reply("unsubscribe 1"))


@pytest.mark.parametrize(
    ("made", "removal", "removed", "kept"),
    [
        pytest.param(
            ["channel daily"], "unsubscribe channel", ["trending → <#C0GENERAL>"], [], id="channel"
        ),
        pytest.param(
            ["channel weekly rlhf", "channel daily"],
            "unsubscribe channel rlhf",
            ["`rlhf` → <#C0GENERAL>"],
            ["trending → <#C0GENERAL>"],
            id="channel-keywords",
        ),
        pytest.param(
            ["channel daily", "lora"],
            "unsubscribe trending",
            ["trending → <#C0GENERAL>"],
            ["`lora`"],
            id="trending",
        ),
        pytest.param(
            ["lora", "gan"], "unsubscribe All", ["`lora`", "`gan`"], [], id="all-capitalised"
        ),
        pytest.param(
            ["lora", "gan", "vit"], "unsubscribe 1 3", ["`lora`", "`vit`"], ["`gan`"], id="two-ids"
        ),
        pytest.param(
            ["lora", "gan", "vit"],
            "unsubscribe #2, #3",
            ["`gan`", "`vit`"],
            ["`lora`"],
            id="ids-with-commas",
        ),
        pytest.param(
            ["lora weekly on friday at 16:30", "gan"],
            "unsubscribe lora weekly on friday at 16:30",
            ["`lora`"],
            ["`gan`"],
            id="the-subscribe-words",
        ),
        pytest.param(
            ["channel weekly rlhf", "rlhf"],
            "unsubscribe channel weekly rlhf",
            ["`rlhf` → <#C0GENERAL>"],
            ["`rlhf` → DM"],
            id="the-channel-subscribe-words",
        ),
        pytest.param(
            ["channel weekly lora", "lora instant"],
            "unsubscribe lora instant",
            ["`lora` → DM"],
            ["`lora` → <#C0GENERAL>"],
            id="a-personal-subscribe-words-leave-the-channels",
        ),
        pytest.param(
            ["lora at 9 role", "gan"],
            "unsubscribe lora at 9 role",
            ["`lora role`"],
            ["`gan`"],
            id="a-word-near-a-city-after-the-time",  # Rome: but papers say "role"
        ),
    ],
)
def test_unsubscribe_takes_what_subscribe_and_list_said(reply, made, removal, removed, kept):
    """`/papers subscribe channel` is undone by `/papers unsubscribe channel`, a digest that
    `/papers list` calls "trending" by `unsubscribe trending`, `All`, `1 3` or `#2, #3`
    mean what they say, and the subscribe's own words (schedule and all) undo it: each of
    these answered "No subscription of yours matches"."""
    for words in made:
        assert "Subscribed" in all_text(reply(f"subscribe {words}"))
    answer = all_text(reply(removal))
    assert f"Removed {len(removed)} subscription" in answer
    assert all(line in answer for line in removed), answer
    listed = all_text(reply("list"))
    assert all(line not in listed for line in removed) and all(line in listed for line in kept)


def test_list_names_the_channels_subscriptions_as_the_channels(reply):
    """Another member's `/papers list` in #general headed the channel's digest "Your
    subscriptions", though only its creator (or an admin) may pause or remove it."""
    reply("subscribe channel weekly")
    assert all_text(reply("list", user="U0OTHER")).startswith(
        '[{"text": {"text": "*This channel\'s subscriptions*'
    )
    reply("subscribe lora daily", user="U0OTHER")
    assert "*Your subscriptions and this channel's*" in all_text(reply("list", user="U0OTHER"))
    assert "*Your subscriptions*" in all_text(reply("list"))  # the creator's own


def test_pause_and_resume_by_command(reply, config):
    """`/papers list` says a subscription is paused, but only App Home could pause or resume
    one: `/papers pause 1` searched papers for the words "pause 1"."""
    reply("subscribe lora daily")
    reply("subscribe channel weekly")
    paused = all_text(reply("pause 1"))
    assert "Paused 1 subscription" in paused and "_paused: paused with /papers pause_" in paused
    assert subs.by_id(connect(config.db_path), 1).status == "paused"
    assert "Paused 1 subscription" in all_text(reply("pause channel"))
    resumed = all_text(reply("resume all"))
    assert "Resumed 2 subscriptions" in resumed and "paused" not in resumed
    # Each resumed line names its next digest apart from its timezone (it read
    # "daily at 09:00 Europe/Berlin Next digest: ...").
    assert resumed.count(" · Next digest: ") == 2, resumed
    assert "_paused" not in all_text(reply("list"))
    # A subscription Slack paused keeps why when it is paused again.
    db = connect(config.db_path)
    subs.pause(db, 1, "Slack said not_in_channel")
    db.close()
    assert "_paused: Slack said not_in_channel_" in all_text(reply("pause all"))
    refused = all_text(reply("pause channel", user="U0OTHER"))
    assert "set up by another member: only they or a workspace admin can pause it" in refused
    assert "Say which: `/papers resume 3`" in all_text(reply("resume"))


@pytest.mark.parametrize(
    ("first", "again", "said", "not_said"),
    [
        pytest.param(
            None,
            "resume lora",
            "Not paused (nothing to resume):\\n*#1* `lora`",
            "Resumed",
            id="resume-active",
        ),
        pytest.param(
            "pause lora",
            "pause lora",
            "Already paused:\\n*#1* `lora`",
            "Paused 1",
            id="pause-paused",
        ),
        pytest.param(
            "pause 1",
            "resume all",
            "Resumed 1 subscription",
            "Resumed 2",
            id="resume-all-one-paused",
        ),
    ],
)
def test_pause_or_resume_says_what_it_changed(reply, first, again, said, not_said):
    """`/papers resume lora` on an active subscription answered "Resumed 1 subscription", as
    if it had been paused."""
    reply("subscribe lora daily")
    reply("subscribe gan daily")
    if first:
        reply(first)
    answer = all_text(reply(again))
    assert said in answer and not_said not in answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("subscribe lora at 25:00", "is not a time of day", id="bad-hour"),
        pytest.param("subscribe lora at noonish", "is not a time", id="not-a-time"),
        pytest.param("subscribe lora at 9:00 Mars/Olympus", "not a timezone", id="bad-zone"),
        pytest.param("subscribe", "Say what to follow", id="nothing"),
        pytest.param(
            "subscribe channel instant", "instant alerts come by DM", id="channel-instant"
        ),
    ],
)
def test_subscribe_errors(reply, text, expected):
    assert expected in all_text(reply(text))


def test_channel_subscription_needs_the_bot_in_the_channel(slack, reply):
    slack.add_channel("C0PRIVATE", "private", is_member=False)
    refused = all_text(reply("subscribe channel daily", channel="C0PRIVATE"))
    assert "/invite @papers" in refused
    assert "No subscriptions yet" in all_text(reply("list", channel="C0PRIVATE"))
    made = all_text(reply("subscribe channel daily at 07:00 Europe/Berlin diffusion"))
    assert "`diffusion` → <#C0GENERAL>, daily at 07:00 Europe/Berlin" in made


def test_list_shows_why_a_subscription_was_paused(config, reply):
    from storage import subscriptions as subs

    reply("subscribe channel daily")
    subs.pause(connect(config.db_path), 1, "Slack said not_in_channel")
    assert "_paused: Slack said not_in_channel_" in all_text(reply("list"))


PAYLOAD_DUMP = b"""[
  {"paper": {"id": "2603.09999", "title": "Adversarial Payload Attacks on Language Agents",
   "summary": "We study adversarial payload attacks that hide instructions in tool output.",
   "upvotes": 3, "publishedAt": "2026-03-16T10:00:00.000Z", "authors": [{"name": "A B"}]},
   "publishedAt": "2026-03-17T02:10:00.000Z", "numComments": 0}
]"""


@pytest.mark.parametrize(
    ("text", "channel", "expected"),
    [
        pytest.param(
            "adversarial payload attacks", "C0GENERAL", "1 paper matches", id="word-payload"
        ),
        pytest.param("lora", "C0PAYLOAD", "2 papers match `lora`", id="channel-payload-team"),
        pytest.param("subscribe payload daily", "C0GENERAL", "Subscribed:", id="subscribe-payload"),
    ],
)
def test_commands_containing_payload_are_answered(config, slack, text, channel, expected):
    """Bolt 1.30 parses any form body containing "payload" as an (empty) interaction."""
    db = connect(config.db_path)
    ingest_bytes(db, "payload.json", PAYLOAD_DUMP, NOW)
    slack.add_channel("C0PAYLOAD", "payload-team")
    sent = slack.command(text, channel=channel)
    assert sent["status"] == 200
    posts = wait_for(
        lambda: [p for p in slack.responses(sent["response_id"]) if p["_via"] == "response_url"]
    )
    assert expected in posts[0]["text"]


def test_a_database_deleted_while_the_bot_runs_gets_a_clear_reply(config, reply, caplog):
    assert "Subscribed" in reply("subscribe lora daily")["text"]
    for path in Path(config.db_path).parent.glob(Path(config.db_path).name + "*"):
        shutil.rmtree(path) if path.is_dir() else path.unlink()  # the file, -wal, -shm, .index
    answer = reply("subscribe transformers daily")["text"]
    assert "cannot reach my database" in answer and "Subscribed" not in answer
    assert "was deleted or moved while papers was running" in caplog.text
    assert not Path(config.db_path).exists()  # nothing recreated an empty one behind our back


def test_an_answer_slack_cannot_take_is_logged_and_the_next_command_is_answered(
    reply, slack, caplog
):
    # A response_url nobody listens on (Slack unreachable, or the URL expired).
    gone = "http://127.0.0.1:9/commands/expired-response-url"
    sent = slack.command("lora", response_url=gone)
    assert sent["status"] == 200  # acknowledged at once; the answer fails afterwards
    failed = wait_for(
        lambda: [r for r in caplog.records if "could not post its answer" in r.getMessage()]
    )
    assert "expired-response-url" not in caplog.text  # the URL is a credential
    assert failed[0].levelname == "ERROR"
    assert reply("lora")["text"] == "2 papers match `lora`"


@pytest.mark.parametrize(
    ("count", "words"),
    [
        pytest.param(25, 30, id="the-most-subscriptions-with-long-keywords"),
        pytest.param(12, 45, id="a-dozen-near-the-keyword-limit"),
    ],
)
def test_list_with_many_long_subscriptions_shows_them_all(config, reply, count, words):
    """Keywords may be up to 200 characters: a user with many such subscriptions still gets
    the list (each line whole, every block within Slack's limits), not an error."""
    from slackstub.limits import validate_blocks
    from tests.conftest import add_subscription

    db = connect(config.db_path)
    for n in range(count):
        keywords = " ".join(f"k{n}w{i}" for i in range(words))[:199]
        add_subscription(db, "T0LOCAL", "U0LOCAL", "U0LOCAL", kind="personal", keywords=keywords)
    message = reply("list")
    assert validate_blocks(message["blocks"]) == []
    text = all_text(message)
    for n in range(1, count + 1):
        assert f"*#{n}* `k{n - 1}w0 " in text
    assert "Remove one with" in text


def test_a_pause_reply_too_long_for_slack_keeps_what_it_left_as_it_was(config, reply):
    """A reply past what one message holds was cut after its third section, and with it its
    last line: "Left as it was: ... set up by another member" was gone, so the numbers it
    named read as paused."""
    from slackstub.limits import validate_blocks
    from tests.conftest import add_subscription

    db = connect(config.db_path)
    for user in ("U0LOCAL", "U0OTHER"):
        for n in range(25):
            keywords = f"{user} {n} " + "&" * 180  # each & is five characters escaped
            add_subscription(db, "T0LOCAL", user, "C0GENERAL", keywords=keywords)
    message = reply("pause " + " ".join(str(n) for n in range(1, 52)))
    assert validate_blocks(message["blocks"]) == []
    text = all_text(message)
    assert "Paused 25 subscriptions" in text and "more lines not shown" in text
    assert "Left as it was: #51: no subscription of yours has that number" in text
    assert "set up by another member, so only they or a workspace admin can pause them" in text


@pytest.mark.parametrize("pages", [0, 1], ids=["first-page", "after-next"])
def test_sharing_the_same_results_twice_posts_them_once(slack, reply, pages):
    """A double click (or a second press) on Share posted the page twice in the channel; the
    second press now gets a short private note instead."""
    message = reply("language")
    for _ in range(pages):
        clicked = slack.click(message, "search_next")
        message = wait_for(lambda c=clicked: slack.responses(c["response_id"]))[0]
    first = slack.click(message, "search_share")
    second = slack.click(message, "search_share")
    posts = [wait_for(lambda c=c: slack.responses(c["response_id"]))[0] for c in (first, second)]
    shared = [p for p in posts if p.get("response_type") == "in_channel"]
    notes = [p for p in posts if p.get("response_type") != "in_channel"]
    assert len(shared) == 1 and len(notes) == 1
    assert "already shared" in notes[0]["text"] and notes[0]["replace_original"] is False
    assert len(slack.messages("C0GENERAL")) == 1


def test_a_share_slack_refuses_is_not_taken_for_shared(slack, reply, monkeypatch):
    """Slack answers a refused response_url post with an HTTP error, which Bolt's respond
    returns instead of raising: the share was kept as done, the sharer saw nothing, and a
    second press said "You already shared these results" of results nobody saw."""
    message = reply("language")
    post = slack.response_url_post
    refusals = []

    def refuse_in_channel(response_id: str, body: dict):
        if body.get("response_type") == "in_channel" and not refusals:
            refusals.append(response_id)
            return 404, "channel_not_found"
        return post(response_id, body)

    monkeypatch.setattr(slack, "response_url_post", refuse_in_channel)
    first = slack.click(message, "search_share")
    note = wait_for(lambda: slack.responses(first["response_id"]))[0]
    assert refusals and "not shared" in note["text"]
    assert note.get("response_type") != "in_channel"
    second = slack.click(message, "search_share")
    shared = wait_for(lambda: slack.responses(second["response_id"]))[0]
    assert shared.get("response_type") == "in_channel"
    assert len(slack.messages("C0GENERAL")) == 1


def test_sharing_another_page_or_another_search_is_not_a_repeat(slack, reply):
    message = reply("language")
    shared = slack.click(message, "search_share")
    wait_for(lambda: slack.responses(shared["response_id"]))
    clicked = slack.click(message, "search_next")
    page_two = wait_for(lambda: slack.responses(clicked["response_id"]))[0]
    again = slack.click(page_two, "search_share")
    wait_for(lambda: slack.responses(again["response_id"]))
    other = slack.click(reply("language"), "search_share")  # a new search, a new message
    wait_for(lambda: slack.responses(other["response_id"]))
    assert len(slack.messages("C0GENERAL")) == 3


def _paper_ids(message: dict) -> list[str]:
    return [b.removeprefix("save_paper_") for b in buttons(message) if b.startswith("save_paper_")]


def _new_language_papers(count: int) -> bytes:
    """Fresh, much-upvoted papers on `language`: they rank above every seeded match."""
    items = [
        {
            "paper": {
                "id": f"2603.{90000 + n}",
                "title": f"Language models that arrived between pages {n}",
                "summary": "A language model study about language and language models.",
                "upvotes": 5000 + n,
                "publishedAt": "2026-03-17T06:00:00.000Z",
                "authors": [{"name": "Late Arrival"}],
            },
            "publishedAt": "2026-03-17T07:00:00.000Z",
        }
        for n in range(count)
    ]
    return json.dumps(items).encode()


def test_next_after_new_papers_arrive_never_repeats_a_paper(slack, reply, config):
    """Papers ingested between pages ranked first and pushed page 1's papers onto page 2,
    which showed them again. Pages keep to the papers the first page was drawn from; a new
    search finds the new ones."""
    first = reply("language")
    shown = _paper_ids(first)
    db = connect(config.db_path)
    ingest_bytes(db, "late.json", _new_language_papers(7), NOW)
    db.close()
    clicked = slack.click(first, "search_next")
    second = wait_for(lambda: slack.responses(clicked["response_id"]))[0]
    assert "showing 6–10" in all_text(second)
    assert set(_paper_ids(second)).isdisjoint(shown), "page 2 repeats page 1"
    back = slack.click(second, "search_prev")
    again = wait_for(lambda: slack.responses(back["response_id"]))[0]
    assert _paper_ids(again) == shown
    fresh = reply("language")
    assert "Language models that arrived between pages" in all_text(fresh)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param('{"q": "reasoning", "o": 5}', id="unpinned-older-button"),
        pytest.param('{"q": "reasoning", "o": 5, "n": 1180591620717411303424}', id="huge-id"),
    ],
)
def test_an_unpinned_or_huge_page_button_still_pages(slack, reply, value):
    """Buttons sent before pages were pinned (no `n`), and an id past any the engine holds."""
    first = _with_value(reply("reasoning"), "search_next", value)
    clicked = slack.click(first, "search_next")
    page = wait_for(lambda: slack.responses(clicked["response_id"]))[0]
    assert page["text"] == "20 papers match `reasoning`" and "showing 6–10" in all_text(page)


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param("https://arxiv.org/abs/2603.01234", id="abs-link"),
        pytest.param("https://arxiv.org/pdf/2603.01234v2.pdf", id="pdf-link"),
        pytest.param("<https://huggingface.co/papers/2603.01234>", id="hf-link-as-slack-wraps"),
        pytest.param("2603.01234", id="bare-id"),
        pytest.param("arXiv:2603.01234v1", id="arxiv-prefix"),
        pytest.param("search https://arxiv.org/abs/2603.01234", id="search-link"),
        pytest.param("arxiv.org/abs/2603.01234", id="link-without-https"),
        pytest.param("huggingface.co/papers/2603.01234", id="hf-link-without-https"),
        # Copied from a sentence: the id or link with the punctuation around it.
        pytest.param("2603.01234.", id="id-then-full-stop"),
        pytest.param("(arXiv:2603.01234v2),", id="id-in-brackets"),
        pytest.param("https://arxiv.org/abs/2603.01234.", id="link-then-full-stop"),
        pytest.param("<https://arxiv.org/abs/2603.01234>.", id="wrapped-link-then-full-stop"),
        pytest.param("<https://arxiv.org/abs/2603.01234.>", id="full-stop-inside-the-link"),
    ],
)
def test_a_pasted_paper_link_or_id_finds_that_paper(reply, config, typed):
    """A link searched for the word `https` (every abstract that names a code URL); one
    typed without `https://` searched the words `arxiv org abs` and found nothing; one
    copied with the sentence's full stop or brackets found nothing either."""
    db = connect(config.db_path)
    ingest_bytes(db, "rss", (FIXTURES / "arxiv_rss.xml").read_bytes(), NOW)
    db.close()
    message = reply(typed)
    assert "LoRA Soup: Merging Low-Rank Adapters" in all_text(message)
    assert "ERNIE" not in all_text(message) and "https" not in message["text"]


def test_a_link_to_a_paper_not_stored_says_so(reply):
    message = reply("https://arxiv.org/abs/2106.09685")
    assert message["text"] == "No paper with arXiv id `2106.09685` is stored here."


@pytest.mark.parametrize(
    ("button", "expected"),
    [
        pytest.param("save_paper_", "Saved _", id="save"),
        pytest.param("more_like_", "More like _", id="more-like-this"),
    ],
)
def test_a_teammate_can_use_the_paper_buttons_of_shared_results(slack, reply, button, expected):
    """Shared results lost every button, the papers' own too: the channel saw the papers but
    nobody could Save one to their reading list or ask for More like this, as they can on a
    digest in the same channel. The page's Share, Next and Previous stay off the post."""
    message = reply("lora")
    shared = slack.click(message, "search_share")
    wait_for(lambda: slack.responses(shared["response_id"]))
    (post,) = slack.messages("C0GENERAL")
    assert not [b for b in buttons(post) if b.startswith("search_")]
    slack.add_user("U0MATE", "mate")
    action = next(b for b in buttons(post) if b.startswith(button))
    clicked = slack.click(post, action, user="U0MATE")
    (answer,) = wait_for(lambda: slack.responses(clicked["response_id"]))
    assert answer["text"].startswith(expected)
    assert answer["replace_original"] is False  # to the teammate only; the post stays
    assert "Shared by <@U0LOCAL>" in all_text(slack.messages("C0GENERAL")[0])
    if button == "save_paper_":
        assert reply("saved", user="U0MATE")["text"] == "Your reading list: 1 paper"
        assert "reading list is empty" in reply("saved")["text"]


@pytest.mark.parametrize("action", ["search_next", "search_share"])
def test_next_or_share_while_the_index_is_being_built_says_so(slack, reply, config, action):
    """Next or Share while another process builds the search index said "That page is no
    longer available; search again" (or "Those results are gone"): the page is there, and
    searching again meets the same index. The clicker gets the words /papers gives."""
    from storage import index as search_index

    message = reply("language")
    db = connect(config.db_path)
    shutil.rmtree(search_index.index_dir(db))
    search_index.forget_readers()
    held = search_index.Writer(db)
    try:
        clicked = slack.click(message, action)
        (answer,) = wait_for(lambda: slack.responses(clicked["response_id"]))
    finally:
        held.close()
        search_index.forget_readers()
    assert answer["text"] == ":warning: The search index is being built; try again in a minute."
    assert answer["replace_original"] is False  # the page stays as it was
    assert slack.messages("C0GENERAL") == []  # nothing shared


@pytest.fixture
def index_being_built(config):
    """The search index deleted and another process building it (a `papers reindex`)."""
    from storage import index as search_index

    db = connect(config.db_path)
    shutil.rmtree(search_index.index_dir(db))
    search_index.forget_readers()
    held = search_index.Writer(db)
    yield
    held.close()
    search_index.forget_readers()
    db.close()


def test_subscribing_while_the_index_is_being_built_still_subscribes(reply, index_being_built):
    """`/papers subscribe lora` (or moving an existing one to another time) while the index
    was rebuilt answered "The search index is being built": the keywords were checked by
    searching them. They are checked by parsing them; digests search when they are due."""
    assert reply("subscribe lora daily at 09:00")["text"].startswith("Subscribed: *#1* `lora`")
    moved = reply("subscribe lora daily at 10:00")["text"]
    assert moved.startswith("Updated the schedule of #1: daily at 09:00")
    refused = reply("subscribe -lora daily")["text"]  # a query that searches nothing, still
    assert refused.startswith(":warning: Add a word to look for")


def test_words_near_a_subcommand_while_the_index_is_being_built_say_so(reply, index_being_built):
    """`/papers remote sensing` (one slip from `remove`) while the index was rebuilt asked
    "Did you mean `/papers remove sensing`?": a search it could not run found nothing."""
    answer = reply("remote sensing")["text"]
    assert answer == ":warning: The search index is being built; try again in a minute."


@pytest.mark.parametrize(
    ("automatic", "kept"),
    [
        pytest.param("app uninstalled", False, id="uninstalled"),
        pytest.param("no bot token for this team", False, id="no-token"),
        # A reinstall resumes these too (new scopes, a working bot user): the member's pause
        # must outlast it all the same.
        pytest.param("Slack said missing_scope", False, id="missing-scope"),
        pytest.param("Slack said account_inactive", False, id="bot-user-inactive"),
        pytest.param("Slack said not_in_channel", True, id="channel-refused"),
    ],
)
def test_a_members_pause_outlasts_the_reinstall(reply, config, automatic, kept):
    """`/papers pause 1` on a subscription the uninstall had paused said "Already paused"
    and kept the uninstall's reason, so the reinstall resumed what the member had paused.
    Slack's refusal of its channel is kept (a reinstall does not resume that)."""
    from datetime import UTC, datetime, timedelta

    from storage import teams

    reply("subscribe lora daily")
    db = connect(config.db_path)
    subs.pause(db, 1, automatic)
    answer = all_text(reply("pause 1"))
    teams.reactivate(db, "T0LOCAL", datetime.now(UTC), timedelta(minutes=180))
    after = subs.by_id(db, 1)
    assert after.status == "paused"
    if kept:
        assert "Already paused" in answer and after.paused_reason == automatic
    else:
        assert "Paused 1 subscription" in answer and after.paused_reason == subs.PAUSED_BY_COMMAND
