"""Manage subscription on a digest or an alert: it opens on the subscription the message
was for, with what the clicker may do to it, and still reaches their others."""

from __future__ import annotations

import json
import re

import pytest

from bot import views
from storage import connect
from storage import subscriptions as subs
from tests.bot.conftest import listed_ids, page_through_list, wait_for
from tests.conftest import NOW, add_subscription


def digest_for(sub_id: int) -> dict:
    """A digest of subscription `sub_id` as the worker renders it (its Manage button)."""
    return views.fit_digest([], "Daily papers · Tue, Mar 17", sub_id, True)[1] | {
        "blocks": [views._manage(sub_id).to_dict()]
    }


def manage(slack, message: dict, action: str = "digest_manage", **who) -> dict:
    clicked = slack.click(message, action, **({"channel": "DU0LOCAL"} | who))
    assert clicked["status"] == 200
    (answer,) = wait_for(lambda: slack.responses(clicked["response_id"]))
    return answer


def action_ids(message: dict) -> list[str]:
    return [
        e["action_id"]
        for b in message.get("blocks", [])
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def text_of(message: dict) -> str:
    """The mrkdwn a reader sees: sections and context lines, a line each."""
    parts = []
    for block in message.get("blocks", []):
        parts.append((block.get("text") or {}).get("text", ""))
        parts += [e.get("text", "") for e in block.get("elements", []) if e["type"] == "mrkdwn"]
    return "\n".join(p for p in parts if p)


def test_manage_opens_on_the_messages_subscription_with_its_changes_and_the_others(slack, reply):
    """It listed every subscription of the member, whichever message it was on: the one
    the digest came from is shown, with Pause and Remove, the command that changes its time
    and the member's other subscriptions."""
    reply("subscribe lora daily at 09:00")
    reply("subscribe diffusion weekly on friday at 16:30")
    answer = manage(slack, digest_for(2))
    shown = text_of(answer)
    assert "*Managing* *#2* `diffusion`" in shown
    assert action_ids(answer) == ["manage_pause_2", "manage_remove_2"]
    typed = "/papers subscribe diffusion weekly on friday at 16:30"  # in their Slack zone
    assert f"`{typed}`" in shown
    assert "`/papers unsubscribe 2`" in shown
    assert "*Your other subscriptions*\n*#1* `lora`" in shown
    assert answer["replace_original"] is False  # the digest stays


def test_manage_buttons_pause_resume_and_remove_that_subscription_only(slack, reply, config):
    reply("subscribe lora daily at 09:00")
    reply("subscribe diffusion weekly on friday at 16:30")
    answer = manage(slack, digest_for(2))
    paused = manage(slack, answer | {"_ephemeral": "x"}, "manage_pause_2")
    assert paused["replace_original"] is True
    assert "_Paused._" in text_of(paused) and action_ids(paused)[0] == "manage_resume_2"
    db = connect(config.db_path)
    assert [s.status for s in subs.visible_to(db, slack.team_id, "U0LOCAL")] == [
        "active",
        "paused",
    ]
    resumed = manage(slack, paused | {"_ephemeral": "x"}, "manage_resume_2")
    assert "_Resumed._" in text_of(resumed) and "Next digest: Fri" in text_of(resumed)
    removed = manage(slack, resumed | {"_ephemeral": "x"}, "manage_remove_2")
    assert removed["text"].startswith("Removed *#2* `diffusion`")
    assert [s.id for s in subs.visible_to(db, slack.team_id, "U0LOCAL")] == [1]
    db.close()


def test_manage_on_a_digest_of_a_removed_subscription_says_it_is_gone(slack, reply):
    reply("subscribe lora daily at 09:00")
    reply("subscribe diffusion weekly")
    assert reply("unsubscribe 2")["text"].startswith("Removed")
    answer = manage(slack, digest_for(2))
    assert answer["text"].startswith("Subscription #2 is gone: it was removed")
    assert action_ids(answer) == []
    assert "*Your other subscriptions*\n*#1* `lora`" in text_of(answer)
    garbled = views.fit_digest([], "x", 2, True)[1] | {"blocks": [views._manage(2).to_dict()]}
    garbled["blocks"][0]["elements"][0]["value"] = "not a number"
    assert manage(slack, garbled)["text"].startswith("That subscription is gone")


def test_manage_of_another_members_subscription_shows_nothing_of_it(slack, config):
    """A button value naming another member's DM digest (forged) shows not its keywords."""
    db = connect(config.db_path)
    add_subscription(db, slack.team_id, "U0BOB", "U0BOB", kind="personal", keywords="secret")
    db.close()
    answer = manage(slack, digest_for(1))
    assert "secret" not in json.dumps(answer) and answer["text"].startswith("Subscription #1")


def test_manage_on_a_channel_digest_by_a_member_who_may_not_change_it(slack, config):
    """Another member of the channel (or of a partner workspace sharing it) sees the
    subscription, who set it up, and no buttons; a Pause forged for it changes nothing."""
    db = connect(config.db_path)
    add_subscription(db, slack.team_id, "U0LOCAL", "C0GENERAL", keywords="rlhf", now=NOW)
    db.close()
    for who in ({"user": "U0BOB"}, {"user": "U0PARTNER", "user_team": "T0PARTNER"}):
        answer = manage(slack, digest_for(1), channel="C0GENERAL", **who)
        assert "*Managing* *#1* `rlhf` → <#C0GENERAL>" in text_of(answer)
        assert action_ids(answer) == []
        assert "<@U0LOCAL> set it up" in text_of(answer)
    forged = {"blocks": [{"type": "actions", "elements": [
        {"type": "button", "action_id": "manage_remove_1", "value": "1",
         "text": {"type": "plain_text", "text": "Remove"}}]}]}  # fmt: skip
    manage(slack, forged, "manage_remove_1", channel="C0GENERAL", user="U0BOB")
    db = connect(config.db_path)
    assert [s.id for s in subs.visible_to(db, slack.team_id, "U0LOCAL")] == [1]
    db.close()


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param("lora weekdays at 8am", id="weekdays"),
        pytest.param('"attention at scale" weekly on tue at 16:30 Europe/Berlin', id="phrase"),
        pytest.param("lora OR qlora -survey daily at 07:15", id="syntax"),
        pytest.param("channel rlhf weekly", id="channel"),
        pytest.param("diffusion instant", id="alert"),
    ],
)
def test_the_command_manage_offers_changes_that_subscription(slack, reply, typed):
    """The subscribe line Manage shows, retyped with another time, moves the subscription
    the digest came from (it makes no second one)."""
    assert reply(f"subscribe {typed}")["text"].startswith("Subscribed")
    shown = text_of(manage(slack, digest_for(1), channel="C0GENERAL"))
    line = next(part for part in shown.split("`") if part.startswith("/papers subscribe"))
    line = line.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    again = reply(line.removeprefix("/papers "))["text"]
    assert again.startswith("You already have this subscription: *#1*"), again
    if "instant" not in typed:
        moved = reply(re.sub(r" at \d\d:\d\d", " at 11:45", line.removeprefix("/papers ")))
        assert "Updated the schedule of #1" in moved["text"], moved["text"]


def test_manage_under_a_home_preview_pauses_there(slack, reply):
    """On App Home (no response_url) Manage and its Pause answer where the preview was, and
    Home's own list shows the subscription paused."""
    from tests.bot.test_home import home, open_home, preview

    reply("subscribe channel weekly")
    shown = preview(slack, open_home(slack), "home_preview_1")
    slack.state.views.clear()
    slack.click(shown, "digest_manage", view=shown)
    managed = home(slack)
    assert "manage_pause_1" in action_ids(managed)
    slack.state.views.clear()
    slack.click(managed, "manage_pause_1", view=managed)
    after = home(slack)
    assert "_Paused._" in text_of(after)
    assert "home_resume_1" in action_ids(after) and "manage_resume_1" in action_ids(after)


def test_manage_on_enterprise_grid_where_the_user_names_the_organisation(slack, reply):
    """On Enterprise Grid a click's user.team_id is the organisation's id (E…), not the
    workspace's: the member's own digest is theirs to manage all the same."""
    reply("subscribe lora daily at 09:00")
    answer = manage(slack, digest_for(1), user_team="E0GRID")
    assert "*Managing* *#1* `lora`" in text_of(answer)
    assert action_ids(answer) == ["manage_pause_1", "manage_remove_1"]


def test_a_stale_pause_keeps_why_slack_paused_it(slack, reply, config):
    """Pause on a Manage reply older than Slack's refusal of the channel (the bot removed)
    replaced the reason, and asking for the subscription again no longer resumed it."""
    reply("subscribe channel weekly")
    answer = manage(slack, digest_for(1), channel="C0GENERAL")
    db = connect(config.db_path)
    subs.pause(db, 1, "Slack said not_in_channel")
    stale = manage(slack, answer | {"_ephemeral": "x"}, "manage_pause_1", channel="C0GENERAL")
    assert "_Already paused._" in text_of(stale)
    assert subs.by_id(db, 1).paused_reason == "Slack said not_in_channel"
    db.close()
    assert reply("subscribe channel weekly")["text"].startswith("Resumed")


@pytest.mark.parametrize(
    ("typed", "follows"),
    [
        pytest.param("lora daily at 09:00", True, id="slack-timezone"),
        pytest.param("lora daily at 09:00 Europe/Berlin", False, id="typed-timezone"),
    ],
)
def test_retyping_the_managed_line_keeps_following_the_slack_timezone(
    slack, reply, config, typed, follows
):
    """A digest set up without a timezone follows the member's Slack timezone. The line
    Manage offered named that zone, so retyping it (with another time, as it says) pinned
    the digest to it: it stopped following the member when they moved."""
    reply(f"subscribe {typed}")
    shown = text_of(manage(slack, digest_for(1), channel="C0GENERAL"))
    line = next(part for part in shown.split("`") if part.startswith("/papers subscribe"))
    assert line.endswith("at 09:00") == follows, line
    moved = reply(line.removeprefix("/papers ").replace("09:00", "07:30"))
    assert "Updated the schedule of #1" in moved["text"], moved["text"]
    db = connect(config.db_path)
    sub = subs.by_id(db, 1)
    assert (sub.at_time, bool(sub.slack_tz)) == ("07:30", follows)
    db.close()


def test_manage_past_ten_others_names_where_all_of_them_are(slack, reply, config):
    """Under the managed subscription, ten others and "…and 34 more." with nothing to open:
    that line names `/papers list`, and typed there it shows every one of them."""
    db = connect(config.db_path)
    for n in range(45):  # #general's digests, set up by as many members
        add_subscription(db, slack.team_id, f"U0M{n}", "C0GENERAL", keywords=f"topic{n}")
    db.close()
    answer = manage(slack, digest_for(1), channel="C0GENERAL")
    (more,) = [line for line in text_of(answer).split("\n") if "more" in line]
    assert more.startswith("…and 34 more") and "`/papers list`" in more
    pages = page_through_list(slack, reply("list", channel="C0GENERAL"))
    assert sorted(n for page in pages for n in listed_ids(page)) == list(range(1, 46))


def test_many_long_others_are_listed_whole_and_still_say_where_the_rest_are():
    # Keywords of `&<>` (five characters each once escaped) filled the section: it was cut
    # inside a code span, which stayed open, and the lines naming the rest were lost.
    from dataclasses import replace

    from tests.bot.test_markup import subscription

    others = [replace(subscription("&<>" * 62), id=n) for n in range(2, 27)]
    message = views.manage_message(subscription("lora"), None, NOW, True, others)
    section = text_of(message)[text_of(message).index("*Your other subscriptions*") :]
    assert section.count("`") % 2 == 0
    assert "`/papers list` shows them all" in section
    assert section.rstrip().endswith("App Home has Pause and Remove for each of yours.")


def test_manage_does_not_call_the_channels_subscriptions_of_others_yours(slack, config):
    """Bob, a member of #general, clicks Manage on its digest set up by another member: the
    channel's other digests (another's too) were listed as "Your other subscriptions", with
    "App Home has Pause and Remove for each of yours", where none of them is."""
    db = connect(config.db_path)
    add_subscription(db, slack.team_id, "U0LOCAL", "C0GENERAL", keywords="rlhf", now=NOW)
    add_subscription(db, slack.team_id, "U0LOCAL", "C0GENERAL", keywords="lora", now=NOW)
    db.close()
    shown = text_of(manage(slack, digest_for(1), channel="C0GENERAL", user="U0BOB"))
    assert "*This channel's other subscriptions*\n*#2* `lora`" in shown, shown
    assert "Your other" not in shown and "each of yours" not in shown
    db = connect(config.db_path)
    add_subscription(db, slack.team_id, "U0BOB", "U0BOB", kind="personal", keywords="moe")
    db.close()
    shown = text_of(manage(slack, digest_for(1), channel="C0GENERAL", user="U0BOB"))
    assert "*Your other subscriptions and this channel's*" in shown, shown
    assert "App Home has Pause and Remove for each of yours." in shown
    mine = text_of(manage(slack, digest_for(1), channel="C0GENERAL"))
    assert "*Your other subscriptions*\n*#2* `lora`" in mine
