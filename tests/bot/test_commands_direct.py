"""What `/papers ...` means, by direct calls to bot.commands.handle: the same logic the
listener runs over HTTP, with Slack's answers (timezone, channel membership) supplied."""

from __future__ import annotations

import json

import pytest

from bot.commands import Invocation, Lookups, handle, parse_subscribe
from storage import subscriptions as subs
from storage.config import Config
from storage.errors import SubscriptionError
from storage.schedule import Schedule
from tests.conftest import NOW


def text_of(message: dict) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


def ask(db, text: str, user: str = "U1", channel: str = "C1", in_channel: bool = True) -> str:
    """The reply to one command, as its blocks' text."""
    lookups = Lookups(user_tz=lambda _user: "Asia/Tokyo", bot_in_channel=lambda _c: in_channel)
    invocation = Invocation("T1", user, channel, "general", text)
    return text_of(handle(db, Config(), invocation, lookups, NOW))


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        pytest.param("lora", (False, "lora", "daily", "09:00", None, 0), id="defaults"),
        pytest.param(
            "channel daily at 7:15pm Europe/Berlin",
            (True, "", "daily", "19:15", "Europe/Berlin", 0),
            id="channel-time-zone",
        ),
        pytest.param(
            "diffusion models on fridays at 8",
            (False, "diffusion models", "weekly", "08:00", None, 4),
            id="weekly-on-a-day",
        ),
        pytest.param("rlhf instant", (False, "rlhf", "instant", "09:00", None, 0), id="instant"),
        pytest.param(
            "lora weekly on fri on friday",
            (False, "lora", "weekly", "09:00", None, 4),
            id="one-day",
        ),
    ],
)
def test_subscribe_phrases(words, expected):
    request = parse_subscribe(words.split())
    fields = (request.channel, request.keywords, str(request.frequency), request.at_time)
    assert (*fields, request.tz, request.weekday) == expected


@pytest.mark.parametrize(
    ("words", "message"),
    [
        pytest.param("lora at 24:00", "not a time of day", id="bad-time"),
        pytest.param("channel instant", "come by DM", id="channel-instant"),
        pytest.param("", "Say what to follow", id="nothing"),
        pytest.param("x" * 201, "to 200 characters or fewer", id="long-keywords"),
        # Two schedules: the last one won and the first was dropped without a word.
        pytest.param(
            "lora weekly on monday on friday",
            "comes on one day: `on monday` or `on friday`?",
            id="two-days",
        ),
        pytest.param("lora daily instant weekly", "`daily` and `instant` are two", id="two-kinds"),
        pytest.param(
            "daily alert fatigue",
            'goes in quotes: `"daily"` or `"alert"`',
            id="keyword-or-schedule",
        ),
    ],
)
def test_subscribe_phrases_that_cannot_be_honoured(words, message):
    with pytest.raises(SubscriptionError, match=message):
        parse_subscribe(words.split())


def test_subscribe_uses_the_users_slack_timezone_and_lists_it(seeded):
    assert "daily at 09:00 Asia/Tokyo" in ask(seeded, "subscribe lora")
    assert "`lora` → DM, daily at 09:00 Asia/Tokyo" in ask(seeded, "list")


def test_channel_subscription_without_the_bot_says_how_to_invite(seeded):
    assert "/invite @papers" in ask(seeded, "subscribe channel daily", in_channel=False)
    assert "No subscriptions yet" in ask(seeded, "list")


def test_channel_subscription_in_a_group_dm_says_what_to_do_instead(seeded):
    """A group DM (Slack's channel name `mpdm-…`) was told to `/invite @papers`, which a
    group DM does not take: a dead end."""
    lookups = Lookups(user_tz=lambda _user: "UTC", bot_in_channel=lambda _c: False)
    invocation = Invocation("T1", "U1", "G0GROUP", "mpdm-ann--bob--cy-1", "subscribe channel")
    answer = text_of(handle(seeded, Config(), invocation, lookups, NOW))
    assert "cannot post a digest in a group DM" in answer and "/invite" not in answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("unsubscribe", "Say which", id="which"),
        pytest.param("unsubscribe 42", "See `/papers list`", id="unknown-id"),
        pytest.param("lora", "*2* papers match `lora`", id="search"),
        pytest.param("trending", "Trending today", id="trending"),
    ],
)
def test_replies(seeded, text, expected):
    assert expected in ask(seeded, text)


def test_another_users_dm_subscription_is_not_theirs_to_remove(seeded):
    ask(seeded, "subscribe lora", user="U1")
    assert "No subscription of yours matches" in ask(seeded, "unsubscribe 1", user="U2")
    assert "#1" in ask(seeded, "list", user="U1")


@pytest.mark.parametrize("verb", ["pause", "unsubscribe"])
def test_numbers_left_as_they_were_are_named(seeded, verb):
    # `/papers pause 1 99 2`: #99 is nobody's, #2 another member's channel digest. The reply
    # named #1 only, as if the whole command had been done.
    ask(seeded, "subscribe lora", user="U1")
    ask(seeded, "subscribe channel daily", user="U2")
    reply = ask(seeded, f"{verb} 1 99 2", user="U1")
    assert "*#1* `lora`" in reply
    assert "Left as it was: #99: no subscription of yours has that number" in reply
    assert "#2: set up by another member, so only they or a workspace admin can" in reply
    assert "Left as it was" not in ask(seeded, "resume 1" if verb == "pause" else "list", user="U1")


def test_numbers_name_a_subscription_whatever_words_follow_them(seeded):
    ask(seeded, "subscribe lora", user="U1")
    ask(seeded, "subscribe channel daily", user="U1")
    # `daily` made the numbers a personal subscribe's words: #2 (a channel's) was left out.
    reply = ask(seeded, "pause 1 2 daily", user="U1")
    assert "Paused 2 subscriptions" in reply and "Left as it was" not in reply
    huge = "9" * 5000  # Python's int() refuses so many digits: "Something went wrong"
    assert "Left as it was: #9999999999999999999…: no" in ask(seeded, f"resume 1 {huge}", user="U1")


@pytest.mark.parametrize("name", ["Jane Daily", "Li Now", "Edward J. Hu"])
def test_a_follow_is_named_by_its_name_even_beside_a_channels_digest(seeded, name):
    # A name with a schedule word lost it (`pause Jane Daily` looked for `Jane`), and a
    # channel's digest with those words for keywords, another member's, hid the follow.
    ask(seeded, f"subscribe channel weekly {name}", user="U2")
    assert f"papers by {name}" in ask(seeded, f"follow {name}", user="U1")
    reply = ask(seeded, f"pause {name}", user="U1")
    assert "Paused 1 subscription" in reply and f"papers by {name}" in reply


@pytest.mark.parametrize(
    ("text", "listed"),
    [
        pytest.param(
            'subscribe "scaling laws at scale" weekly',
            '`\\"scaling laws at scale\\"` → DM, weekly on Monday',
            id="at-inside-quotes",
        ),
        pytest.param(
            'subscribe "recognising daily activities" weekly',
            '`\\"recognising daily activities\\"` → DM, weekly on Monday',
            id="frequency-inside-quotes",
        ),
        pytest.param(
            'subscribe "early alert systems" weekly',
            '`\\"early alert systems\\"` → DM, weekly on Monday',
            id="instant-inside-quotes",
        ),
        pytest.param(
            "subscribe “scaling laws at scale” weekly",
            '`\\"scaling laws at scale\\"` → DM, weekly on Monday',
            id="curly-quotes",
        ),
    ],
)
def test_quoted_phrase_is_subscribed_as_typed(seeded, text, listed):
    """Words inside quotes are the phrase, as `/papers "…"` reads them: never a time, a
    frequency or a day, and never dropped from the keywords."""
    assert "Subscribed" in ask(seeded, text)
    assert listed in ask(seeded, "list")


@pytest.mark.parametrize(
    ("acronym", "keywords"),
    [
        pytest.param("CT", "CT segmentation", id="computed-tomography"),
        pytest.param("MT", "low-resource MT", id="machine-translation"),
    ],
)
def test_acronym_that_is_also_a_zone_abbreviation_can_be_followed(seeded, acronym, keywords):
    """`/papers CT segmentation` searches; subscribing to it asks about the timezone, and
    the reply says how to follow the word instead, which then works."""
    refused = ask(seeded, f"subscribe {keywords} weekly")
    quoted = keywords.replace(acronym, f'"{acronym}"')
    assert f'quote it: `\\"{acronym}\\"`' in refused
    assert "Subscribed" in ask(seeded, f"subscribe {quoted} weekly")


@pytest.mark.parametrize(
    "keywords",
    [
        pytest.param("diffus*", id="prefix"),
        pytest.param("flow* OR diffus* -video", id="prefixes-or-exclusion"),
    ],
)
def test_list_shows_the_keywords_as_typed_so_they_can_be_unsubscribed(seeded, keywords):
    """`/papers list` shows `diffus*`, not a look-alike `diffus∗` that, copied into
    `/papers unsubscribe`, matches nothing."""
    ask(seeded, f"subscribe {keywords} weekly")
    listed = json.loads(ask(seeded, "list"))[0]["text"]["text"]
    assert f"`{keywords}` → DM, weekly" in listed
    assert "Removed 1 subscription" in ask(seeded, f"unsubscribe {keywords}")


@pytest.mark.parametrize(
    ("subscribed", "unsubscribed"),
    [
        pytest.param('"scaling laws"', "“scaling laws”", id="curly-removes-straight"),
        pytest.param("“scaling laws”", '"scaling laws"', id="straight-removes-curly"),
    ],
)
def test_unsubscribe_by_phrase_in_either_kind_of_quotes(seeded, subscribed, unsubscribed):
    ask(seeded, f"subscribe {subscribed} weekly")
    assert "Removed 1 subscription" in ask(seeded, f"unsubscribe {unsubscribed}")


@pytest.mark.parametrize(
    ("text", "command"),
    [
        pytest.param("remote", "remove", id="remote-sensing"),
        pytest.param("last", "list", id="last"),
        pytest.param("saves", "saved", id="saves"),
    ],
)
def test_a_search_word_one_slip_from_a_subcommand_searches_when_papers_match(seeded, text, command):
    """`/papers remote sensing` is a search, not a misspelled `/papers remove`: when the
    words find papers they are shown; the command is asked about only when nothing matches."""
    answer = ask(seeded, text)
    assert "match" in answer and "is not a command" not in answer
    assert f"/papers {command}" not in answer


def test_a_button_pages_a_stored_keyword_past_the_typed_word_cap(seeded):
    """An alert's keywords saved before searches were capped at 32 different words still
    match: its Show all button shows those papers, not "no longer available"."""
    from bot import views
    from bot.commands import search_page

    keywords = " OR ".join(["bert"] + [f"w{i}" for i in range(32)])
    newest = seeded.execute("SELECT MAX(id) FROM papers").fetchone()[0]
    result = search_page(seeded, Config(), views._page_value(keywords, 0, newest, 0), "T1")
    assert result is not None and result.total > 0


@pytest.mark.parametrize(
    ("text", "note"),
    [
        pytest.param("C++", "`C++` is searched as the word `C`", id="cpp-found"),
        pytest.param("C# zzyzx", "`C#` is searched as the word `C`", id="csharp-none"),
    ],
)
def test_a_language_name_with_symbols_says_how_it_was_searched(seeded, text, note):
    """`/papers C++` finds papers on the letter C (the index keeps no `+`): the reply says
    so, rather than "N papers match `C++`" over a paper on C_Phi alone."""
    reply = ask(seeded, text)
    assert note in reply
    assert "letters and digits only" in reply


def test_a_plain_search_has_no_note(seeded):
    assert "is searched as" not in ask(seeded, "lora")


@pytest.mark.parametrize(
    ("text", "found"),
    [
        pytest.param("lora " + "b" * 45, "*2* papers match", id="beside-a-word"),
        pytest.param("x" * 45, "No papers match", id="alone"),
    ],
)
def test_a_word_too_long_to_index_is_named_as_left_out(seeded, text, found):
    """`/papers lora <45 letters>` answered "2 papers match" with no word that the long
    word was never searched (the index keeps no word of 40 letters or more)."""
    reply = ask(seeded, text)
    assert found in reply
    assert f"`{text.split()[-1][:20]}…` was left out" in reply


def test_a_query_of_many_symbol_words_still_gets_a_valid_reply(seeded):
    """32 words like `a++` each get a note: the reply names a few, within Slack's limits."""
    from slackstub.limits import validate_blocks

    text = " ".join(f"{chr(97 + i // 26)}{chr(97 + i % 26)}++" for i in range(32))
    lookups = Lookups(user_tz=lambda _user: "Asia/Tokyo", bot_in_channel=lambda _c: True)
    message = handle(seeded, Config(), Invocation("T1", "U1", "C1", "g", text), lookups, NOW)
    assert validate_blocks(message["blocks"]) == []
    assert text_of(message).count("is searched as the word") == 3


@pytest.mark.parametrize(
    "text",
    [pytest.param("lora author:hu", id="after"), pytest.param('author: "E. Hu" lora', id="first")],
)
def test_author_among_keywords_says_it_works_alone(seeded, text):
    """`/papers lora author:hu` answered only "No papers match": the reply says that
    `author:` takes a name on its own."""
    reply = ask(seeded, text)
    assert "No papers match" in reply and "`author:` works on its own" in reply


def test_show_all_pages_only_the_alerts_own_papers_not_others_in_its_id_range(seeded):
    """A paper between an alert's papers (sent in an earlier alert, or a replacement) is in
    the alert's id range but not in the alert: Show all and its pages leave it out, and a
    button whose delivery is gone says so instead of showing the range."""
    from bot import views
    from bot.commands import search_page
    from storage import deliveries
    from storage.search import search
    from tests.conftest import add_subscription

    ids = sorted(p["id"] for p in search(seeded, "bert", limit=50).papers)
    assert len(ids) >= 3
    sub = add_subscription(seeded, "T1", "U1", "U1", kind="personal", frequency="instant")
    announced = [ids[0], ids[-1]]  # everything between was sent before or never news
    claim = deliveries.claim(seeded, sub.id, "alert:0-9", NOW)
    deliveries.prepare(seeded, claim, {"text": "", "blocks": []}, announced)
    value = views._page_value("bert", 0, ids[-1], ids[0] - 1, claim.key)
    result = search_page(seeded, Config(), value, "T1")
    assert result is not None and sorted(p["id"] for p in result.papers) == announced
    assert result.total == 2
    # The page's buttons keep to the delivery too.
    share = views.search_message(result)["blocks"][-1]["elements"][0]["value"]
    assert views.page_from_value(share).delivery == claim.key
    gone = views._page_value("bert", 0, ids[-1], ids[0] - 1, f"{sub.id}:alert:9-10")
    assert search_page(seeded, Config(), gone, "T1") is None
    # Another workspace's click on a value naming this delivery (forged: its own alerts'
    # buttons name its own) learns nothing of what this team's alert announced.
    assert search_page(seeded, Config(), value, "T2") is None
    huge = views._page_value("bert", 0, ids[-1], ids[0] - 1, f"{10**30}:alert:0-9")
    assert search_page(seeded, Config(), huge, "T1") is None  # no OverflowError


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        pytest.param("pause tokens", "`/papers search pause tokens`", id="pause"),
        pytest.param("remove bias", "`/papers search remove bias`", id="remove"),
        pytest.param("resume parsing", "`/papers search resume parsing`", id="resume"),
        pytest.param("trending topics", "`/papers search trending topics`", id="trending"),
        pytest.param("list decoding", "`/papers search list decoding`", id="list"),
    ],
)
def test_a_search_that_starts_with_a_subcommand_is_offered_as_a_search(seeded, text, hint):
    """`/papers pause tokens` runs `pause` (no subscription matches `tokens`): the reply
    names the search to type, which finds the papers the researcher was after."""
    assert hint in ask(seeded, text)


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        pytest.param(
            'subscribe author:"Edward J. Hu" weekly',
            "follow them: `/papers follow Edward J. Hu`.",
            id="quoted",
        ),
        pytest.param("subscribe author:hu lora", "follow them: `/papers follow hu`.", id="word"),
        pytest.param(
            "subscribe channel AUTHOR: daily", "`/papers follow Edward J. Hu`", id="alone"
        ),
        pytest.param("subscribe lora -author:hu", "cannot leave an author's papers out", id="not"),
    ],
)
def test_a_subscription_to_an_author_is_refused_with_the_follow_to_type(seeded, text, reply):
    # A digest's search takes `author:` for a word: the subscription would match no paper.
    assert reply in ask(seeded, text)
    assert "No subscriptions yet" in ask(seeded, "list")


def test_one_made_before_is_still_named_by_its_words(seeded):
    subs.create(
        seeded,
        team_id="T1",
        user_id="U1",
        target="U1",
        kind="personal",
        keywords="author:hu",
        schedule=Schedule("daily", "09:00", "UTC"),
        now=NOW,
    )
    assert "Paused 1 subscription" in ask(seeded, "pause author:hu daily")


@pytest.mark.parametrize(
    "words", [pytest.param("&" * 600, id="ampersands"), pytest.param("word " * 600, id="words")]
)
def test_a_long_list_command_lists_and_offers_the_search_cut_short(seeded, words):
    # The whole command was quoted back in the list's note: with a subscription to list,
    # the reply could not be built and the user read "Something went wrong".
    ask(seeded, "subscribe lora")
    reply = ask(seeded, f"list {words}")
    assert "Your subscriptions" in reply and "lora" in reply
    hint = reply.split("To search for these words, type `/papers search ", 1)[1]
    assert "…`." in hint  # the quoted command cut short, its code span closed


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        pytest.param("trending `x` *y*", "`ˋxˋ *y*` is not a trending window", id="trending"),
        pytest.param("pause `x` *y*", "matches `ˋxˋ *y*`", id="pause"),
        pytest.param("subscribe lora every `x`", "`every ˋxˋ` is not a schedule", id="every"),
        pytest.param("subscribe lora at 9`", "`9ˋ` is not a time", id="time"),
        pytest.param("subscribe lora at 9 Europe/`x", "`Europe/ˋx` is not a timezone", id="zone"),
    ],
)
def test_backticks_typed_stay_inside_the_code_span_that_quotes_them(seeded, text, shown):
    # A backtick of the user's ended the reply's code span early, and their `*y*` was bold.
    assert shown in ask(seeded, text)


@pytest.mark.parametrize("text", ["unsubscribe 7", "pause #3", "unsubscribe channel", "list"])
def test_a_subcommand_naming_no_words_offers_no_search(seeded, text):
    assert "/papers search" not in ask(seeded, text)


@pytest.mark.parametrize(
    ("text", "tip"),
    [
        pytest.param("arxiv 2106.09685", "finds its paper when it is the whole query", id="id"),
        pytest.param("2106.09685 2305.18290", "when it is the whole query", id="two-ids"),
        pytest.param("zzqxw", "a prefix like `diffus*`", id="word"),
        pytest.param("2401.99999", "No paper with arXiv id `2401.99999` is stored", id="alone"),
        pytest.param("python 1000.0000", "a prefix like `diffus*`", id="no-id"),
    ],
)
def test_a_search_for_an_arxiv_id_among_words_gets_a_tip_that_can_help(seeded, text, tip):
    # An id is no word of the index: the prefix tip could never find it.
    reply = ask(seeded, text)
    assert "No pap" in reply and tip in reply


@pytest.mark.parametrize(
    ("tz", "now", "title"),
    [
        # 08:00 on Wednesday in Tokyo is 23:00 on Tuesday in UTC: Tuesday's list is not today's.
        pytest.param(
            "Asia/Tokyo", "2026-03-17T23:00:00+00:00", "Trending on Tue, Mar 17", id="tokyo"
        ),
        # 18:00 on Tuesday in Los Angeles is Wednesday in UTC: Tuesday's list is today's.
        pytest.param("America/Los_Angeles", "2026-03-18T01:00:00+00:00", "Trending today", id="la"),
        pytest.param(None, "2026-03-17T23:00:00+00:00", "Trending today", id="unknown-utc"),
    ],
)
def test_trending_today_is_the_members_today(seeded, tz, now, title):
    """The seeds' newest listing is Tuesday, Mar 17. "Today" was UTC's: a researcher in Tokyo
    read "Trending today" over Tuesday's papers on Wednesday morning, and one in Los Angeles
    "Trending on Tue, Mar 17" on Tuesday evening."""
    from datetime import datetime

    lookups = Lookups(user_tz=lambda _user: tz, bot_in_channel=lambda _c: True)
    invocation = Invocation("T1", "U1", "C1", "general", "trending")
    message = handle(seeded, Config(), invocation, lookups, datetime.fromisoformat(now))
    assert message["blocks"][0]["text"]["text"] == title


def test_exclusions_that_leave_out_every_match_are_named_not_fewer_words(seeded):
    # `lora -lora` found nothing under the tip to type fewer words or a prefix.
    reply = ask(seeded, "lora -lora")
    assert "No papers match" in reply and "fewer words" not in reply
    assert "leave out all 2 papers the rest of this query finds" in reply
