"""App Home: subscriptions with Pause/Resume and Remove, last delivery, and a preview."""

from __future__ import annotations

import json

import pytest

from slackstub.limits import validate_blocks
from storage import connect, saved
from storage import subscriptions as subs
from tests.bot.conftest import wait_for
from tests.conftest import NOW, add_subscription


def home(slack, user: str = "U0LOCAL") -> dict:
    return wait_for(lambda: slack.state.views.get(user))


def test_home_lists_subscriptions_and_buttons_work(slack, reply, config):
    reply("subscribe lora daily at 09:00")
    reply("subscribe channel weekly")
    assert (
        slack.event({"type": "app_home_opened", "user": "U0LOCAL", "tab": "home"})["status"] == 200
    )
    view = home(slack)
    text = json.dumps(view, ensure_ascii=False)
    assert "`lora` → DM, daily at 09:00 America/New_York" in text
    assert "trending → <#C0GENERAL>, weekly on Monday" in text and "no delivery yet" in text
    slack.state.views.clear()
    slack.click(view, "home_pause_1", view=view)
    paused = home(slack)
    assert "_paused: paused from App Home_" in json.dumps(paused, ensure_ascii=False)
    db = connect(config.db_path)
    assert next(db.query("SELECT status FROM subscriptions WHERE id = 1"))["status"] == "paused"
    slack.state.views.clear()
    slack.click(paused, "home_resume_1", view=paused)
    resumed = home(slack)
    assert "paused" not in json.dumps(resumed["blocks"][1:4])
    slack.state.views.clear()
    slack.click(resumed, "home_remove_1", view=resumed)
    removed = home(slack)
    assert "lora" not in json.dumps(removed) and db["subscriptions"].count == 1


def open_home(slack, user: str = "U0LOCAL") -> dict:
    slack.state.views.clear()
    slack.event({"type": "app_home_opened", "user": user, "tab": "home"})
    return home(slack, user)


def preview(slack, view: dict, action_id: str) -> dict:
    slack.state.views.clear()
    slack.click(view, action_id, view=view)
    return home(slack)


def test_each_digest_subscription_has_its_own_preview(slack, reply):
    reply("subscribe channel weekly")
    reply("subscribe lora daily at 09:00")
    reply("subscribe diffusion instant")
    view = open_home(slack)
    ids = [e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [i for i in ids if i.startswith("home_preview")] == ["home_preview_1", "home_preview_2"]
    second = json.dumps(preview(slack, view, "home_preview_2"), ensure_ascii=False)
    assert "Preview of #2, not sent" in second and "Daily papers on “lora” · " in second
    first = json.dumps(preview(slack, view, "home_preview_1"), ensure_ascii=False)
    assert "Preview of #1, not sent" in first and "Weekly papers · " in first
    assert "digest_manage" in first


def test_preview_of_a_subscription_that_never_delivered_does_not_say_last_digest(slack, reply):
    reply("subscribe quantum daily at 09:00")  # nothing in the seeds matches
    view = open_home(slack)
    shown = json.dumps(preview(slack, view, "home_preview_1"), ensure_ascii=False)
    assert "nothing to show yet" in shown and "Its first digest" in shown
    assert "since your last digest" not in shown


def test_preview_with_nothing_new_says_no_digest_would_be_sent(slack, reply, config):
    """PAPERS_EMPTY_DIGEST=skip (the default) sends nothing when nothing is new; the
    preview showed the "nothing new since your last digest" note only `note` mode sends."""
    reply("subscribe quantum daily at 09:00")  # nothing in the seeds matches
    db = connect(config.db_path)
    db["subscriptions"].update(1, {"last_delivered_at": "2026-03-17T09:00:00+00:00"})
    view = open_home(slack)
    shown = json.dumps(preview(slack, view, "home_preview_1"), ensure_ascii=False)
    assert "Preview of #1, not sent" in shown
    assert "nothing new since your last digest, so no digest would be sent now" in shown


def test_home_for_a_new_user_invites_a_first_subscription(slack):
    slack.event({"type": "app_home_opened", "user": "U0NEW", "tab": "home"})
    assert "Nothing yet" in json.dumps(home(slack, "U0NEW"))


@pytest.mark.parametrize(
    ("who", "is_admin", "removed"),
    [
        pytest.param("U0OTHER", False, False, id="another-member-is-refused"),
        pytest.param("U0ADMIN", True, True, id="a-workspace-admin-may"),
        pytest.param("U0LOCAL", False, True, id="the-creator-may"),
    ],
)
def test_one_rule_for_removing_a_channel_subscription(slack, reply, config, who, is_admin, removed):
    """The creator or a workspace admin, in /papers unsubscribe and App Home alike."""
    slack.add_user("U0OTHER", "other")
    slack.add_user("U0ADMIN", "admin", is_admin=is_admin)
    reply("subscribe channel weekly")
    reply("subscribe channel transformers daily")
    db = connect(config.db_path)
    answer = reply("unsubscribe 1", user=who)["text"]
    assert ("Removed 1 subscription" in answer) is removed
    if not removed:
        assert "only they or a workspace admin can remove it" in answer
    slack.event({"type": "app_home_opened", "user": "U0LOCAL", "tab": "home"})
    view = home(slack)
    slack.state.views.clear()
    slack.click(view, "home_pause_2", user=who, view=view)
    home(slack, who)
    status = next(db.query("SELECT status FROM subscriptions WHERE id = 2"))["status"]
    assert status == ("paused" if removed else "active")
    slack.state.views.clear()
    slack.click(view, "home_remove_2", user=who, view=view)
    home(slack, who)
    left = {row["id"] for row in db.query("SELECT id FROM subscriptions")}
    assert left == (set() if removed else {1, 2})


@pytest.mark.parametrize("saved_count", [1, 10], ids=["one-saved", "ten-saved"])
def test_home_with_the_most_subscriptions_keeps_every_button_and_the_reading_list(
    slack, config, saved_count
):
    """A user at the subscription limit still sees Pause and Remove on each subscription,
    and the reading list below them, within App Home's 100 blocks."""
    db = connect(config.db_path)
    for n in range(subs.MAX_PER_USER):
        add_subscription(db, slack.team_id, "U0LOCAL", "U0LOCAL", kind="personal", keywords=f"w{n}")
    for paper_id in range(1, saved_count + 1):
        saved.save(db, slack.team_id, "U0LOCAL", paper_id, NOW)
    view = open_home(slack)
    assert validate_blocks(view["blocks"], surface="home") == []
    ids = {e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]}
    for sub_id in range(1, subs.MAX_PER_USER + 1):
        assert {f"home_pause_{sub_id}", f"home_remove_{sub_id}"} <= ids, sub_id
    text = json.dumps(view, ensure_ascii=False)
    assert "Your reading list" in text
    assert text.count("saved_remove_") == saved_count


@pytest.mark.parametrize(
    "reason",
    [
        pytest.param(None, id="paused-by-the-user"),
        pytest.param("Slack said is_archived", id="by-slack"),
    ],
)
def test_preview_of_a_paused_subscription_promises_no_delivery(slack, reply, config, reason):
    """A paused subscription gets nothing until it is resumed: its preview says so instead of
    naming a delivery time that will pass without a digest."""
    reply("subscribe lora daily at 09:00")
    if reason:
        subs.pause(connect(config.db_path), 1, reason)
    view = open_home(slack)
    if not reason:
        slack.state.views.clear()
        slack.click(view, "home_pause_1", view=view)
        view = home(slack)
    shown = preview(slack, view, "home_preview_1")["blocks"]
    note = next(b for b in shown if "Preview of" in json.dumps(b))["elements"][0]["text"]
    assert "Preview of #1, not sent" in note
    assert "paused" in note and "Resume" in note
    assert "digest:" not in note


@pytest.mark.parametrize("action", ["home_pause_1", "home_remove_1", "home_preview_1"])
def test_a_home_button_with_an_id_past_sqlites_range_changes_nothing(slack, reply, config, action):
    # Home was never re-rendered (an OverflowError from SQLite after the ack).
    reply("subscribe channel weekly")
    view = open_home(slack)
    for block in view["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action:
                element["value"] = "9" * 25
    slack.state.views.clear()
    slack.click(view, action, view=view)
    again = home(slack)
    assert "trending → <#C0GENERAL>, weekly on Monday" in json.dumps(again, ensure_ascii=False)
    rows = list(connect(config.db_path).query("SELECT id, status FROM subscriptions"))
    assert rows == [{"id": 1, "status": "active"}]


def test_manage_subscription_in_a_home_preview_answers_on_home(slack, reply):
    """App Home clicks carry no response_url: Manage under a preview used to answer nothing
    (a TypeError after the ack). It shows the previewed subscription where the preview was."""
    reply("subscribe channel weekly")
    shown = preview(slack, open_home(slack), "home_preview_1")
    slack.state.views.clear()
    slack.click(shown, "digest_manage", view=shown)
    managed = json.dumps(home(slack), ensure_ascii=False)
    assert "*Managing* *#1* trending" in managed and "`/papers unsubscribe 1`" in managed


@pytest.mark.parametrize(
    ("frequency", "period", "state", "detail", "shown"),
    [
        pytest.param(
            "instant", "alert:0-57", "sent", None, "last alert: Tue, Mar 17 at 04:00", id="alert"
        ),
        pytest.param(
            "daily", "2026-03-17", "sent", None, "last digest: Tue, Mar 17 at 04:00", id="digest"
        ),
        pytest.param(
            "daily",
            "2026-03-17",
            "skipped",
            "nothing new",
            "last digest skipped (nothing new): Tue, Mar 17 at 04:00",
            id="skipped",
        ),
    ],
)
def test_last_delivery_on_home_is_a_time_on_the_subscribers_clock(
    slack, config, frequency, period, state, detail, shown
):
    """Home showed the ledger's period as it is stored (`sent alert:0-57` for an alert) and
    never said why a digest was skipped; it shows when, in the subscription's timezone."""
    from storage import deliveries

    db = connect(config.db_path)
    sub = add_subscription(
        db,
        slack.team_id,
        "U0LOCAL",
        "U0LOCAL",
        "personal",
        frequency=frequency,
        tz="America/New_York",
        keywords="lora",
    )
    claim = deliveries.claim(db, sub.id, period, NOW)
    if state == "sent":
        deliveries.confirm(db, claim, "1.000001", NOW, None)
    else:
        deliveries.finish(db, claim, deliveries.State(state), detail, NOW, None)
    text = json.dumps(open_home(slack), ensure_ascii=False)
    assert f"{shown} America/New_York" in text
    assert period not in text


def test_pausing_the_previewed_subscription_updates_its_preview(slack, reply):
    """Pause used to take the preview away; it stays, saying no digest comes until Resume.
    Removing the subscription takes its preview with it."""
    reply("subscribe channel weekly")
    shown = preview(slack, open_home(slack), "home_preview_1")
    paused = preview(slack, shown, "home_pause_1")
    assert "It is paused: no digest until you Resume it" in json.dumps(paused)
    removed = preview(slack, paused, "home_remove_1")
    assert "Preview of" not in json.dumps(removed) and "private_metadata" not in removed


def test_a_preview_too_long_for_a_full_home_shows_whole_papers_and_says_so(slack, config):
    """At 25 subscriptions and 10 saved papers, 11 blocks are left for a preview: it was
    cut there without a word, dropping papers and the Manage button unseen."""
    db = connect(config.db_path)
    for n in range(subs.MAX_PER_USER - 1):
        add_subscription(db, slack.team_id, "U0LOCAL", "U0LOCAL", kind="personal", keywords=f"w{n}")
    trending = add_subscription(db, slack.team_id, "U0LOCAL", "C0GENERAL", frequency="weekly")
    for paper_id in range(1, 11):
        saved.save(db, slack.team_id, "U0LOCAL", paper_id, NOW)
    shown = preview(slack, open_home(slack), f"home_preview_{trending.id}")
    assert validate_blocks(shown["blocks"], surface="home") == []
    blocks = shown["blocks"]
    start = next(i for i, b in enumerate(blocks) if "Preview of" in json.dumps(b))
    end = blocks.index(next(b for b in blocks[start:] if b["type"] == "divider"))
    part = blocks[start:end]
    assert "does not fit on App Home" in json.dumps(part[-1])
    papers = [i for i, b in enumerate(part) if b["type"] == "section"]
    assert papers, part
    for i in papers:  # each paper whole: its facts and its buttons
        assert [b["type"] for b in part[i : i + 3]] == ["section", "context", "actions"]


def test_a_preview_is_dated_as_the_digest_it_previews(slack, reply):
    """A weekly digest previewed on another day was headed with today's date, a date the
    digest it previews never carries (the note below said when it comes)."""
    from datetime import UTC, datetime

    from storage.schedule import WEEKDAYS

    day = WEEKDAYS[(datetime.now(UTC).weekday() + 3) % 7]
    reply(f"subscribe channel weekly on {day} at 09:00 UTC")
    shown = json.dumps(preview(slack, open_home(slack), "home_preview_1"), ensure_ascii=False)
    note = shown[shown.index("Its first digest: ") :]
    due = note.removeprefix("Its first digest: ").split(" at ")[0]  # "Fri, Nov 27"
    assert f"Weekly papers · {due}" in shown, (due, shown)


def test_remove_on_app_home_asks_before_it_takes_a_subscription_away(slack, reply):
    """Remove sat next to Pause and removed at the first click, deliveries' history and all;
    Slack shows a button's `confirm` dialog before it sends the click."""
    reply("subscribe lora weekly on friday at 16:30")
    view = open_home(slack)
    button = next(
        e
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "home_remove_1"
    )
    confirm = button["confirm"]
    assert confirm["title"]["text"] == "Remove #1?"
    assert "weekly on Friday at 16:30" in confirm["text"]["text"]
    assert (confirm["confirm"]["text"], confirm["deny"]["text"]) == ("Remove", "Keep it")
    assert validate_blocks(view["blocks"], surface="home") == []


@pytest.mark.parametrize(
    ("second", "removal"),
    [
        pytest.param("subscribe diffusion daily", "unsubscribe 2", id="keyword-subscription"),
        pytest.param("follow Edward J. Hu", "unfollow Edward J. Hu", id="author-follow"),
    ],
)
def test_a_removed_subscriptions_number_is_never_given_again(slack, reply, config, second, removal):
    """SQLite gives the highest id again once its row is deleted: a Home view still showing
    the removed #2 removed the next subscription made instead, and `#2` in old replies
    named it."""
    reply("subscribe lora daily")
    reply(second)
    stale = open_home(slack)
    reply(removal)
    assert connect(config.db_path)["subscriptions"].count == 1
    made = reply("subscribe rlhf daily")["text"]
    assert "#3" in made
    slack.state.views.clear()
    slack.click(stale, "home_remove_2", view=stale)
    home(slack)
    keywords = [
        r["keywords"] for r in connect(config.db_path).query("SELECT keywords FROM subscriptions")
    ]
    assert keywords == ["lora", "rlhf"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param("subscribe lora instant", "#1 is an instant alert now", id="made-an-alert"),
        pytest.param("unsubscribe lora", "That subscription is gone", id="removed"),
    ],
)
def test_preview_on_a_home_from_before_a_change_says_what_changed(slack, reply, change, expected):
    """Preview on a Home rendered while #1 was a daily digest, clicked after the user made it
    an instant alert (`/papers subscribe lora instant` changes #1), said "That subscription
    is gone" under #1, listed right above it as instant alerts."""
    reply("subscribe lora daily")
    view = open_home(slack)
    reply(change)
    shown = preview(slack, view, "home_preview_1")
    text = json.dumps(shown["blocks"], ensure_ascii=False)
    assert expected in text
    if change.endswith("instant"):
        assert "*#1* `lora` → DM, instant alerts" in text and "gone" not in text
    assert validate_blocks(shown["blocks"], surface="home") == []


def test_a_stale_pause_on_home_keeps_why_slack_paused_it(slack, reply, config):
    """Home still showed Pause after the worker paused the channel's digest (Slack said
    not_in_channel); pressing it replaced the reason with "paused from App Home", so after
    `/invite @papers` asking for the digest again no longer resumed it."""
    reply("subscribe channel weekly")
    view = open_home(slack)
    db = connect(config.db_path)
    subs.pause(db, 1, "Slack said not_in_channel")
    slack.state.views.clear()
    slack.click(view, "home_pause_1", view=view)
    home(slack)
    assert subs.by_id(db, 1).paused_reason == "Slack said not_in_channel"
    db.close()
    assert reply("subscribe channel weekly")["text"].startswith("Resumed")


def _after_buttons_of(view: dict, sub_id: int) -> list[dict]:
    """The blocks between a subscription's buttons and the next subscription (or the
    divider before the reading list)."""
    blocks = view["blocks"]
    start = next(
        i + 1
        for i, b in enumerate(blocks)
        if b["type"] == "actions"
        and any(e["action_id"] == f"home_remove_{sub_id}" for e in b["elements"])
    )
    rest = blocks[start:]
    ends = [
        i
        for i, b in enumerate(rest)
        if b["type"] == "divider" or (b["type"] == "section" and b["text"]["text"].startswith("*#"))
    ]
    return rest[: ends[0] if ends else len(rest)]


def test_a_reply_to_a_click_in_a_preview_shows_where_the_preview_was(slack, reply, config):
    """Manage or More like this under #1's preview: the preview went and the reply came at
    the very end, past the other subscriptions and the reading list, out of sight."""
    reply("subscribe channel weekly")
    reply("subscribe lora daily at 09:00")
    db = connect(config.db_path)
    for paper_id in range(1, 11):
        saved.save(db, slack.team_id, "U0LOCAL", paper_id, NOW)
    shown = preview(slack, open_home(slack), "home_preview_1")
    managed = preview(slack, shown, "digest_manage")
    under = json.dumps(_after_buttons_of(managed, 1), ensure_ascii=False)
    assert "*Managing* *#1* trending" in under
    paused = preview(slack, managed, "manage_pause_1")  # a click in the reply: there too
    assert "Paused." in json.dumps(_after_buttons_of(paused, 1), ensure_ascii=False)
    shown = preview(slack, managed, "home_preview_1")
    paper = next(
        e["value"]
        for b in shown["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"].startswith("more_like_")
    )
    similar = preview(slack, shown, f"more_like_{paper}")
    assert "*More like*" in json.dumps(_after_buttons_of(similar, 1), ensure_ascii=False)
    # A change made on Home (Pause on #2) keeps the reply, and where it is.
    paused = preview(slack, similar, "home_pause_2")
    assert "*More like*" in json.dumps(_after_buttons_of(paused, 1), ensure_ascii=False)
    assert validate_blocks(paused["blocks"], surface="home") == []


def test_a_preview_after_a_missed_digest_is_headed_with_the_days_it_covers(slack, config):
    """Wednesday's digest was missed (the worker down past grace), so Thursday's holds
    Wednesday's papers too, headed "Wed, Mar 18 – Thu, Mar 19"; its preview on Home, under
    the line that says the missed one's papers come in the next digest, was headed with
    Thursday alone."""
    from datetime import UTC, datetime

    import time_machine

    from jobs.delivery import deliver_due
    from jobs.slack import client_factory

    db = connect(config.db_path)
    monday = datetime(2026, 3, 16, 10, tzinfo=UTC)
    add_subscription(db, slack.team_id, "U0LOCAL", "U0LOCAL", "personal", now=monday)
    clients = client_factory(config)
    deliver_due(db, config, clients, datetime(2026, 3, 17, 9, tzinfo=UTC))
    deliver_due(db, config, clients, datetime(2026, 3, 18, 14, tzinfo=UTC))  # missed
    with time_machine.travel(datetime(2026, 3, 19, 8, tzinfo=UTC), tick=True):
        shown = json.dumps(preview(slack, open_home(slack), "home_preview_1"), ensure_ascii=False)
    assert "missed by 300 min (grace 180 min); its papers come in the next digest" in shown
    assert "Daily papers · Wed, Mar 18 – Thu, Mar 19" in shown


@pytest.mark.parametrize("verb", ["pause", "resume"])
def test_pause_on_a_home_from_before_a_removal_says_it_is_gone(slack, reply, verb):
    """Pause (or Resume) on a Home still showing #2, removed meanwhile (`/papers
    unsubscribe`, or a workspace admin): #2 just vanished, with no word of why the click
    did nothing; as Preview and Manage do, Home says it is gone."""
    reply("subscribe lora daily")
    reply("subscribe diffusion daily")
    if verb == "resume":
        reply("pause 2")
    stale = open_home(slack)
    reply("unsubscribe 2")
    shown = preview(slack, stale, f"home_{verb}_2")
    text = json.dumps(shown["blocks"], ensure_ascii=False)
    assert f"#2 is gone: it was removed, so there is nothing to {verb}" in text
    assert "*#1* `lora`" in text and "diffusion" not in text


def test_a_preview_of_a_digest_owed_right_away_says_so(slack, reply):
    """Moved from 10:00 to 09:00 at 09:30, today's digest is owed right away (Manage says
    "today's, right away"); its Preview said "Its first digest: … at 09:30", the moment
    of the change, a time already past when read, and no time the digest was set for."""
    from datetime import UTC, datetime

    import time_machine

    with time_machine.travel(datetime(2026, 3, 17, 13, 30, tzinfo=UTC), tick=True):
        reply("subscribe lora daily at 10:00")  # 09:30 in New York
        reply("subscribe lora daily at 09:00")
        shown = json.dumps(preview(slack, open_home(slack), "home_preview_1"), ensure_ascii=False)
    assert "Preview of #1, not sent. Its first digest: today's, right away." in shown, shown
    assert "at 09:30" not in shown


def test_resume_on_home_says_when_the_next_digest_comes(slack, reply):
    """Resume on App Home showed the digest active again and no word of when it comes (a
    long pause moves it past the slots missed meanwhile), while Manage's Resume and
    `/papers resume` say it: Home says it too, on each digest's line, as Manage does."""
    from datetime import UTC, datetime

    import time_machine

    from tests.bot.test_manage import digest_for, manage, text_of

    with time_machine.travel(datetime(2026, 3, 17, 13, 30, tzinfo=UTC), tick=True):
        reply("subscribe lora weekly on friday at 16:30")
        paused = preview(slack, open_home(slack), "home_pause_1")
        assert "Next digest" not in json.dumps(paused)  # paused: none comes
        resumed = json.dumps(preview(slack, paused, "home_resume_1"), ensure_ascii=False)
        managed = text_of(manage(slack, digest_for(1)))
    due = "Next digest: Fri, Mar 20 at 16:30 America/New_York."
    assert f"no delivery yet. {due}" in resumed and due in managed
