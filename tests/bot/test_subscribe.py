"""Subscription phrases as people type them: timezones, abbreviations, re-subscribing, and a
signed subscribe that really delivers at the time it names."""

from __future__ import annotations

import json
import re
import zoneinfo
from datetime import UTC, datetime

import pytest
import time_machine

from bot.commands import parse_subscribe
from jobs.delivery import deliver_due
from jobs.slack import client_factory
from storage import connect
from storage import subscriptions as subs
from storage.errors import SubscriptionError
from tests.bot.conftest import wait_for


def said(message: dict) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


@pytest.mark.parametrize(
    ("text", "keywords", "at", "tz"),
    [
        pytest.param("channel daily at 09:00 UTC", "", "09:00", "UTC", id="utc"),
        pytest.param("channel daily at 09:00 utc", "", "09:00", "UTC", id="utc-lower"),
        pytest.param("channel daily at 9 GMT", "", "09:00", "GMT", id="gmt"),
        pytest.param("lora at 7:15 Etc/UTC", "lora", "07:15", "Etc/UTC", id="etc-utc"),
        pytest.param("lora at 7 Etc/GMT-2 weekly", "lora", "07:00", "Etc/GMT-2", id="etc-offset"),
        pytest.param("lora at 8 daily UTC", "lora", "08:00", "UTC", id="zone-later"),
        pytest.param(
            "lora at 8 on friday Europe/Berlin", "lora", "08:00", "Europe/Berlin", id="end"
        ),
        pytest.param("lora at 8 europe/berlin", "lora", "08:00", "Europe/Berlin", id="any-case"),
        pytest.param("lora at 8 diffusion", "lora diffusion", "08:00", None, id="keyword-after"),
        pytest.param("llama 3 daily", "llama 3", "09:00", None, id="bare-number-is-keyword"),
        pytest.param('"UTC" at 8', '"UTC"', "08:00", None, id="quoted-is-keyword"),
    ],
)
def test_timezone_anywhere_after_the_time(text, keywords, at, tz):
    request = parse_subscribe(text.split())
    assert (request.keywords, request.at_time, request.tz) == (keywords, at, tz)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("channel at 09:00 CET", "`Europe/Paris`, `Europe/Berlin`", id="cet"),
        pytest.param("lora at 9 PST", "`America/Los_Angeles`", id="pst"),
        pytest.param("lora at 9 est", "`America/New_York`", id="est-lower"),
        pytest.param("lora at 9 pst.", "`America/Los_Angeles`", id="abbreviation-full-stop"),
        pytest.param("lora at 9 CET!", "`Europe/Paris`", id="abbreviation-exclamation"),
        pytest.param("lora at 9 UTC+2", "`Etc/GMT-2`", id="offset"),
        pytest.param("lora at 9 GMT+5:30", "`Asia/Kolkata`", id="half-hour-offset"),
        pytest.param("lora at 9 UTC+0545", "`Asia/Kathmandu`", id="offset-digits"),
        pytest.param("lora at 9 +02:00", "`Etc/GMT-2`", id="iso-offset"),
        pytest.param("channel daily UTC", "Did you mean the timezone UTC?", id="utc-as-keyword"),
        pytest.param(
            "lora Europe/Berlin at 9", "Did you mean the timezone Europe/Berlin?", id="iana"
        ),
        pytest.param("lora CET", "`Europe/Paris`", id="abbreviation-as-keyword"),
        pytest.param("lora daily 10:30", "Did you mean `at 10:30`?", id="time-as-keyword"),
        pytest.param("lora 9am", "Did you mean `at 9am`?", id="9am-as-keyword"),
        pytest.param(
            "lora at 9 America/Argentina",
            "`America/Argentina/Buenos_Aires`",
            id="region-not-zone",
        ),
        pytest.param("lora at 9 Europe/Berlni", "did you mean `Europe/Berlin`", id="typo-zone"),
    ],
)
def test_zone_like_words_get_a_helpful_question(text, expected):
    with pytest.raises(SubscriptionError) as raised:
        parse_subscribe(text.split())
    assert expected in str(raised.value)


@pytest.mark.parametrize(
    ("text", "at", "tz"),
    [
        pytest.param("lora daily at 9:30 pm", "21:30", None, id="pm-word"),
        pytest.param("lora at 9 PM", "21:00", None, id="pm-capitals"),
        pytest.param("lora at 9:30 p.m. Europe/London", "21:30", "Europe/London", id="p.m."),
        pytest.param("lora at 12 am UTC", "00:00", "UTC", id="midnight"),
        pytest.param("lora at noon", "12:00", None, id="noon"),
        pytest.param("lora at 0930", "09:30", None, id="four-digits"),
        pytest.param("lora at 2115 UTC", "21:15", "UTC", id="four-digits-evening"),
        pytest.param("lora at Midnight UTC", "00:00", "UTC", id="midnight-word"),
    ],
)
def test_am_or_pm_typed_apart_from_the_time_sets_the_half_of_the_day(text, at, tz):
    """`at 9:30 pm` is 21:30: the `pm` was read as a keyword, so the digest came at 09:30
    and matched only papers naming "pm"."""
    request = parse_subscribe(text.split())
    assert (request.keywords, request.at_time, request.tz) == ("lora", at, tz)


@pytest.mark.parametrize(
    ("text", "frequency", "weekday", "at"),
    [
        pytest.param("lora every day at 8", "daily", 0, "08:00", id="every-day"),
        pytest.param("lora every week", "weekly", 0, "09:00", id="every-week"),
        pytest.param("lora every weekday", "weekdays", 0, "09:00", id="every-weekday"),
        pytest.param("lora weekday at 9", "weekdays", 0, "09:00", id="weekday"),
        pytest.param("lora workdays", "weekdays", 0, "09:00", id="workdays"),
        pytest.param("lora every Friday at 16:00", "weekly", 4, "16:00", id="every-friday"),
    ],
)
def test_every_day_week_or_weekday_is_a_schedule(text, frequency, weekday, at):
    """`every day` was the keywords `every day`: a daily digest of papers saying "every"."""
    request = parse_subscribe(text.split())
    assert (request.keywords, str(request.frequency), request.weekday, request.at_time) == (
        "lora",
        frequency,
        weekday,
        at,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("lora at 9 london", "the timezone `Europe/London`", id="city-lower"),
        pytest.param("lora at 9 london.", "the timezone `Europe/London`", id="city-full-stop"),
        pytest.param("lora at 9 london?", "the timezone `Europe/London`", id="city-question"),
        pytest.param("lora at 21:00 London", "`at 21:00 Europe/London`", id="city"),
        pytest.param("lora at 9am new_york", "`America/New_York`", id="city-underscore"),
        pytest.param("lora at", "Say the time after `at`", id="at-without-time"),
        pytest.param("lora on", "Say the day after `on`", id="on-without-day"),
        pytest.param("attention at scale", '`"attention at scale"`', id="at-a-word"),
        pytest.param('"attention at scale', '`"attention at scale"`', id="unclosed-quote"),
        pytest.param("lora weekly friday at 9", "Did you mean `on friday`?", id="day-without-on"),
        pytest.param("lora on monday and Fridays", "`on friday`", id="second-day"),
        pytest.param("lora monthly", "`monthly` is not a schedule I keep", id="monthly"),
        pytest.param("lora Hourly", "choose `daily`, `weekdays`, `weekly`", id="hourly"),
        pytest.param("lora every 2 days", "`every 2` is not a schedule I keep", id="every-2"),
        pytest.param("lora every", "Say how often after `every`", id="every-alone"),
    ],
)
def test_half_typed_schedules_are_asked_about_not_made_keywords(text, expected):
    """A city instead of its IANA zone, `at`/`on` with nothing after, or a weekday without
    `on`, became keywords (`lora london` in your own timezone, `lora at`, `lora friday`
    weekly on Monday): now the reply says what to type."""
    with pytest.raises(SubscriptionError) as raised:
        parse_subscribe(text.split())
    assert expected in str(raised.value)


@pytest.mark.parametrize(
    ("text", "zones"),
    [
        pytest.param("lora daily at 9 londn", "`Europe/London`", id="daily"),
        pytest.param("lora daily at 9 londn.", "`Europe/London`", id="full-stop"),
        pytest.param("lora at 9:30 berln", "`Europe/Berlin`", id="hh-mm"),
        pytest.param("lora at 9am Tokio", "`Asia/Tokyo`", id="9am-capitalised"),
        pytest.param("lora at 9 pm sydeny", "`Australia/Sydney`", id="pm-word-swap"),
        pytest.param("lora at 9 newyork", "`America/New_York`", id="city-without-underscore"),
        pytest.param("lora weekly on monday at 9 londn", "`Europe/London`", id="weekly"),
        pytest.param("channel daily at 9 londn", "`Europe/London`", id="channel"),
    ],
)
def test_a_misspelled_timezone_after_the_time_is_asked_about(text, zones):
    """`at 9 londn` made the keywords `lora londn`, delivered at 9 in the user's own zone;
    now the reply names the zone meant, and nothing is made."""
    with pytest.raises(SubscriptionError) as raised:
        parse_subscribe(text.split())
    word = text.split()[-1].rstrip(".")  # a sentence's full stop is no part of it
    assert f"I don't know the timezone `{word}`. Did you mean {zones}?" in str(raised.value)
    assert f'quote it: `"{word}"`' in str(raised.value)


def test_a_misspelled_timezone_through_slack_creates_nothing(reply):
    answer = said(reply("subscribe lora daily at 9 londn"))
    assert "I don't know the timezone `londn`. Did you mean `Europe/London`?" in answer
    assert "No subscriptions yet" in said(reply("list"))


@pytest.mark.parametrize(
    ("text", "described"),
    [
        # One slip from a city (Recife, Rome, Paris, Chita), but words papers use.
        pytest.param("lora at 9 recipe", "`lora recipe`", id="recipe-near-recife"),
        pytest.param("lora at 9 role", "`lora role`", id="role-near-rome"),
        pytest.param("lora at 9 pairs", "`lora pairs`", id="pairs-near-paris"),
        pytest.param("lora daily at 9 china", "`lora china`", id="china-near-chita"),
        pytest.param('lora at 9 "londn"', '`lora "londn"`', id="quoted-is-a-keyword"),
    ],
)
def test_words_papers_use_after_the_time_stay_keywords(reply, text, described):
    """A keyword may follow the time (`lora at 8 diffusion`): one that papers use is no
    misspelled city, however close to one it is spelled."""
    answer = reply(f"subscribe {text}")["blocks"][0]["text"]["text"]
    assert answer.startswith(f"Subscribed: *#1* {described} → DM, daily at 09:00"), answer


def test_pm_after_the_time_through_slack_lists_the_evening_digest(reply):
    answer = said(reply("subscribe lora daily at 9:30 pm Europe/London"))
    assert "`lora` → DM, daily at 21:30 Europe/London" in answer
    assert "at 21:30 Europe/London" in said(reply("list")) and "pm" not in said(reply("list"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("#ml-papers daily", "`#ml-papers` names a channel", id="channel-name"),
        pytest.param("channel #general weekly", "set up in the channel itself", id="other-channel"),
        pytest.param("<#C0GENERAL|general> daily", "names a channel", id="escaped-channel"),
        pytest.param("@bob lora", "`@bob` names a person", id="person"),
    ],
)
def test_a_channel_or_person_named_in_subscribe_is_asked_about(text, expected):
    """`/papers subscribe #ml-papers daily` made a DM digest of papers matching the word
    `ml-papers` (and `channel #general` a digest of the word here, not in #general)."""
    with pytest.raises(SubscriptionError) as raised:
        parse_subscribe(text.split())
    assert expected in str(raised.value)


@pytest.fixture(params=["system", "tzdata"])
def tz_source(request):
    """Zones from the OS files, or from the tzdata wheel only (as on a slim image)."""
    if request.param == "tzdata":
        zoneinfo.reset_tzpath(to=[])
    yield request.param
    zoneinfo.reset_tzpath()


def test_incomplete_zone_names_the_zones_inside_it(reply, tz_source):
    answer = said(reply("subscribe lora at 9 America/Argentina"))
    assert "is a region, not a timezone" in answer and "America/Argentina/Cordoba" in answer
    assert "Something went wrong" not in answer


@pytest.mark.parametrize("selector", ["²", "#٣", "¹²"], ids=["superscript", "arabic", "two"])
def test_unsubscribe_with_a_non_ascii_digit_is_a_clear_reply(reply, selector):
    answer = said(reply(f"unsubscribe {selector}"))
    assert "is not a subscription number" in answer and "/papers list" in answer


def test_cet_gets_a_reply_naming_iana_zones(reply):
    answer = said(reply("subscribe channel daily at 09:00 CET"))
    assert "`Europe/Paris`" in answer and "No subscriptions yet" in said(reply("list"))


def test_resubscribing_with_a_new_time_changes_the_time(reply, config):
    reply("subscribe channel daily at 09:00 Europe/Berlin")
    changed = said(reply("subscribe channel daily at 10:30 Europe/Berlin"))
    assert "Updated the schedule of #1" in changed
    assert "daily at 09:00 Europe/Berlin → daily at 10:30 Europe/Berlin" in changed
    rows = list(connect(config.db_path).query("SELECT at_time, tz, next_due_at FROM subscriptions"))
    assert len(rows) == 1 and rows[0]["at_time"] == "10:30" and rows[0]["tz"] == "Europe/Berlin"
    assert datetime.fromisoformat(rows[0]["next_due_at"]).astimezone(UTC).strftime("%M") == "30"
    same = said(reply("subscribe channel daily at 10:30 Europe/Berlin"))
    assert "You already have this subscription" in same
    weekly = said(reply("subscribe channel weekly on friday at 10:30 Europe/Berlin"))
    assert "→ weekly on Friday at 10:30 Europe/Berlin" in weekly


@pytest.mark.parametrize(
    ("first", "second", "count"),
    [
        pytest.param("LoRA daily", "lora weekly", 1, id="case-aside-the-same"),
        pytest.param(
            "“scaling laws” daily", '"scaling laws" weekly', 1, id="quotes-aside-the-same"
        ),
        pytest.param("lora or qlora daily", "lora OR qlora daily", 2, id="or-word-is-not-or"),
        # `AND` is the conjunction the words have anyway, as on arXiv or Google Scholar.
        pytest.param("lora qlora daily", "lora AND qlora weekly", 1, id="and-is-no-word"),
        pytest.param("lora AND qlora daily", "lora qlora AND weekly", 1, id="and-at-the-end"),
        pytest.param("lora -survey daily", "lora NOT survey weekly", 1, id="not-is-minus"),
        pytest.param(
            '"lora AND qlora" daily', '"lora and qlora" weekly', 1, id="and-in-a-phrase-any-case"
        ),
        pytest.param("lora qlora daily", '"lora AND qlora" daily', 2, id="quoted-and-is-a-phrase"),
        pytest.param("lora qlora daily", "lora and qlora daily", 2, id="and-word-is-not-and"),
        pytest.param("lora,qlora x daily", "lora,qlora AND x weekly", 1, id="comma-and"),
        pytest.param("lora,qlora x daily", "lora qlora x weekly", 1, id="comma-is-a-space"),
    ],
)
def test_resubscribing_to_the_same_keywords_but_not_another_query(
    reply, config, first, second, count
):
    """`LoRA` and `lora` are one subscription (the second changes its schedule), and so are
    `lora AND qlora` and `lora qlora` (a second one sent every digest twice), but
    `lora OR qlora` is another search than the three words `lora or qlora`."""
    reply(f"subscribe {first}")
    reply(f"subscribe {second}")
    rows = list(connect(config.db_path).query("SELECT keywords FROM subscriptions"))
    assert len(rows) == count, rows


@pytest.mark.parametrize(
    ("made", "removal"),
    [
        pytest.param("lora qlora", "lora AND qlora", id="and-typed-to-remove"),
        pytest.param("lora AND qlora", "lora qlora", id="and-typed-to-subscribe"),
        pytest.param("lora -survey", "lora NOT survey", id="not-typed-to-remove"),
    ],
)
def test_unsubscribe_with_and_or_not_removes_the_same_search(reply, made, removal):
    """`AND` and `NOT` are operators: `unsubscribe lora AND qlora` removes `lora qlora`
    (it said "No subscription of yours matches")."""
    reply(f"subscribe {made}")
    answer = said(reply(f"unsubscribe {removal}"))
    assert "Removed 1 subscription" in answer and "No subscriptions yet" in said(reply("list"))


def test_signed_subscribe_at_utc_time_delivers_a_digest_at_that_time(slack, reply, config):
    # The seeds are listed on 2026-03-17: the command is typed at 07:00 UTC that day (the
    # stand-in's user is in New York, so a zone that were ignored would show).
    with time_machine.travel(datetime(2026, 3, 17, 7, 0, tzinfo=UTC), tick=True):
        created = said(reply("subscribe channel daily at 07:45 UTC"))
    assert "trending → <#C0GENERAL>, daily at 07:45 UTC" in created
    db = connect(config.db_path)
    early = deliver_due(
        db, config, client_factory(config), datetime(2026, 3, 17, 7, 44, tzinfo=UTC)
    )
    assert sum(early.values()) == 0 and slack.messages("C0GENERAL") == []
    deliver_due(db, config, client_factory(config), datetime(2026, 3, 17, 7, 45, tzinfo=UTC))
    posted = wait_for(lambda: slack.messages("C0GENERAL"))
    assert len(posted) == 1
    assert posted[0]["blocks"][0]["text"]["text"] == "Daily papers · Tue, Mar 17"
    assert posted[0]["text"].endswith(": 5 papers") and "UTC" not in posted[0]["text"]
    nxt = next(db.query("SELECT next_due_at FROM subscriptions"))["next_due_at"]
    assert nxt == "2026-03-18T07:45:00+00:00"


def test_moving_a_weekly_digest_after_this_weeks_says_when_the_next_one_comes(slack, reply, config):
    """Monday's digest was delivered, then the user moves it to Wednesday: this week is done,
    so the next one comes in nine days, and the reply says so (it said nothing, and the
    schedule named a Wednesday that would be skipped)."""
    monday = datetime(2026, 3, 16, 7, 0, tzinfo=UTC)
    with time_machine.travel(monday, tick=True):
        created = said(reply("subscribe channel weekly on monday at 08:00 UTC"))
    assert "Next digest: Mon, Mar 16 at 08:00 UTC." in created
    db = connect(config.db_path)
    deliver_due(db, config, client_factory(config), monday.replace(hour=8))
    assert len(wait_for(lambda: slack.messages("C0GENERAL"))) == 1
    with time_machine.travel(monday.replace(hour=9), tick=True):
        moved = said(reply("subscribe channel weekly on wednesday at 08:00 UTC"))
    assert "weekly on Monday at 08:00 UTC → weekly on Wednesday at 08:00 UTC" in moved
    assert "Next digest: Wed, Mar 25 at 08:00 UTC." in moved
    nxt = next(db.query("SELECT next_due_at FROM subscriptions"))["next_due_at"]
    assert nxt == "2026-03-25T08:00:00+00:00"


def test_weekly_to_daily_after_todays_weekly_digest_sends_no_second_one_today(slack, reply, config):
    """Tuesday's weekly digest went out at 08:00; at 09:00 the channel moves to a daily one at
    10:00. A daily digest at 10:00 would be the second of the day: the first daily one comes
    tomorrow, and the reply says so."""
    tuesday = datetime(2026, 3, 17, 7, 0, tzinfo=UTC)
    with time_machine.travel(tuesday, tick=True):
        reply("subscribe channel weekly on tuesday at 08:00 UTC")
    db = connect(config.db_path)
    deliver_due(db, config, client_factory(config), tuesday.replace(hour=8))
    assert len(wait_for(lambda: slack.messages("C0GENERAL"))) == 1
    with time_machine.travel(tuesday.replace(hour=9), tick=True):
        moved = said(reply("subscribe channel daily at 10:00 UTC"))
    assert "weekly on Tuesday at 08:00 UTC → daily at 10:00 UTC" in moved
    assert "Next digest: Wed, Mar 18 at 10:00 UTC." in moved
    outcomes = deliver_due(db, config, client_factory(config), tuesday.replace(hour=10))
    assert sum(outcomes.values()) == 0
    assert len(slack.messages("C0GENERAL")) == 1


def test_daily_to_weekly_on_today_after_todays_daily_digest_waits_a_week(slack, reply, config):
    """The other way round: today's daily digest went out, and a weekly one for today at a
    later hour would be a second digest today; it comes next week."""
    tuesday = datetime(2026, 3, 17, 7, 0, tzinfo=UTC)
    with time_machine.travel(tuesday, tick=True):
        reply("subscribe channel daily at 08:00 UTC")
    db = connect(config.db_path)
    deliver_due(db, config, client_factory(config), tuesday.replace(hour=8))
    assert len(wait_for(lambda: slack.messages("C0GENERAL"))) == 1
    with time_machine.travel(tuesday.replace(hour=9), tick=True):
        moved = said(reply("subscribe channel weekly on tuesday at 10:00 UTC"))
    assert "Next digest: Tue, Mar 24 at 10:00 UTC." in moved


@pytest.mark.parametrize(
    ("typed_at", "new_time", "heading_day"),
    [
        pytest.param(8, "08:00", "Tue, Mar 17", id="new-time-passed-within-grace"),
        pytest.param(8, "01:00", "Tue, Mar 17", id="new-time-passed-beyond-grace"),
    ],
)
def test_moving_a_daily_digest_earlier_before_todays_keeps_todays(
    slack, reply, config, typed_at, new_time, heading_day
):
    """09:00 → an earlier time at 08:30, before today's 09:00 digest: the new time has passed
    today, yet today's digest is still owed. It comes right away, the reply says so, and
    tomorrow's comes at the new time. (It used to be skipped: the next one was tomorrow's.)"""
    day = datetime(2026, 3, 17, 6, 0, tzinfo=UTC)
    with time_machine.travel(day, tick=True):
        reply("subscribe channel daily at 09:00 UTC")
    typed = day.replace(hour=typed_at, minute=30)
    with time_machine.travel(typed, tick=True):
        moved = said(reply(f"subscribe channel daily at {new_time} UTC"))
    assert f"daily at 09:00 UTC → daily at {new_time} UTC" in moved
    assert "Next digest: today's, right away." in moved
    db = connect(config.db_path)
    deliver_due(db, config, client_factory(config), typed.replace(minute=31))
    posted = wait_for(lambda: slack.messages("C0GENERAL"))
    assert len(posted) == 1
    assert posted[0]["blocks"][0]["text"]["text"] == f"Daily papers · {heading_day}"
    nxt = next(db.query("SELECT next_due_at FROM subscriptions"))["next_due_at"]
    assert nxt == f"2026-03-18T{new_time}:00+00:00"
    # And the 09:00 of the old schedule sends nothing more today.
    assert sum(deliver_due(db, config, client_factory(config), day.replace(hour=9)).values()) == 0
    assert len(slack.messages("C0GENERAL")) == 1


def test_moving_a_daily_digest_earlier_after_todays_waits_for_tomorrow(slack, reply, config):
    """Today's 09:00 digest went out; moved to 08:00 at 10:00, the next is tomorrow at 08:00."""
    day = datetime(2026, 3, 17, 6, 0, tzinfo=UTC)
    with time_machine.travel(day, tick=True):
        reply("subscribe channel daily at 09:00 UTC")
    db = connect(config.db_path)
    deliver_due(db, config, client_factory(config), day.replace(hour=9))
    assert len(wait_for(lambda: slack.messages("C0GENERAL"))) == 1
    with time_machine.travel(day.replace(hour=10), tick=True):
        moved = said(reply("subscribe channel daily at 08:00 UTC"))
    assert "Next digest: Wed, Mar 18 at 08:00 UTC." in moved
    assert sum(deliver_due(db, config, client_factory(config), day.replace(hour=10)).values()) == 0


@pytest.mark.parametrize(
    ("text", "weekday"),
    [
        pytest.param("lora weekly on fri", 4, id="fri"),
        pytest.param("lora on Tue at 8", 1, id="tue-capital"),
        pytest.param("lora weekly on thurs", 3, id="thurs"),
        pytest.param("lora on sun.", 6, id="sun-dot"),
        pytest.param("lora on mondays", 0, id="plural"),
    ],
)
def test_a_weekday_may_be_abbreviated(text, weekday):
    """`on fri` was kept as the keywords `lora on fri` (matching almost nothing) on Mondays."""
    request = parse_subscribe(text.split())
    assert (request.keywords, request.frequency, request.weekday) == ("lora", "weekly", weekday)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("lora weekly on funday", "Did you mean `on sunday`?", id="funday"),
        pytest.param("lora on wedensday", "Did you mean `on wednesday`?", id="swapped-letters"),
        pytest.param("lora on fryday at 9", "Did you mean `on friday`?", id="fryday"),
        pytest.param("lora on wendsday", "Did you mean `on wednesday`?", id="two-slips"),
    ],
)
def test_a_misspelled_weekday_is_asked_about_not_made_a_keyword(text, expected):
    with pytest.raises(SubscriptionError) as raised:
        parse_subscribe(text.split())
    assert expected in str(raised.value)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("attention on graphs weekly", id="on-a-word"),
        pytest.param("learning on sundial images", id="on-a-longer-word"),
        pytest.param('lora "on friday"', id="quoted"),
        pytest.param("neural solvers on SAT", id="capitals-are-a-keyword"),
    ],
)
def test_on_before_other_words_stays_a_keyword(text):
    request = parse_subscribe(text.split())
    assert request.keywords == text.removesuffix(" weekly")


def test_subscribe_weekly_on_fri_through_the_app(reply):
    answer = said(reply("subscribe lora weekly on fri at 16:30"))
    assert "`lora` → DM, weekly on Friday at 16:30" in answer


def test_keywords_with_control_characters_are_kept_as_typed(reply, config):
    """Slack sends `&`, `<` and `>` of a command as entities: the subscription holds what
    the user typed, and the list shows it so."""
    reply("subscribe Q&A <retrieval> daily")
    rows = list(connect(config.db_path).query("SELECT keywords FROM subscriptions"))
    assert [r["keywords"] for r in rows] == ["Q&A <retrieval>"]
    assert "`Q&amp;A &lt;retrieval&gt;`" in said(reply("list"))


def test_every_channel_schedule_the_help_names_is_accepted(reply):
    """The help's channel line lists the schedules a channel digest takes: each one works."""
    text = reply("help")["blocks"][0]["text"]["text"]
    line = next(x for x in text.splitlines() if "subscribe channel" in x)
    schedules = re.search(r"\[([a-z|]+)\]", line).group(1).split("|")
    assert "weekdays" in schedules
    for n, schedule in enumerate(schedules):
        answer = said(reply(f"subscribe channel {schedule} at 08:00 UTC topic{n}"))
        assert f"#{n + 1}" in answer and schedule in answer, answer


@pytest.mark.parametrize(
    ("again", "expected"),
    [
        pytest.param("subscribe channel daily at 09:00 UTC", "Resumed (paused when", id="same"),
        pytest.param(
            "subscribe channel daily at 10:00 UTC",
            "Resumed (paused when Slack said not_in_channel). Updated the schedule",
            id="new-time",
        ),
    ],
)
def test_subscribing_again_resumes_a_subscription_slack_refused(reply, config, again, expected):
    """The bot was removed from #general, so delivery paused the channel's digest ("Slack
    said not_in_channel"). Invited back, a member typing the subscribe again got "You already
    have this subscription", still paused: only its creator could resume it, on App Home."""
    reply("subscribe channel daily at 09:00 UTC")
    db = connect(config.db_path)
    subs.pause(db, 1, "Slack said not_in_channel")
    # Any member may ask for it again; only its creator (or an admin) may move its time.
    answer = said(reply(again, user="U0OTHER" if "09:00" in again else "U0LOCAL"))
    assert expected in answer and "_paused" not in answer
    assert subs.by_id(db, 1).status == "active" and subs.by_id(db, 1).paused_reason is None


def test_subscribing_again_resumes_one_a_missing_token_paused(reply, config):
    """A worker started without a token paused every due subscription ("no bot token for
    this team"): the bot answering the subscribe has one, so asking again resumes it."""
    reply("subscribe lora daily")
    db = connect(config.db_path)
    subs.pause(db, 1, subs.NO_TOKEN)
    answer = said(reply("subscribe lora daily"))
    assert "Resumed (paused when no bot token for this team)" in answer
    assert subs.by_id(db, 1).status == "active"


def test_subscribing_again_to_one_paused_on_app_home_says_how_to_resume(reply, config):
    reply("subscribe lora daily")
    db = connect(config.db_path)
    subs.pause(db, 1, "paused from App Home")
    answer = said(reply("subscribe lora daily"))
    assert "You already have this subscription" in answer and "*Resume* on App Home" in answer
    assert subs.by_id(db, 1).status == "paused"


def test_a_dm_digest_follows_the_members_slack_timezone_when_it_changes(slack, reply, config):
    """`/papers subscribe lora` takes the member's Slack timezone ("by DM at 09:00 in your
    Slack timezone"). A member in New York who flew to Tokyo and changed Slack's timezone
    kept getting it at 09:00 New York, 22:00 in Tokyo. Now a user_change event moves it
    (and only it: a typed zone and a channel's digest stay), without a second digest for a
    day already delivered."""
    typed_at = datetime(2026, 3, 17, 12, 0, tzinfo=UTC)  # 08:00 in New York
    with time_machine.travel(typed_at, tick=True):
        reply("subscribe language")
        reply("subscribe lora at 09:00 America/New_York")
        reply("subscribe channel daily")
    db = connect(config.db_path)
    deliver_due(db, config, client_factory(config), typed_at.replace(hour=13))
    assert "Daily papers on “language” · Tue, Mar 17" in said(slack.messages("DU0LOCAL")[0])
    slack.state.users["U0LOCAL"]["tz"] = "Asia/Tokyo"
    change = {"type": "user_change", "user": {**slack.state.users["U0LOCAL"]}}
    with time_machine.travel(typed_at.replace(hour=14), tick=True):  # 23:00 in Tokyo
        assert slack.event(change)["status"] == 200
        wait_for(lambda: subs.by_id(db, 1).tz == "Asia/Tokyo")
        assert slack.event(change, retry_num=1)["status"] == 200
        listed = said(reply("list"))
    assert "daily at 09:00 Asia/Tokyo" in listed
    assert [s.tz for s in subs.visible_to(db, slack.team_id, "U0LOCAL", "C0GENERAL")] == [
        "Asia/Tokyo",
        "America/New_York",
        "America/New_York",
    ]
    # Its next digest is Wednesday's at 09:00 in Tokyo: not another one for Tuesday.
    assert subs.by_id(db, 1).next_due_at == "2026-03-18T00:00:00+00:00"
    deliver_due(db, config, client_factory(config), datetime(2026, 3, 18, 0, 1, tzinfo=UTC))
    periods = [r["period"] for r in db["deliveries"].rows_where("subscription_id = 1")]
    assert periods == ["2026-03-17", "2026-03-18"]


def test_another_member_cannot_move_a_channels_digest_by_subscribing_again(slack, reply, config):
    """The same `/papers subscribe channel lora` typed in the channel with another time by a
    member who did not set it up moved the digest for everyone there ("Updated the schedule
    of #1"), though only its creator or an admin may change it; the same time told them
    "You already have this subscription". Now the first is refused, the second says whose
    it is, and an admin may still move it."""
    reply("subscribe channel lora daily at 09:00 UTC")
    db = connect(config.db_path)
    refused = reply("subscribe channel lora daily at 17:00 UTC", user="U0BOB")["text"]
    assert "set up by another member" in refused and "workspace admin" in refused
    assert subs.by_id(db, 1).at_time == "09:00"
    same = reply("subscribe channel lora daily at 09:00 UTC", user="U0BOB")["text"]
    assert "already has this subscription, set up by <@U0LOCAL>" in same
    assert "You already have" not in same
    slack.add_user("U0ADMIN", "admin", is_admin=True)
    moved = reply("subscribe channel lora daily at 17:00 UTC", user="U0ADMIN")["text"]
    assert "Updated the schedule of #1" in moved
    assert [
        (s.id, s.user_id, s.at_time) for s in subs.visible_to(db, slack.team_id, "U0LOCAL")
    ] == [(1, "U0LOCAL", "17:00")]


def test_another_member_in_another_timezone_retyping_a_channels_subscribe_moves_nothing(
    slack, reply, config
):
    """`/papers subscribe channel lora weekly` typed again, word for word, by a member whose
    Slack timezone differs from the digest's was read as a move to their zone: refused as a
    change of schedule for a member, and for an admin the channel's digest silently moved to
    the admin's zone. With no zone typed, the same day and time is the digest as it is."""
    reply("subscribe channel lora weekly")  # U0LOCAL, America/New_York
    db = connect(config.db_path)
    slack.add_user("U0TOKYO", "tokyo", tz="Asia/Tokyo")
    slack.add_user("U0ADMIN", "admin", tz="Asia/Tokyo", is_admin=True)
    same = reply("subscribe channel lora weekly", user="U0TOKYO")["text"]
    assert "already has this subscription, set up by <@U0LOCAL>" in same, same
    again = reply("subscribe channel lora weekly", user="U0ADMIN")["text"]
    assert "already has this subscription, set up by <@U0LOCAL>" in again, again
    assert subs.by_id(db, 1).tz == "America/New_York"
    # A zone typed, or another time, is a change: an admin's still moves it.
    moved = reply("subscribe channel lora weekly at 10:00", user="U0ADMIN")["text"]
    assert "Updated the schedule of #1" in moved and "10:00 Asia/Tokyo" in moved, moved


@pytest.mark.parametrize(
    ("text", "at"),
    [
        pytest.param("lora daily at 9.", "09:00", id="full-stop"),
        pytest.param("lora daily at 9:00.", "09:00", id="hh-mm-full-stop"),
        pytest.param("lora at 8:30pm!", "20:30", id="exclamation"),
        pytest.param("lora at noon.", "12:00", id="noon"),
        pytest.param("lora at 9, weekly", "09:00", id="comma"),
        pytest.param("lora at 9 pm?", "21:00", id="pm-question"),
        pytest.param("lora at 9:30 pm!", "21:30", id="pm-exclamation"),
        pytest.param("lora at 9 p.m.?", "21:00", id="p.m.-question"),
        pytest.param("lora at 9 pm, weekly", "21:00", id="pm-comma"),
    ],
)
def test_a_sentences_punctuation_after_the_time_is_no_part_of_it(text, at):
    # `/papers subscribe lora daily at 9.` answered "`9.` is not a time; use 24-hour HH:MM".
    # `at 9 pm?` made the digest come at 09:00, of papers matching `lora` and `pm?`.
    request = parse_subscribe(text.split())
    assert (request.at_time, request.keywords) == (at, "lora")


@pytest.mark.parametrize(
    ("text", "tz", "keywords"),
    [
        pytest.param("channel daily at 9 UTC.", "UTC", "", id="utc-full-stop"),
        pytest.param("rlhf at 9 utc,", "UTC", "rlhf", id="utc-comma"),
        pytest.param("lora at 9 Europe/Berlin.", "Europe/Berlin", "lora", id="iana-full-stop"),
        pytest.param("lora at 8pm America/New_York!", "America/New_York", "lora", id="iana-bang"),
    ],
)
def test_a_sentences_punctuation_after_the_zone_is_no_part_of_it(text, tz, keywords):
    # `at 9 UTC.` made `UTC.` a keyword and the digest came at 9 in the member's own zone;
    # `at 9 Europe/Berlin.` was "not a timezone I know".
    request = parse_subscribe(text.split())
    assert (request.tz, request.keywords) == (tz, keywords)


@pytest.mark.parametrize(
    ("made", "named", "answer"),
    [
        pytest.param("channel lora", "unsubscribe channel lora", "Removed 1", id="lora"),
        pytest.param("channel", "unsubscribe channel", "Removed 1", id="trending"),
        pytest.param("channel lora weekly", "pause channel lora", "Paused", id="pause"),
    ],
)
def test_a_channel_subscribe_typed_in_a_dm_is_named_the_same_way_there(reply, made, named, answer):
    """`subscribe channel lora` in a DM makes a digest by DM (there is no channel to post
    in); `unsubscribe channel lora` there answered "No subscription of yours matches"."""
    assert "Subscribed: *#1*" in said(reply(f"subscribe {made}", channel="DU0LOCAL"))
    assert f'"{answer}' in said(reply(named, channel="DU0LOCAL"))
    # In a channel the words still name that channel's digest only.
    assert "No subscription" in said(reply(named, channel="C0GENERAL"))


@pytest.mark.parametrize(
    ("made", "named"),
    [
        pytest.param("channel all", "unsubscribe channel all", id="all"),
        pytest.param("channel 1", "unsubscribe channel 1", id="number"),
        pytest.param("channel 1", "pause channel 1 weekly", id="pause-number"),
    ],
)
def test_a_channel_subscribe_in_a_dm_named_by_all_or_a_number_is_that_digest_alone(
    reply, made, named
):
    """`unsubscribe channel all` in a DM is the mirror of `subscribe channel all` there (a
    DM digest of the keyword `all`): it removed every DM digest of the member, as
    `unsubscribe all`; `pause channel 1` paused #1, not the digest of the keyword `1`."""
    assert "Subscribed: *#1*" in said(reply("subscribe lora", channel="DU0LOCAL"))
    assert "Subscribed: *#2*" in said(reply(f"subscribe {made}", channel="DU0LOCAL"))
    answer = said(reply(named, channel="DU0LOCAL"))
    assert "*#2*" in answer and "#1" not in answer, answer
    listed = reply("list", channel="DU0LOCAL")["blocks"][0]["text"]["text"].splitlines()
    assert "*#1* `lora` → DM, daily at 09:00 America/New_York" in listed  # kept, not paused
