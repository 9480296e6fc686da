"""The stand-in page in a real browser, as a newcomer meets it: type `/papers` commands,
press Next, Share and App Home buttons, and see what Slack would show.

Screenshots go to the test's folder; `make screenshots` copies them into docs/ for the
README (so `make test` never rewrites tracked files)."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.conftest import ROOT

SHOTS = ("search", "next", "shared", "home")


@pytest.fixture
def shoot(browser_page, tmp_path):
    def take(name: str) -> None:
        path = tmp_path / f"standin-{name}.png"
        browser_page.screenshot(path=str(path))
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    yield take
    if os.environ.get("UPDATE_SCREENSHOTS"):
        for name in SHOTS:
            shutil.copyfile(tmp_path / f"standin-{name}.png", ROOT / "docs" / f"standin-{name}.png")


def test_a_person_searches_pages_shares_subscribes_and_previews(slack, browser_page, shoot):
    from playwright.sync_api import expect

    page = browser_page
    page.goto(slack.url)
    box, messages = page.locator("#cmd"), page.locator("#log .msg")

    def command(text: str) -> None:
        box.fill(text)
        box.press("Enter")
        expect(box).to_have_value("")  # the box is cleared once the command is sent

    command("/papers reasoning")
    expect(messages).to_have_count(1)
    expect(messages.first).to_contain_text("20 papers match reasoning · showing 1–5")
    expect(messages.first).to_contain_text("only visible to you")
    shoot("search")

    messages.first.locator("button[data-action=search_next]").click()
    expect(messages.first).to_contain_text("showing 6–10")
    expect(messages).to_have_count(1)  # Next replaced the message: no second one
    shoot("next")

    messages.first.locator("button[data-action=search_share]").click()
    shared = page.locator("#log .msg:not(.eph)")
    expect(shared).to_have_count(1)
    expect(shared).to_contain_text("Shared by @you with /papers")
    expect(shared).not_to_contain_text("U0LOCAL")
    shoot("shared")
    page.reload()  # shared posts stay; ephemeral replies are gone, as in Slack
    expect(shared).to_have_count(1)
    expect(page.locator("#log .msg.eph")).to_have_count(0)

    command("/papers subscribe channel daily at 09:00 CET")
    warning = page.locator("#log .msg.eph").last
    expect(warning).to_contain_text("⚠️")
    expect(warning).to_contain_text("Europe/Paris")
    expect(warning).not_to_contain_text(":warning:")

    command("/papers subscribe channel daily at 09:00 UTC")
    made = page.locator("#log .msg.eph").last
    expect(made).to_contain_text("trending → #general, daily at 09:00 UTC")
    expect(made).not_to_contain_text("C0GENERAL")

    page.locator("#tab-home").click()
    expect(messages.first).to_contain_text("#1 trending → #general")
    messages.first.locator("button[data-action=home_preview_1]").click()
    expect(messages.first).to_contain_text("Preview of #1, not sent")
    shoot("home")


def test_the_page_loads_without_a_console_error(slack, browser_page):
    # The browser asked for /favicon.ico and logged its 404 as an error in the console:
    # the first thing a newcomer with the developer tools open saw.
    from playwright.sync_api import expect

    page, errors = browser_page, []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(slack.url)
    box = page.locator("#cmd")
    box.fill("/papers lora")
    box.press("Enter")
    expect(page.locator("#log .msg.eph")).to_contain_text("2 papers match lora")
    assert errors == []


def test_a_command_typed_in_the_dm_is_answered_in_the_dm(slack, browser_page):
    # As in Slack, a command's reply shows where it was typed: typed in the DM with papers,
    # it used to go to #general, and the DM the person was looking at showed nothing.
    from playwright.sync_api import expect

    page = browser_page
    page.goto(slack.url)
    page.locator("#tab-dm").click()
    box = page.locator("#cmd")
    box.fill("/papers lora")
    box.press("Enter")
    reply = page.locator("#log .msg.eph")
    expect(reply).to_have_count(1)
    expect(reply).to_contain_text("2 papers match lora")
    page.locator("#tab-general").click()
    expect(page.locator("#log .msg")).to_have_count(0)


def test_the_code_button_links_to_the_repository(slack, browser_page):
    # A button with a url opens it in Slack; on the page it only sent the click, so Code
    # (README: "opens the paper's repository") led nowhere.
    from playwright.sync_api import expect

    page = browser_page
    page.goto(slack.url)
    box = page.locator("#cmd")
    box.fill("/papers deberta")
    box.press("Enter")
    code = page.locator("#log .msg.eph [data-action^=code_link_]")
    expect(code).to_have_count(1)
    expect(code).to_have_attribute("href", "https://github.com/microsoft/DeBERTa")
    expect(code).to_have_attribute("target", "_blank")


def test_the_reading_list_shows_its_remove_buttons(slack, browser_page):
    # A section's button (its accessory) was not drawn: /papers saved and the App Home
    # reading list showed no Remove, though the README promises one on each paper.
    from playwright.sync_api import expect

    page = browser_page
    page.goto(slack.url)
    box = page.locator("#cmd")
    box.fill("/papers deberta")
    box.press("Enter")
    page.locator("#log .msg.eph [data-action^=save_paper_]").first.click()
    # The app saves after its ack: a `/papers saved` sent before that finds the list empty
    # (seen once under a loaded `make test`).
    expect(page.locator("#log .msg.eph", has_text="to your reading list")).to_have_count(1)
    box.fill("/papers saved")
    box.press("Enter")
    listed = page.locator("#log .msg.eph").last
    expect(listed).to_contain_text("Your reading list (1)")
    listed.locator("[data-action^=saved_remove_]").click()
    expect(listed).to_contain_text("Your reading list is empty")
    # App Home's reading list has them too.
    page.locator("#log .msg.eph [data-action^=save_paper_]").first.click()
    expect(page.locator("#log .msg.eph", has_text="to your reading list")).to_have_count(2)
    page.locator("#tab-home").click()
    home = page.locator("#log .msg.home")
    expect(home).to_contain_text("DeBERTa")
    home.locator("[data-action^=saved_remove_]").click()
    expect(home).not_to_contain_text("DeBERTa")


def test_remove_on_app_home_asks_first_and_keep_it_keeps_it(slack, browser_page):
    """App Home's Remove carries Slack's confirm dialog; the page showed none and removed
    at once, so the demo could not show what Slack asks."""
    from playwright.sync_api import expect

    page = browser_page
    page.goto(slack.url)
    box = page.locator("#cmd")
    box.fill("/papers subscribe lora weekly on friday")
    box.press("Enter")
    expect(page.locator("#log .msg.eph")).to_contain_text("Subscribed")
    page.locator("#tab-home").click()
    home = page.locator("#log .msg.home")
    expect(home).to_contain_text("lora")
    asked: list[str] = []

    def answer(dialog, accept: bool) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, accept=False))
    home.locator("[data-action=home_remove_1]").click()
    expect(home).to_contain_text("weekly on Friday")  # Keep it: nothing sent
    assert asked and asked[0].startswith("Remove #1?")
    page.once("dialog", lambda dialog: answer(dialog, accept=True))
    home.locator("[data-action=home_remove_1]").click()
    expect(home).not_to_contain_text("weekly on Friday")
    assert len(asked) == 2


FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>blog</title>
<item><title>Quoted Link Paper</title>
<link>https://example.org/p"onmouseover="document.title='pwned'"x="</link>
<description>We show that a quote in a link is only a character of the link and nothing
more, on three benchmarks of link rendering and two of attribute parsing.</description>
<pubDate>Tue, 17 Mar 2026 00:00:00 -0400</pubDate></item></channel></rss>"""


def _searched(slack, config, page, feed: str, query: str):
    """The page after `/papers <query>` typed in it, over a store holding the feed's papers."""
    from jobs.ingest import ingest_bytes
    from storage import connect
    from tests.conftest import NOW

    db = connect(config.db_path)
    ingest_bytes(db, "blog", feed.encode(), NOW)
    db.close()
    page.goto(slack.url)
    box = page.locator("#cmd")
    box.fill(f"/papers {query}")
    box.press("Enter")
    return page


def test_a_quote_in_a_papers_link_stays_in_the_link(slack, config, browser_page):
    # The page put a paper's link into href="…" as it was: a feed's link with a quote in it
    # ended the attribute and added its own (onmouseover) to the page.
    from playwright.sync_api import expect

    page = _searched(slack, config, browser_page, FEED, "quoted link paper")
    link = page.locator("#log .msg.eph a", has_text="Quoted Link Paper")
    expect(link).to_have_count(1)
    assert link.get_attribute("onmouseover") is None
    assert link.get_attribute("href").startswith("https://example.org/p")
    assert '"' in link.get_attribute("href") or "%22" in link.get_attribute("href")


def test_home_shows_a_timezone_and_a_slack_error_with_their_underscores(
    slack, config, reply, browser_page
):
    # The page's confirm dropped every `_` and `*` from its text ("America/NewYork"), and
    # its italics closed at an underscore inside a word ("paused: Slack said is" in italics,
    # then "archived_"): Slack formats neither mid-word underscore.
    from playwright.sync_api import expect

    from storage import connect
    from storage import subscriptions as subs

    reply("subscribe lora daily at 09:00")  # the member's Slack timezone: America/New_York
    subs.pause(connect(config.db_path), 1, "Slack said is_archived")
    page = browser_page
    page.goto(slack.url)
    page.locator("#tab-home").click()
    home = page.locator("#log .msg.home")
    expect(home.locator("i")).to_have_text("paused: Slack said is_archived")
    asked: list[str] = []

    def keep(dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", keep)
    home.locator("[data-action=home_remove_1]").click()
    expect(home).to_contain_text("lora")
    assert asked == [
        "Remove #1?\n\n#1, daily at 09:00 America/New_York, stops for good. Pause keeps it for "
        "later."
    ]


def test_app_home_says_when_the_app_does_not_answer_and_recovers(slack, reply, browser_page):
    # With the app down (or refusing the stand-in's signature), App Home said "Loading App
    # Home…" for ever, and a click on it did nothing: nothing told a newcomer to look at
    # the app.
    from playwright.sync_api import expect

    from tests.slackstub.test_server import closed_url

    reply("subscribe lora daily at 09:00")
    app_url, slack.app_url = slack.app_url, closed_url()
    page = browser_page
    page.goto(slack.url)
    page.locator("#tab-home").click()
    failed = page.locator("#log .msg.failed")
    expect(failed).to_contain_text('App Home failed with the error "dispatch_failed"')
    expect(page.locator("#log")).not_to_contain_text("Loading App Home")
    slack.app_url = app_url  # the app is up again: the next visit shows Home, and no error
    page.locator("#tab-general").click()
    page.locator("#tab-home").click()
    expect(page.locator("#log .msg.home")).to_contain_text("Your paper subscriptions")
    expect(failed).to_have_count(0)
    slack.signing_secret = "not-the-apps-secret"  # a click the app refuses: said on Home
    page.locator("#log .msg.home [data-action=home_pause_1]").click()
    expect(failed).to_contain_text('The button Pause failed with the error "http_client_error')
    expect(page.locator("#log .msg.home")).to_contain_text("lora")  # the view Slack keeps


def test_a_phone_wide_window_shows_the_whole_page(slack, browser_page):
    # At 375 px the side bar kept its labels on one line and the box its default width: the
    # page was wider than the window, Send was cut off and each reply ran under its right edge.
    from playwright.sync_api import expect

    page = browser_page
    page.set_viewport_size({"width": 375, "height": 700})
    page.goto(slack.url)
    box = page.locator("#cmd")
    box.fill("/papers reasoning")
    box.press("Enter")
    reply = page.locator("#log .msg.eph")
    expect(reply).to_contain_text("20 papers match reasoning")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    for part in (page.locator("form button"), reply, page.locator("#tab-home")):
        box_of = part.bounding_box()
        assert box_of["x"] >= 0 and box_of["x"] + box_of["width"] <= 375, box_of
    # The channels stay one tap away, each on one line above the messages, and the box
    # below them: the messages scroll between the two.
    tab, send = page.locator("#tab-general").bounding_box(), page.locator("form button")
    assert tab["y"] >= 0 and tab["height"] < 40
    assert send.bounding_box()["y"] + send.bounding_box()["height"] <= 700


def test_next_on_an_earlier_reply_keeps_it_in_view(slack, browser_page):
    # Every change to the page scrolled it to its end: Next on a reply above the newest
    # replaced it (as it should) and then scrolled it out of sight, as if nothing happened.
    from playwright.sync_api import expect

    page = browser_page
    page.goto(slack.url)
    box, replies = page.locator("#cmd"), page.locator("#log .msg.eph")
    for text, said in (("/papers speech", "6 papers match"), ("/papers reasoning", "20 papers")):
        box.fill(text)
        box.press("Enter")
        expect(replies.last).to_contain_text(said)
    log = page.locator("#log")
    assert log.evaluate("e => e.scrollHeight - e.scrollTop - e.clientHeight") < 2  # the newest
    first = replies.first
    first.locator("[data-action=search_next]").scroll_into_view_if_needed()
    first.locator("[data-action=search_next]").click()
    expect(first).to_contain_text("showing 6–6")
    page.wait_for_timeout(700)  # a poll or two after the change
    previous = first.locator("[data-action=search_prev]").bounding_box()
    assert 0 <= previous["y"] <= 760 - previous["height"], previous
    box.fill("/papers lora")  # a new command shows its reply, at the end
    box.press("Enter")
    expect(replies.last).to_contain_text("2 papers match lora")
    page.wait_for_timeout(300)
    assert log.evaluate("e => e.scrollHeight - e.scrollTop - e.clientHeight") < 2


def test_the_page_says_when_the_stand_in_is_gone_and_keeps_the_command(slack, browser_page):
    # With `make run` stopped, the page went on as if nothing were wrong: a command typed
    # vanished from the box, no reply came, and only the console (an uncaught "Failed to
    # fetch" every half second) said why.
    from playwright.sync_api import expect

    page, errors = browser_page, []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(slack.url)
    status, box = page.locator("#status"), page.locator("#cmd")
    expect(status).to_be_hidden()
    page.route("**/_stub/**", lambda route: route.abort())  # the stand-in stopped
    expect(status).to_contain_text(f"stand-in at {slack.url.split('//')[1]} is not answering")
    expect(status).to_contain_text("make run")
    box.fill("/papers lora")
    box.press("Enter")
    expect(box).to_have_value("/papers lora")  # kept, to send again
    page.unroute("**/_stub/**")  # started again: the page finds it by itself
    expect(status).to_be_hidden()
    box.press("Enter")
    expect(page.locator("#log .msg.eph")).to_contain_text("2 papers match lora")
    assert errors == []


def test_enter_in_an_empty_box_sends_nothing(slack, browser_page):
    # As in Slack, where an empty message box sends nothing: the page sent `/papers` with no
    # text, and a stray Enter answered with the whole help.
    from playwright.sync_api import expect

    page = browser_page
    page.goto(slack.url)
    box = page.locator("#cmd")
    for text in ("", "   "):
        box.fill(text)
        box.press("Enter")
    page.wait_for_timeout(800)  # a reply would be there by now
    assert page.locator("#log .msg").count() == 0
    assert slack.state.responses == {}
    box.fill("/papers")  # the command alone is sent, as Slack sends it: the help
    box.press("Enter")
    expect(page.locator("#log .msg.eph")).to_contain_text("keeps you on top of new ML papers")


def test_the_keyboard_alone_types_a_command_and_pages_through_its_reply(slack, browser_page):
    # The box had no focus on load (typing went nowhere until a click), and each time the
    # page drew a change (a reply replaced, a message arriving) the focused button was drawn
    # anew and focus fell back to the page's start: Next by keyboard, then Tab, began again.
    from playwright.sync_api import expect

    page = browser_page
    page.goto(slack.url)
    expect(page.locator("#cmd")).to_be_focused()
    page.keyboard.type("/papers reasoning")
    page.keyboard.press("Enter")
    reply = page.locator("#log .msg.eph")
    expect(reply).to_contain_text("showing 1–5")
    expect(page.locator("#cmd")).to_be_focused()  # ready for the next command
    reply.locator("[data-action=search_next]").focus()
    page.keyboard.press("Enter")
    expect(reply).to_contain_text("showing 6–10")
    expect(reply.locator("[data-action=search_next]")).to_be_focused()
    posted = {"channel": "C0GENERAL", "text": "hi"}  # a message arrives: the page redraws
    status, _, _ = slack.api("chat.postMessage", posted, slack.token)
    assert status == 200
    expect(page.locator("#log .msg:not(.eph)")).to_contain_text("hi")
    expect(reply.locator("[data-action=search_next]")).to_be_focused()
    page.locator("#tab-dm").click()  # another channel: the box, to type there
    expect(page.locator("#cmd")).to_be_focused()


STARRED = FEED.replace("Quoted Link Paper", "Starred Link Paper").replace(
    'https://example.org/p"onmouseover="document.title=\'pwned\'"x="',
    "https://example.org/find?q=a*b&amp;c=`x`:fire:",
)


def test_mrkdwn_in_a_papers_link_leaves_the_link_as_it_is(slack, config, browser_page):
    # Slack formats a link's label, never its url; the page formatted the url too: a `*` in
    # it closed the title's bold inside href (the link cut at the star, the title not bold),
    # a backtick began a code span there, and `:fire:` became 🔥 in the address.
    from playwright.sync_api import expect

    page = _searched(slack, config, browser_page, STARRED, "starred link paper")
    link = page.locator("#log .msg.eph b > a", has_text="Starred Link Paper")
    expect(link).to_have_count(1)
    assert link.get_attribute("href") == "https://example.org/find?q=a*b&c=`x`:fire:"
    assert link.inner_text() == "Starred Link Paper"
    expect(page.locator("#log .msg.eph code")).to_have_text(["starred link paper"])


def test_a_long_link_in_a_reply_wraps_in_a_narrow_window(slack, browser_page):
    # A word longer than the line (a pasted link, quoted back in code) did not wrap: at
    # 375 px it ran past the reply's edge and out of the window, cut off.
    from playwright.sync_api import expect

    page = browser_page
    page.set_viewport_size({"width": 375, "height": 700})
    page.goto(slack.url)
    box = page.locator("#cmd")
    box.fill(
        "/papers https://www.semanticscholar.org/paper/0123456789abcdef0123456789abcdef01234567"
    )
    box.press("Enter")
    reply = page.locator("#log .msg.eph")
    expect(reply).to_contain_text("No papers match https://www.semanticscholar.org/paper/0123")
    log = page.locator("#log")
    assert log.evaluate("e => e.scrollWidth <= e.clientWidth")
    assert reply.evaluate("m => [...m.children].every(e => e.scrollWidth <= e.clientWidth)")
