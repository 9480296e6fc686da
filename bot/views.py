"""Block Kit for every message and view the app shows, built with slack_sdk.models.

Every piece of paper text goes through escape_mrkdwn before it reaches mrkdwn, so a title
like `<!channel> hi` pings nobody and `<http://x|click>` never becomes a link.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import NamedTuple

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.text import (
    code,
    escape_entities,
    escape_mrkdwn,
    escaped_within,
    matches,
    plural,
    truncate,
)
from storage.authors import MAX_NAME_CHARS, parse_name
from storage.schedule import WEEKDAYS, Frequency
from storage.search import EXCLUDED_ALL_NOTE, HIGHLIGHT, SearchResult
from storage.subscriptions import Subscription
from storage.text import without_bidi
from storage.trending import Signals

PAGE_SIZE = 5
SECTION_CHARS = 3000  # what a section's text may hold
# A paper's section in a message of five (a results page, More like this, an author's page,
# trending): the first of these rooms in which all five fit the ~12k characters a message
# holds, however much escaping grows a paper's text (a title or abstract of `&`s is five
# times as long, an emoji a 12-character \u escape in the JSON Slack receives).
PAPER_ROOMS = (2000, 1000, 500, 250, 100)
CONTEXT_CHARS = 1000
# What a search could not take as typed (`C++`, a 45-letter word): the first few, so a
# query of many still fits a block.
MAX_NOTES = 3
TITLE_CHARS = 250
SNIPPET_CHARS = 600
# Papers shown in one alert: each takes three blocks (text, context, buttons), and a
# message holds 50 blocks and, in practice, ~12k characters.
ALERT_PAPERS = 10
HELP = [
    (
        "/papers lora adapters",
        'search (words, "a phrase", a OR b, a AND b, -exclude or NOT word, prefix*)',
    ),
    (
        "/papers 2106.09685",
        "that paper, by arXiv id or by arxiv.org or huggingface.co/papers link",
    ),
    ("/papers trending [today|week]", "what is trending, and why"),
    (
        "/papers subscribe lora [daily|weekdays|weekly|instant] [at 09:00] [on monday]",
        "a personal digest or alert by DM",
    ),
    (
        "/papers subscribe channel [daily|weekdays|weekly] [at 09:00] [on monday] [keywords]",
        "a digest for this channel",
    ),
    ("/papers list", "subscriptions you and this channel have"),
    ("/papers unsubscribe 3 | lora | channel | all", "stop a subscription"),
    ("/papers pause 3 | resume 3", "hold a subscription, and take it up again"),
    ('/papers author:"Edward J. Hu"', "papers by an author (initials and accents are fine)"),
    ("/papers follow Edward J. Hu", "a DM alert for each new paper by that author"),
    ("/papers unfollow Edward J. Hu", "stop following an author"),
    ("/papers saved", "your reading list (the Save button on any paper adds to it)"),
    (
        "paste an arxiv.org or huggingface.co/papers link",
        "a preview with Save, More like this, Authors and Code",
    ),
    ("/papers help", "this help"),
]


# A link longer than this is left out (the title shows unlinked): a feed's link may be any
# length, and a title's section holds 3,000 characters.
MAX_URL_CHARS = 1000


def _mrkdwn(text: str) -> MarkdownTextObject:
    """A mrkdwn text object with `verbatim` set: Slack then makes no link of a plain URL,
    `#channel` or name in it (feed text says `www.evil.example`, `@here`); our own links
    and mentions are written out (`<url|label>`, `<@U1>`), which verbatim keeps."""
    return MarkdownTextObject(text=text, verbatim=True)


def _safe_url(url: str | None) -> str | None:
    # Only plain http(s) links: anything with Slack's control characters could break out.
    if not url or not url.startswith(("https://", "http://")) or len(url) > MAX_URL_CHARS:
        return None
    if any(ch in url for ch in "<>| \n"):
        return None
    return url


def title_link(paper: dict, room: int = SECTION_CHARS) -> str:
    """The paper's title, escaped (in at most `room` characters) and bold, linked to its
    page when there is one."""
    title = escaped_within(truncate(paper["title"], TITLE_CHARS), room)
    url = _safe_url(paper.get("url"))
    return f"*<{url}|{title}>*" if url else f"*{title}*"


def _snippet(paper: dict, room: int) -> str:
    raw = paper.get("snippet") or paper["abstract"]
    text = escaped_within(truncate(raw, SNIPPET_CHARS), room)
    # Highlight markers survive escaping and become bold only now, so paper text never can.
    return text.replace(HIGHLIGHT[0], "*").replace(HIGHLIGHT[1], "*")


def _day(iso: str | None) -> str | None:
    return date.fromisoformat(iso).strftime("%b %-d, %Y") if iso else None


def _short_day(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%b %-d")


def reason_text(why: Signals) -> str:
    """A short human reason, e.g. "+12 upvotes since Mar 12, in 3 sources, listed Mar 14"."""
    parts = []
    if why.growth > 0 and why.since:
        parts.append(f"+{plural(why.growth, 'upvote')} since {_short_day(why.since)}")
    elif why.upvotes > 0:
        parts.append(plural(why.upvotes, "upvote"))
    if why.sources > 1:
        parts.append(f"in {why.sources} sources")
    parts.append(f"listed {_short_day(why.last_listed)}")
    return ", ".join(parts)


def _reason(paper: dict) -> str:
    return reason_text(paper["signals"]) if paper.get("signals") else ""


def _name(name: str) -> str:
    # A feed's author name may be any length; three of them share one 3,000-character text.
    return truncate(name, MAX_NAME_CHARS)


def paper_context(paper: dict, room: int = CONTEXT_CHARS) -> str:
    """Authors, date, upvotes and sources on one line (escaped, at most `room` characters)."""
    parts = []
    if paper.get("authors"):
        names = [_name(n) for n in paper["authors"][:3]]
        more = len(paper["authors"]) - 3
        parts.append(", ".join(names) + (f" +{more}" if more > 0 else ""))
    elif paper.get("authors_count"):
        parts.append(plural(paper["authors_count"], "author"))
    if paper.get("published"):
        parts.append(_day(paper["published"]) or "")
    if paper.get("upvotes"):
        parts.append(f"▲ {paper['upvotes']}")
    sources = paper.get("sources") or 0
    parts.append(f"{sources} source{'s' if sources != 1 else ''}")
    if paper.get("title_derived"):
        parts.append("untitled listing")
    return escaped_within(" · ".join(p for p in parts if p), room)


def paper_blocks(
    paper: dict, body: Callable[[int], str], actions: bool = True, room: int = SECTION_CHARS
) -> list:
    """A section (title + body), a context line and the paper's buttons for one paper.
    `body` renders the text under the title in the room the title leaves of the section's
    `room`: escaped, a title of `&`s is five times as long, and a section holds 3,000."""
    room = min(room, SECTION_CHARS)
    head = title_link(paper, room * 3 // 4)
    rest = body(max(room - len(head) - 1, 0))
    context = paper_context(paper, min(CONTEXT_CHARS, room // 2))
    blocks = [
        SectionBlock(text=_mrkdwn(text=f"{head}\n{rest}")),
        ContextBlock(elements=[_mrkdwn(text=context)]),
    ]
    return blocks + ([paper_actions(paper)] if actions and paper.get("id") else [])


def _abstract(paper: dict, room: int) -> str:
    """The start of a paper's abstract (280 characters), escaped, in `room` characters."""
    return escaped_within(truncate(paper["abstract"], 280), room)


def _papers_in_room(
    before: list, papers: list[dict], body: Callable[[dict, int], str], after: list
) -> list[dict]:
    """A message of a few papers between `before` and `after` blocks, each paper's section
    in the largest of PAPER_ROOMS in which the whole message fits (`body` renders the text
    under a paper's title in the room given)."""

    def render(room: int) -> list[dict]:
        blocks = list(before)
        for paper in papers:
            blocks += paper_blocks(paper, lambda r, p=paper: body(p, r), room=room)
        return _dump(blocks + after)

    for room in PAPER_ROOMS[:-1]:
        blocks = render(room)
        if not _too_long(blocks):
            return blocks
    return render(PAPER_ROOMS[-1])


def _dump(blocks: list) -> list[dict]:
    return [b.to_dict() if hasattr(b, "to_dict") else b for b in blocks]


# An arXiv identifier inside a query (`arxiv 2106.09685`, two ids, an unknown one).
_ARXIV_ID = re.compile(r"(?<![\d.])\d\d(?:0[1-9]|1[0-2])\.\d{4,5}(?:v\d+)?(?![\d.])")


_EXCLUDED_ALL = EXCLUDED_ALL_NOTE.partition("{}")[0]  # how that note begins


def search_message(result: SearchResult, typed: str | None = None) -> dict:
    """One page of results with Share, Previous and Next; or did-you-mean and a tip.

    The query is echoed as the user typed it (`typed`), in a code span, so it can be
    copied back."""
    query = code(result.query if typed is None else typed)
    if not result.papers:
        lines = [f"No papers match {query}."]
        if result.suggestions:
            lines.append(f"Did you mean {code(result.suggestions[0])}?")
        if _ARXIV_ID.fullmatch(result.query.strip()):  # an id alone, not stored (or known)
            lines = [f"No paper with arXiv id {query} is stored here."]
        elif _ARXIV_ID.search(result.query):  # no word of the index: no prefix finds it
            lines.append(
                "Tip: an arXiv id (or a link to the paper) finds its paper when it is the"
                " whole query, like `/papers 2106.09685`."
            )
        elif not any(note.startswith(_EXCLUDED_ALL) for note in result.notes):
            # (A note that the exclusions left every match out says what to change.)
            lines.append("Tip: fewer words, a prefix like `diffus*`, or `a OR b` find more.")
        lines += [escape_entities(note) for note in result.notes[:MAX_NOTES]]
        return {
            "text": lines[0],
            "blocks": _dump([SectionBlock(text=_mrkdwn(text="\n".join(lines)))]),
        }
    first, last = result.offset + 1, result.offset + len(result.papers)
    total = f"{result.total:,}+" if result.total_capped else f"{result.total:,}"
    noun = "paper" if result.after is None else "new paper"  # an alert's rest
    header = f"{matches(total, bold=True, noun=noun)} {query} · showing {first}–{last}"
    blocks: list = [SectionBlock(text=_mrkdwn(text=header))]
    if result.notes:
        notes = "\n".join(escape_entities(note) for note in result.notes[:MAX_NOTES])
        blocks.append(ContextBlock(elements=[_mrkdwn(text=truncate(notes, 2900))]))
    buttons = [
        ButtonElement(
            text="Share in channel",
            action_id="search_share",
            value=_page_value(
                result.query, result.offset, result.newest, result.after, result.delivery
            ),
        )
    ]
    if result.offset > 0:
        buttons.append(
            ButtonElement(
                text="Previous",
                action_id="search_prev",
                value=_page_value(
                    result.query,
                    max(result.offset - PAGE_SIZE, 0),
                    result.newest,
                    result.after,
                    result.delivery,
                ),
            )
        )
    if last < result.total or result.total_capped:
        buttons.append(
            ButtonElement(
                text="Next",
                action_id="search_next",
                value=_page_value(
                    result.query,
                    result.offset + PAGE_SIZE,
                    result.newest,
                    result.after,
                    result.delivery,
                ),
            )
        )
    blocks = _papers_in_room(blocks, result.papers, _snippet, [ActionsBlock(elements=buttons)])
    return {"text": f"{matches(total, noun=noun)} {query}", "blocks": blocks}


def shared_message(result: SearchResult, user_id: str) -> dict:
    """The results page as posted to the channel, and who shared it: each paper keeps its
    buttons (a teammate may Save one or ask for More like this, for themselves), the page
    its Share, Next and Previous (which would change the channel's message for everyone)."""
    message = search_message(result)
    blocks = [b for b in message["blocks"] if not _page_buttons(b)]
    blocks.append(
        ContextBlock(elements=[_mrkdwn(text=f"Shared by <@{user_id}> with /papers")]).to_dict()
    )
    return {"text": message["text"], "blocks": blocks}


def _page_buttons(block: dict) -> bool:
    """The block of a results page's own buttons (Share, Previous, Next)."""
    elements = block.get("elements") or [] if block["type"] == "actions" else []
    return any(e.get("action_id", "").startswith("search_") for e in elements)


def _page_value(
    query: str,
    offset: int,
    newest: int | None = None,
    after: int | None = None,
    delivery: str | None = None,
) -> str:
    # Not \u-escaped: a query of astral letters (𝗹𝗼𝗿𝗮) would grow twelvefold past the
    # 2,000 characters a button's value may hold. `n` pins the pages to the papers the
    # first page was drawn from; `a` keeps them to an alert's new papers, `d` to the papers
    # of that one alert delivery (the range also holds replacements and papers sent before).
    data: dict = {"q": query, "o": offset}
    if newest is not None:
        data["n"] = newest
    if after is not None:
        data["a"] = after
    if delivery is not None:
        data["d"] = delivery
    return json.dumps(data, ensure_ascii=False)


class PageValue(NamedTuple):
    """What a page button stands for: the query, offset, and the paper ids it keeps to."""

    query: str
    offset: int
    newest: int | None
    after: int | None = None
    delivery: str | None = None


def _paper_id(data: dict, key: str) -> int | None:
    number = data.get(key)
    if number is not None and (isinstance(number, bool) or not isinstance(number, int)):
        raise ValueError("not a page button's paper id")
    # Clamped to what an index id can be: a forged 2**70 would overflow the engine's range.
    return min(max(number, 0), 2**62) if number is not None else None


def page_from_value(value: str) -> PageValue:
    """The query, offset, newest paper id (None: a button from before pages were pinned) and
    lower bound (an alert's rest) a page button carries; ValueError for a value no page
    button of ours holds (a list, an infinite or fractional offset or id)."""
    data = json.loads(value)
    if not isinstance(data, dict) or not isinstance(data.get("q"), str):
        raise ValueError("not a page button's value")
    offset = data.get("o")
    if isinstance(offset, bool) or not isinstance(offset, int):
        raise ValueError("not a page button's offset")
    delivery = data.get("d")
    if delivery is not None and not isinstance(delivery, str):
        raise ValueError("not a page button's delivery")
    return PageValue(
        data["q"], max(offset, 0), _paper_id(data, "n"), _paper_id(data, "a"), delivery
    )


def trending_title(window: str, anchor: date | None, today: date | None) -> str:
    """ "Trending today", or the newest listing day it is about when that is not today
    ("Trending on Fri, Mar 13" on a Monday, or over a store fed months ago)."""
    if anchor is None or anchor == today:
        return "Trending today" if window == "day" else "Trending this week"
    day = anchor.strftime("%a, %b %-d")
    return f"Trending on {day}" if window == "day" else f"Trending in the week to {day}"


def trending_message(
    papers: list[dict], window: str, anchor: date | None = None, today: date | None = None
) -> dict:
    """The trending list with a reason under each paper, titled by the day it is about
    (`anchor`, the newest listing day; "today" when it is `today`)."""
    title = trending_title(window, anchor, today)
    if not papers:
        return text_message("Nothing is listed yet; papers arrive with the next ingest.")
    ranked = [
        {**paper, "title": f"{rank}. {paper['title']}"} for rank, paper in enumerate(papers, 1)
    ]
    head = [HeaderBlock(text=PlainTextObject(text=title))]
    blocks = _papers_in_room(head, ranked, lambda p, _: f"_{escape_mrkdwn(_reason(p))}_", [])
    return {"text": f"{title}: {plural(len(papers), 'paper')}", "blocks": blocks}


def _manage(subscription_id: int, first: ButtonElement | None = None) -> ActionsBlock:
    """The Manage button under every digest and alert (after `first`, when given)."""
    manage = ButtonElement(
        text="Manage subscription", action_id="digest_manage", value=str(subscription_id)
    )
    return ActionsBlock(elements=[first, manage] if first else [manage])


def digest_heading(sub: Subscription, due: datetime, days: int | None = None) -> str:
    """E.g. "Daily papers on “lora” · Tue, Mar 17"; a digest covering `days` past its own
    period (the ones before it were missed) names them: "· Sun, Mar 15 – Tue, Mar 17"."""
    local = sub.schedule.local(due)
    kind = "Weekly" if sub.frequency == Frequency.WEEKLY else "Daily"
    topic = f" on “{sub.keywords}”" if sub.keywords else ""
    dated = local.strftime("%a, %b %-d")
    if days and days > sub.schedule.span(due):
        since = local.date() - timedelta(days=days - 1)
        dated = f"{since.strftime('%a, %b %-d')} – {dated}"
    return f"{kind} papers{topic} · {dated}"


# Slack refuses a message whose blocks are too long in total (msg_blocks_too_long) however
# valid each block is: reported at ~13k characters of text; the stand-in also counts the
# JSON Slack receives, where an emoji is a 12-character \u escape. Escaping for mrkdwn
# makes a title of 300 `&` 1,500 characters, so papers are added only while the message
# stays under both.
MESSAGE_TEXT_CHARS = 11_500
MESSAGE_JSON_CHARS = 19_000


def _too_long(blocks: list[dict]) -> bool:
    """Whether Slack would refuse these blocks as one message for their total length."""
    text = sum(len((b.get("text") or {}).get("text", "")) for b in blocks)
    return text > MESSAGE_TEXT_CHARS or len(json.dumps(blocks)) > MESSAGE_JSON_CHARS


def _fitting(render: Callable[[int], list[dict]], count: int) -> tuple[int, list[dict]]:
    """The most of `count` papers (at least one) whose rendering fits one message, and that
    rendering (each count is rendered once)."""
    blocks = render(count)
    while count > 1 and _too_long(blocks):
        count -= 1
        blocks = render(count)
    return count, blocks


def _header(heading: str) -> HeaderBlock:
    """A digest's or alert's header: plain text, so only a direction override typed with
    the keywords (or a followed name) could change how it reads; it shows none."""
    return HeaderBlock(text=PlainTextObject(text=truncate(without_bidi(heading), 150)))


def _digest_blocks(papers: list[dict], heading: str, subscription_id: int) -> list[dict]:
    blocks: list = [_header(heading)]
    for paper in papers:
        why = escape_mrkdwn(_reason(paper))
        body = lambda room, p=paper, w=why: f"_{w}_\n{_abstract(p, room - len(w) - 3)}"  # noqa: E731
        blocks += paper_blocks(paper, body, actions=len(papers) <= ALERT_PAPERS)
    blocks.append(_manage(subscription_id))
    return _dump(blocks)


def fit_digest(
    papers: list[dict],
    heading: str,
    subscription_id: int,
    note_if_empty: bool,
    first: bool = False,
) -> tuple[list[dict], dict | None]:
    """The papers of a digest that fit one Slack message, best first (the rest are not sent
    nor marked sent: a later digest whose days cover them may hold them), and the digest of
    them, fitted once: header with the date, each paper with its reason, and a Manage
    button.

    With no paper, the note (None unless `note_if_empty`); `first`: the subscription never
    had a digest, so the note says so (not "since your last digest")."""
    if not papers:
        return [], _nothing_new(heading, first, sent=True) if note_if_empty else None
    render = lambda n: _digest_blocks(papers[:n], heading, subscription_id)  # noqa: E731
    count, blocks = _fitting(render, len(papers))
    text = f"{escape_mrkdwn(heading)}: {plural(count, 'paper')}"
    return papers[:count], {"text": text, "blocks": blocks}


def _nothing_new(heading: str, first: bool, sent: bool) -> dict:
    """A digest with no paper: the note PAPERS_EMPTY_DIGEST=note sends (`sent`), or what a
    preview says under `skip`, which sends nothing."""
    head = escape_mrkdwn(heading)
    if first:
        so = ", so no digest would be sent now;" if not sent else ";"
        return text_message(
            f"{head}: nothing to show yet. No listed paper matches so far{so} your first"
            " digest will bring the ones that arrive."
        )
    if not sent:
        return text_message(
            f"{head}: nothing new since your last digest, so no digest would be sent now."
        )
    return text_message(f"{head}: nothing new since your last digest.")


def preview_digest(
    papers: list[dict], heading: str, subscription_id: int, empty_digest: str, first: bool
) -> tuple[list[dict], dict]:
    """What a preview shows of a digest: its papers that fit and the digest (fit_digest), or
    with nothing new, the note that `note` mode sends or (`skip`, PAPERS_EMPTY_DIGEST's
    default) that none would be sent."""
    if not papers and empty_digest != "note":
        return [], _nothing_new(heading, first, sent=False)
    fitted, message = fit_digest(papers, heading, subscription_id, True, first=first)
    assert message is not None  # note_if_empty
    return fitted, message


def _on_clock(sub: Subscription, moment: str) -> str:
    """A stored moment on the subscriber's clock: "Wed, Mar 25 at 08:00 UTC"."""
    local = sub.schedule.local(datetime.fromisoformat(moment))
    return f"{local:%a, %b %-d at %H:%M} {sub.tz}"


def _due(sub: Subscription) -> str:
    """The next due moment on the subscriber's clock."""
    return _on_clock(sub, sub.next_due_at or "")


def next_delivery(sub: Subscription, now: datetime | None = None) -> str:
    """When a digest subscription's next digest is due, in its own timezone, or "";
    one already due at `now` (today's, owed after a change of time) comes right away."""
    if sub.is_instant or not sub.next_due_at or sub.status == "paused":
        return ""
    if now is not None and datetime.fromisoformat(sub.next_due_at) <= now:
        return "Next digest: today's, right away."
    return f"Next digest: {_due(sub)}."


def next_heading(sub: Subscription, now: datetime, days: int | None = None) -> str:
    """The heading of `sub`'s next digest, dated as it will be (its due day, not today's;
    with the missed days it covers too, `days` of storage.digests.next_days)."""
    if sub.next_due_at and sub.status != "paused":  # the worker heads it with its due time
        return digest_heading(sub, datetime.fromisoformat(sub.next_due_at), days)
    return digest_heading(sub, now)


def preview_message(
    sub: Subscription,
    papers: list[dict],
    now: datetime,
    empty_digest: str,
    days: int | None = None,
) -> dict:
    """What `sub`'s digest would hold now, marked as a preview, with when the real one is due
    (`empty_digest`: PAPERS_EMPTY_DIGEST, what goes out when nothing is new; `days`: the
    days the next digest covers, see next_heading)."""
    first = sub.last_delivered_at is None
    heading = next_heading(sub, now, days)
    _, message = preview_digest(papers, heading, sub.id, empty_digest, first)
    when = "first digest" if first else "next digest"
    due = _due(sub) if sub.next_due_at else f"not scheduled {sub.tz}"
    if sub.next_due_at and datetime.fromisoformat(sub.next_due_at) <= now:
        # Owed after a change of time: due at the change, a moment past when read (as
        # next_delivery says it on Manage).
        due = "today's, right away"
    note = f"_Preview of #{sub.id}, not sent. Its {when}: {due}._"
    if sub.status == "paused":  # nothing goes out until it is resumed: promise no time
        note = f"_Preview of #{sub.id}, not sent. It is paused: no digest until you Resume it._"
    context = ContextBlock(elements=[_mrkdwn(text=note)]).to_dict()
    return {"text": message["text"], "blocks": [context, *message["blocks"]]}


def _alert(
    papers: list[dict],
    heading: str,
    more: str | None,
    subscription_id: int,
    text: str,
    show_all: ButtonElement | None = None,
) -> dict:
    """An alert: the first ALERT_PAPERS papers; past them, the command (`more`) or the
    button (`show_all`) that shows the rest; Manage."""

    def render(count: int) -> list[dict]:
        blocks: list = [_header(heading)]
        for paper in papers[:count]:
            blocks += paper_blocks(paper, lambda room, p=paper: _abstract(p, room))
        overflow = len(papers) > count
        if overflow:
            rest = len(papers) - count
            line = f"…and {rest} more: {code(more)}" if more else f"…and {rest} more."
            blocks.append(SectionBlock(text=_mrkdwn(text=line)))
        blocks.append(_manage(subscription_id, show_all if overflow else None))
        return _dump(blocks)

    # Papers that do not fit one message go to the rest, which the button or command shows.
    return {"text": text, "blocks": _fitting(render, min(len(papers), ALERT_PAPERS))[1]}


def alert_message(
    papers: list[dict], keywords: str, subscription_id: int, delivery: str | None = None
) -> dict:
    """A keyword alert for papers that just arrived. Past the first ALERT_PAPERS, Show all
    searches only the alert's new papers (those of the delivery keyed `delivery`):
    `/papers keywords` ranks the best matches of all time first, the old, famous papers."""
    heading = f"New on “{truncate(keywords, 100)}”"
    text = f"{plural(len(papers), 'new paper')} on {escape_mrkdwn(keywords)}"
    ids = [paper["id"] for paper in papers]
    show_all = None
    if ids:
        value = _page_value(keywords, 0, max(ids), min(ids) - 1, delivery)
        show_all = ButtonElement(
            text=f"Show all {len(papers)}", action_id="alert_show_all", value=value
        )
    return _alert(papers, heading, None, subscription_id, text, show_all)


# A reply's sections hold 3,000 characters each (SECTION_CHARS); past three of them (a
# command thousands of characters long, echoed back) lines are left out (see _sections),
# well short of the ~12k a message may total.
TEXT_SECTIONS = 3


def _sections(text: str) -> list[str]:
    """Text in as many sections as it needs, split at line ends; a line longer than a
    section (a long command quoted back in an error) is shortened. Past TEXT_SECTIONS, the
    lines that fit are kept with the last one (a reply's closing note, such as what a
    command left as it was), and a line says how many were left out."""
    lines = [truncate(line, SECTION_CHARS) for line in text.split("\n")]
    parts = _packed(lines)
    if len(parts) <= TEXT_SECTIONS:
        return parts

    def cut(end: int) -> list[str]:
        left_out = plural(len(lines) - 1 - end, "more line")
        return _packed([*lines[:end], f"_… {left_out} not shown_", lines[-1]])

    # The most opening lines that fit (fewer never take more sections), found by bisection:
    # one line at a time took seconds for a reply of thousands of lines.
    low, high = 0, len(lines) - 2  # cut(0), two lines, always fits
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if len(cut(middle)) <= TEXT_SECTIONS else (low, middle - 1)
    return cut(low)


def _packed(lines: list[str]) -> list[str]:
    """Lines joined into sections of at most SECTION_CHARS, split at line ends."""
    parts: list[str] = []
    for line in lines:
        if parts and len(parts[-1]) + 1 + len(line) <= SECTION_CHARS:
            parts[-1] += "\n" + line
        else:
            parts.append(line)
    return parts


def warning_message(error: Exception) -> dict:
    """A named error of ours as a reply: a warning sign and its message, escaped."""
    return text_message(f":warning: {escape_mrkdwn(str(error))}")


def text_message(text: str) -> dict:
    """A plain reply: one section, or a few for a long text (Slack refuses a longer one,
    and the user got "Something went wrong" instead of the reply)."""
    parts = _sections(text)
    blocks = [SectionBlock(text=_mrkdwn(text=part)) for part in parts]
    # The fallback says what the blocks say: the whole text of a reply quoting a long
    # command (each `&` an `&amp;`) passed the 40,000 characters Slack takes, and the reply
    # was refused.
    return {"text": "\n".join(parts), "blocks": _dump(blocks)}


def help_message(note: str | None = None) -> dict:
    """Every command with an example."""
    lines = [f"`{cmd}`: {what}" for cmd, what in HELP]
    text = (
        ((note + "\n\n") if note else "")
        + "*papers* keeps you on top of new ML papers.\n"
        + "\n".join(lines)
    )
    return text_message(text)


def describe_when(sub: Subscription) -> str:
    """When a subscription is delivered, e.g. "daily at 09:00 UTC"."""
    if sub.frequency == "instant":
        return "instant alerts"
    if sub.frequency == "weekly":
        day = WEEKDAYS[sub.weekday].capitalize()
        return f"weekly on {day} at {sub.at_time} {sub.tz}"
    return f"{sub.frequency} at {sub.at_time} {sub.tz}"


def describe(sub: Subscription) -> str:
    """One line about a subscription, for /papers list and App Home."""
    where = "DM" if sub.kind == "personal" else f"<#{sub.target}>"
    # As typed, in a code span: a look-alike `diffus∗` copied into unsubscribe matches nothing.
    what = code(sub.keywords) if sub.keywords else "trending"
    if sub.author:  # an author follow (storage.authors)
        what = f"papers by {escape_mrkdwn(sub.author)}"
    line = f"*#{sub.id}* {what} → {where}, {describe_when(sub)}"
    if sub.demo:
        line += " · _demo_"
    if sub.status == "paused":
        line += f" · _paused{': ' + escape_mrkdwn(sub.paused_reason) if sub.paused_reason else ''}_"
    return line


LIST_MAX = 40  # subscriptions in one /papers list reply
LIST_FOOTER = (
    "Remove one with `/papers unsubscribe &lt;id&gt;`, or hold it with `/papers pause &lt;id&gt;`."
)
LIST_CHARS = 10_000


def list_page_before(subs: list[Subscription], end: int) -> int:
    """Where the /papers list page that ends just before `end` starts: as many lines as fit
    a page, as Next's pages hold (fewer than LIST_MAX when keywords are long)."""
    start, chars = end, 0
    while start > 0 and end - start < LIST_MAX:
        chars += len(describe(subs[start - 1])) + 1
        if chars > LIST_CHARS and start < end:
            break
        start -= 1
    return start


def _whose(subs: list[Subscription], viewer: str | None, noun: str = "subscriptions") -> str:
    """Whose the listed subscriptions are: "Your …", "This channel's …" or both. A channel's
    digest another member set up is not the viewer's (only its creator or an admin may
    change it); None for the viewer: all theirs."""
    mine = [s.user_id == viewer for s in subs] if viewer is not None else [True]
    if all(mine):
        return f"Your {noun}"
    return f"Your {noun} and this channel's" if any(mine) else f"This channel's {noun}"


def list_message(
    subs: list[Subscription], note: str = "", offset: int = 0, user_id: str | None = None
) -> dict:
    """The /papers list reply: the page of `subs` from `offset` on, with Previous/Next when
    there are more, and a `note` (mrkdwn) after it when one is given; headed as `user_id`'s,
    the channel's (set up by others), or both."""
    if not subs:
        empty = "No subscriptions yet. Try `/papers subscribe lora daily at 09:00`."
        return text_message(empty + (f"\n{note}" if note else ""))
    # Keywords may be 200 characters: the lines go into as many sections as they need (each
    # holds 3,000), and stop short of the ~12k characters a message's blocks may total; Next
    # goes on from the first line that did not fit.
    lines = [describe(s) for s in subs[offset : offset + LIST_MAX]]
    while len(lines) > 1 and sum(len(line) + 1 for line in lines) > LIST_CHARS:
        lines.pop()
    count = len(lines)
    shown = f" ({len(subs)}) · {offset + 1}–{offset + count}" if count < len(subs) else ""
    lines = [f"*{_whose(subs, user_id)}*{shown}", *lines, LIST_FOOTER]
    lines += [truncate(note, SECTION_CHARS)] if note else []  # a section holds 3,000
    sections = _packed(lines)
    blocks: list = [SectionBlock(text=_mrkdwn(text=part)) for part in sections]
    buttons = []
    if offset > 0:
        back = str(list_page_before(subs, offset))
        buttons.append(ButtonElement(text="Previous", action_id="list_prev", value=back))
    if offset + count < len(subs):
        on = str(offset + count)
        buttons.append(ButtonElement(text="Next", action_id="list_next", value=on))
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    return {"text": "\n".join(sections), "blocks": _dump(blocks)}


def delivery_status(sub: Subscription, delivered: dict | None) -> str:
    """The last delivery, when it finished on the subscriber's clock, and why a skipped or
    failed one was not sent: "last digest skipped (nothing new): Tue, Mar 17 at 09:00 UTC"
    (the ledger's period, `2026-W12` or `alert:0-57`, means nothing to a reader)."""
    if not delivered or not delivered.get("finished_at"):
        return "no delivery yet"
    kind = "alert" if sub.is_instant else "digest"
    state = "" if delivered["state"] == "sent" else f" {delivered['state']}"
    why = f" ({truncate(delivered['detail'], 200)})" if state and delivered.get("detail") else ""
    return f"last {kind}{state}{why}: {_on_clock(sub, delivered['finished_at'])}"


def _fit(blocks: list[dict], room: int) -> list[dict]:
    """A preview in `room` blocks: whole papers (each starts with its section), then a line
    saying the rest did not fit, rather than a paper without its buttons and no word."""
    if len(blocks) <= room:
        return blocks
    cut = max(room - 1, 0)
    while cut > 0 and blocks[cut]["type"] != "section":
        cut -= 1
    note = (
        "_…the rest does not fit on App Home beside your subscriptions and reading list "
        "(it holds 100 blocks)._"
    )
    return blocks[:cut] + (
        [ContextBlock(elements=[_mrkdwn(text=note)]).to_dict()] if room > 0 else []
    )


def _change_buttons(sub: Subscription, where: str) -> list[ButtonElement]:
    """Pause (or Resume) and Remove for a subscription, on App Home (`home`) or a Manage
    reply (`manage`); action_ids must be unique within a view, so each carries its id."""
    verb = "resume" if sub.status == "paused" else "pause"
    return [
        ButtonElement(
            text=verb.capitalize(), action_id=f"{where}_{verb}_{sub.id}", value=str(sub.id)
        ),
        ButtonElement(
            text="Remove",
            action_id=f"{where}_remove_{sub.id}",
            value=str(sub.id),
            style="danger",
            confirm=_confirm_remove(sub),
        ),
    ]


def _confirm_remove(sub: Subscription) -> ConfirmObject:
    """Slack's are-you-sure for Remove: a slip of the mouse next to Pause took a
    subscription away for good, and its deliveries' history with it."""
    return ConfirmObject(
        title=f"Remove #{sub.id}?",
        text=_mrkdwn(
            f"#{sub.id}, {describe_when(sub)}, stops for good. *Pause* keeps it for later."
        ),
        confirm="Remove",
        deny="Keep it",
        style="danger",
    )


def home_view(
    subs: list[Subscription],
    last: dict[int, dict | None],
    preview: dict | None = None,
    preview_of: int | None = None,
    saved: list[dict] | None = None,
    again: tuple[str, str] | None = None,
    saved_total: int | None = None,
    under: int | None = None,
    now: datetime | None = None,
) -> dict:
    """The App Home tab: subscriptions with Preview, Pause/Resume and Remove, last delivery
    and next digest (as of `now`); a preview shows under its subscription, a reply to a
    button (`again`) under the subscription `under` (whose preview it was clicked in), else
    at the end."""
    blocks: list = [HeaderBlock(text=PlainTextObject(text="Your paper subscriptions"))]
    if not subs:
        blocks.append(
            SectionBlock(
                text=_mrkdwn(
                    text="Nothing yet. Type `/papers subscribe lora daily at 09:00` in any channel."
                )
            )
        )
    shown = subs[:25]
    saved_blocks = reading_list_blocks(saved, total=saved_total) if saved is not None else []
    # What is left for a preview once the subscriptions (3 blocks each), the header and the
    # reading list have their places (App Home holds HOME_BLOCKS). No divider between
    # subscriptions: with one, the most a user may have (25) filled all 100 blocks, and the
    # last one lost its buttons and the reading list its place.
    room = HOME_BLOCKS - 2 - 3 * len(shown) - len(saved_blocks)
    anchor = preview_of if preview_of is not None else under
    for sub in shown:
        # When the next digest comes, as Manage says it: a Resume on Home (which moves it
        # past the slots missed while paused) showed no word of it.
        due = next_delivery(sub, now) if now is not None else ""
        status = delivery_status(sub, last.get(sub.id)) + (f". {due}" if due else "")
        buttons = []
        if not sub.is_instant:
            buttons.append(
                ButtonElement(text="Preview", action_id=f"home_preview_{sub.id}", value=str(sub.id))
            )
        buttons += _change_buttons(sub, "home")
        blocks += [
            SectionBlock(text=_mrkdwn(text=describe(sub))),
            ContextBlock(elements=[_mrkdwn(text=escape_mrkdwn(status))]),
            ActionsBlock(elements=buttons),
        ]
        if preview and sub.id == anchor:
            blocks += _fit(preview["blocks"], room)
    blocks += saved_blocks
    if preview and anchor not in {s.id for s in shown}:
        blocks.append(DividerBlock())
        blocks += _fit(preview["blocks"], room)
    view = {"type": "home", "blocks": _dump(blocks[:HOME_BLOCKS])}
    # Which preview is shown, so a change made on Home (Save, Pause) keeps it in view: a
    # subscription's digest, or a reply to a button (`again`: its kind and value).
    kept: dict = {}
    if preview and preview_of is not None:
        kept = {"preview_of": preview_of}
    elif preview:
        kept = {"again": list(again)} if again else {}
        if anchor in {s.id for s in shown}:  # a click in this reply answers here too
            kept["under"] = anchor
    if kept:
        view["private_metadata"] = json.dumps(kept)
    return view


# --- issue 15: paper buttons, more like this, reading list, authors, unfurls -----------------
HOME_BLOCKS = 100  # App Home holds at most 100 blocks
SAVED_IN_HOME = 10
# Authors listed in one reply, each with its Papers by … button: an actions block holds 25.
AUTHORS_LISTED = 20


def paper_actions(paper: dict) -> ActionsBlock:
    """Save, More like this, Authors and (when a repository is known) Code for one paper.

    action_ids carry the paper id: they must be unique within a message of several papers."""
    pid = str(paper["id"])
    buttons = [
        ButtonElement(text="Save", action_id=f"save_paper_{pid}", value=pid),
        ButtonElement(text="More like this", action_id=f"more_like_{pid}", value=pid),
    ]
    if paper.get("authors"):
        buttons.append(ButtonElement(text="Authors", action_id=f"paper_authors_{pid}", value=pid))
    code = _safe_url(paper.get("code_url"))
    if code:
        buttons.append(ButtonElement(text="Code", action_id=f"code_link_{pid}", url=code))
    return ActionsBlock(elements=buttons)


def authors_line(names: list[str], room: int = SECTION_CHARS) -> str:
    """ "A, B, C et al." for the first three names (escaped, at most `room` characters)."""
    shown = ", ".join(_name(n) for n in names[:3]) + (" et al." if len(names) > 3 else "")
    return escaped_within(shown, room)


def papers_list_message(
    heading: str, papers: list[dict], empty: str, note: str = "", after: list | None = None
) -> dict:
    """A heading and a few papers with their buttons (More like this, author search), then
    the `after` blocks (a page's Previous and Next), all within one message."""
    if not papers:
        return text_message(empty)
    head = [SectionBlock(text=_mrkdwn(text=heading))]
    tail = [ContextBlock(elements=[_mrkdwn(text=note)])] if note else []
    blocks = _papers_in_room(head, papers[:PAGE_SIZE], _abstract, tail + (after or []))
    plain = heading.replace("*", "")
    return {"text": plain, "blocks": blocks}


def similar_message(paper: dict, similar: list[dict]) -> dict:
    """The papers most like one paper."""
    title = escape_mrkdwn(truncate(paper["title"], 150))
    return papers_list_message(
        f"*More like* _{title}_",
        similar,
        f"I found no papers like _{title}_ yet.",
    )


class AuthorPage(NamedTuple):
    """Which page of an author's papers a message shows: the name as typed (what its
    buttons search again), where the page starts, the newest paper id the pages keep to."""

    typed: str
    offset: int = 0
    newest: int | None = None


def author_message(
    name: str, papers: list[dict], total: int, people: list[str], page: AuthorPage | None = None
) -> dict:
    """Papers by one author, the latest added first, a page at a time with Previous and Next."""
    shown = escape_mrkdwn(name)
    plural = "s" if total != 1 else ""
    note = ""
    if len(people) > 1:
        listed = ", ".join(f"`{escape_mrkdwn(p)}`" for p in people[:5])
        note = f"`{shown}` could be {listed}: showing all; a full name narrows it."
    heading = f"*{total}* paper{plural} by *{shown}* · latest added first"
    offset = page.offset if page else 0
    if papers and (offset or len(papers) < total):
        heading += f" · showing {offset + 1}–{offset + len(papers)}"
    buttons = []
    if page and papers and offset > 0:
        value = _page_value(page.typed, max(offset - PAGE_SIZE, 0), page.newest)
        buttons.append(ButtonElement(text="Previous", action_id="author_prev", value=value))
    if page and papers and offset + len(papers) < total:
        value = _page_value(page.typed, offset + PAGE_SIZE, page.newest)
        buttons.append(ButtonElement(text="Next", action_id="author_next", value=value))
    # The page's buttons count toward the message's size with its papers.
    return papers_list_message(
        heading,
        papers,
        f"No papers by {shown} yet. Follow them with `/papers follow {shown}`.",
        note,
        [ActionsBlock(elements=buttons)] if buttons else None,
    )


def authors_message(paper: dict) -> dict:
    """A paper's authors, each with a button for their papers and the command to type."""
    names = paper.get("authors") or []
    title = escape_mrkdwn(truncate(paper["title"], 150))
    # An author search needs a given name or initial (storage.authors.require_name): a
    # name without one ("DeepSeek-AI", a mononym) gets no button or command that would
    # only answer "Give a first name or initial and a surname".
    searchable = {n for n in names if (parsed := parse_name(n)) is not None and parsed.given}

    def render(count: int) -> list[dict]:
        lines = [f"*Authors of* _{title}_"]
        for name in names[:count]:
            line = f"• {escape_mrkdwn(_name(name))}"
            if name in searchable:
                line += ": " + code(f'/papers author:"{name}"')
            # Whole lines only: a cut inside a `code span` would leave it open.
            if sum(len(x) + 1 for x in lines) + len(line) > 2800:
                break
            lines.append(line)
        listed = len(lines) - 1
        if len(names) > listed:
            lines.append(f"…and {len(names) - listed} more")
        # Every listed author that can be searched gets its button, and only those.
        buttons = [
            ButtonElement(
                text=truncate(f"Papers by {name}", 75),
                action_id=f"author_search_{index}",
                value=truncate(name, 200),
            )
            for index, name in enumerate(names[:listed])
            if name in searchable
        ]
        text = truncate("\n".join(lines), 2900)
        blocks: list = [SectionBlock(text=_mrkdwn(text=text))]
        if buttons:
            blocks.append(ActionsBlock(elements=buttons))
        return _dump(blocks)

    # Names that grow in the JSON Slack receives (emoji) make fewer fit one message.
    blocks = _fitting(render, min(len(names), AUTHORS_LISTED))[1]
    return {"text": f"Authors of {title}", "blocks": blocks}


def saved_item_blocks(paper: dict, offset: int = 0) -> list:
    """One saved paper: title and context with a Remove button beside it (its block says
    which page of the reading list it is on, for the list shown again after a Remove)."""
    head = title_link(paper)
    text = f"{head}\n{paper_context(paper, SECTION_CHARS - len(head) - 1)}"
    return [
        SectionBlock(
            block_id=f"saved_{offset}_{paper['id']}",
            text=_mrkdwn(text=text),
            accessory=ButtonElement(
                text="Remove", action_id=f"saved_remove_{paper['id']}", value=str(paper["id"])
            ),
        )
    ]


SAVED_PAGE = 20  # papers on one page of /papers saved


def saved_page_of(block_id: str) -> int:
    """The reading-list page offset a saved paper's block names (0 when it names none)."""
    parts = block_id.split("_")
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else 0


def saved_message(papers: list[dict], total: int, offset: int = 0) -> dict:
    """/papers saved: a page of the reading list, newest first, each with Remove, and
    Previous/Next when it holds more."""
    if not papers:
        return text_message(
            "Your reading list is empty. Press *Save* on any paper to keep it here."
        )

    def render(count: int) -> list[dict]:
        shown = f" · {offset + 1}–{offset + count}" if total > count or offset else ""
        blocks: list = [SectionBlock(text=_mrkdwn(text=f"*Your reading list* ({total}){shown}"))]
        for paper in papers[:count]:
            blocks += saved_item_blocks(paper, offset)
        buttons = []
        if offset > 0:
            back = str(max(offset - SAVED_PAGE, 0))
            buttons.append(ButtonElement(text="Previous", action_id="saved_prev", value=back))
        if offset + count < total:
            on = str(offset + count)
            buttons.append(ButtonElement(text="Next", action_id="saved_next", value=on))
        if buttons:
            blocks.append(ActionsBlock(elements=buttons))
        return _dump(blocks)

    # Long (escaped) titles make fewer fit one message: the newest that do; Next goes on
    # from the first that did not.
    blocks = _fitting(render, len(papers))[1]
    plural = "s" if total != 1 else ""
    return {"text": f"Your reading list: {total} paper{plural}", "blocks": blocks}


def reading_list_blocks(
    papers: list[dict], room: int = HOME_BLOCKS, total: int | None = None
) -> list:
    """The App Home section of the reading list (at most `room` blocks); past the newest
    SAVED_IN_HOME of `total`, where the rest are."""
    blocks: list = [DividerBlock(), HeaderBlock(text=PlainTextObject(text="Your reading list"))]
    if not papers:
        blocks.append(SectionBlock(text=_mrkdwn(text="Press *Save* on any paper to keep it here.")))
    for paper in papers[:SAVED_IN_HOME]:
        blocks += saved_item_blocks(paper)
    rest = (total or 0) - len(papers[:SAVED_IN_HOME])
    if rest > 0:
        more = f"…and {rest} more: `/papers saved`"
        blocks.append(ContextBlock(elements=[_mrkdwn(text=more)]))
    return blocks[: max(room, 0)]


def follow_message(sub: Subscription, known: int) -> dict:
    """The reply to /papers follow."""
    seen = f"{known} paper{'s' if known != 1 else ''} by them so far" if known else "none yet"
    return text_message(
        f"Following: {describe(sub)}\nI will DM you when a new paper of theirs arrives ({seen})."
    )


# What the member who set up a channel's digest can do about why Slack refused it.
_CHANNEL_FIXES = {
    "not_in_channel": "I am no longer in it: type `/invite @papers` there, then",
    "is_archived": "it was archived: unarchive it, then",
    "channel_not_found": "Slack cannot find it (deleted, or private without me): invite me, then",
}


def paused_notice(sub: Subscription, error: str) -> dict:
    """A DM to the member who set up a channel's digest: Slack refused it in the channel,
    so it is paused (nobody there is told by a digest that no longer comes)."""
    fix = _CHANNEL_FIXES.get(error, f"Slack said {escape_mrkdwn(error)}: once I may post there,")
    text = (
        f"Your {'alerts' if sub.is_instant else 'digest'} *#{sub.id}* for <#{sub.target}>"
        f" {'are' if sub.is_instant else 'is'} paused: {fix} type"
        f" `/papers resume {sub.id}`, or `/papers unsubscribe {sub.id}` to stop it."
    )
    return text_message(text)


def author_alert_message(papers: list[dict], author: str, subscription_id: int) -> dict:
    """An alert for new papers by a followed author."""
    heading = f"New paper{'s' if len(papers) != 1 else ''} by {author}"
    more = f'/papers author:"{author}"'
    return _alert(papers, heading, more, subscription_id, escape_mrkdwn(truncate(heading, 150)))


def paper_message(paper: dict) -> dict:
    """One paper, as `/papers` shows a pasted link or arXiv id it has."""
    text = escape_mrkdwn(truncate(paper["title"], 150))
    return {"text": text, "blocks": unfurl_blocks(paper)}


def unfurl_blocks(paper: dict, reason: str | None = None) -> list[dict]:
    """A pasted paper link's preview: title, authors, date, upvotes and why it trends, with
    the paper's buttons (Save, More like this, Authors, Code)."""
    lines = [title_link(paper)]
    if paper.get("authors"):
        lines.append(authors_line(paper["authors"], SECTION_CHARS - len(lines[0]) - 1))
    elif paper.get("authors_count"):
        lines.append(plural(paper["authors_count"], "author"))
    facts = []
    if paper.get("published"):
        facts.append(_day(paper["published"]) or "")
    if paper.get("upvotes"):
        facts.append(f"▲ {plural(paper['upvotes'], 'upvote')}")
    if reason:
        facts.append(f"trending: {reason}")
    blocks: list = [SectionBlock(text=_mrkdwn(text="\n".join(lines)))]
    if facts:
        blocks.append(ContextBlock(elements=[_mrkdwn(text=escape_mrkdwn(" · ".join(facts)))]))
    blocks.append(paper_actions(paper))
    return _dump(blocks)


# --- Manage subscription (on a digest or an alert) -------------------------------------
MANAGE_OTHERS = 10  # the member's other subscriptions listed under the one managed


def subscribe_command(sub: Subscription) -> str:
    """The `/papers subscribe …` that makes `sub` as it is: typed with another time or day
    (in the same place), it moves this subscription instead of making another."""
    words = ["/papers subscribe"] + (["channel"] if sub.kind == "channel" else [])
    words += [sub.keywords] if sub.keywords else []
    if sub.is_instant:
        return " ".join([*words, "instant"])
    if sub.frequency == Frequency.WEEKLY:
        words += ["weekly on", WEEKDAYS[sub.weekday]]
    else:
        words.append(sub.frequency)
    # A digest that follows the member's Slack timezone names none: typed, one would pin it.
    return " ".join([*words, "at", sub.at_time] + ([] if sub.slack_tz else [sub.tz]))


def _how_to_change(sub: Subscription) -> str:
    """The commands that change `sub`, for a member who may."""
    if sub.author:  # an author follow: no schedule of its own
        stop = code(f"/papers unfollow {sub.author}")
        return f"Stop following: {stop} · {code(f'/papers pause {sub.id}')}"
    where = f" in <#{sub.target}>" if sub.kind == "channel" else ""
    lines = [
        f"Change when it comes: type {code(subscribe_command(sub))}{where} with another "
        "time, day or frequency.",
        f"{code(f'/papers pause {sub.id}')} · {code(f'/papers resume {sub.id}')} · "
        f"{code(f'/papers unsubscribe {sub.id}')}",
    ]
    return "\n".join(lines)


def _others(others: list[Subscription], viewer: str | None = None) -> list[dict]:
    """The member's other subscriptions (and the channel's, when `viewer` did not set them
    all up), briefly, and where all of them are."""
    if not others:
        return []
    # A channel's digest another member set up is not the viewer's: headed "yours", it
    # seemed theirs to pause on App Home, which never shows it.
    heading = f"*{_whose(others, viewer, 'other subscriptions')}*"
    mine = viewer is None or any(s.user_id == viewer for s in others)

    def text(lines: list[str]) -> str:
        # Named on the line itself: "…and 34 more." alone left nothing to open.
        rest = len(others) - len(lines)
        where = (
            f"…and {rest} more: `/papers list` shows them all, with *Next* past {LIST_MAX}."
            if rest
            else "`/papers list` lists them all."
        )
        closing = ["App Home has Pause and Remove for each of yours."] if mine else []
        return "\n".join([heading, *lines, where, *closing])

    # Whole lines only, as many as fit: a line cut short (long keywords, each `&` five
    # characters escaped) left a code span open and lost the lines saying where the rest are.
    lines = [describe(s) for s in others[:MANAGE_OTHERS]]
    while lines and len(text(lines)) > SECTION_CHARS:
        lines.pop()
    return [SectionBlock(text=_mrkdwn(text=truncate(text(lines), SECTION_CHARS)))]


def manage_message(
    sub: Subscription,
    delivered: dict | None,
    now: datetime,
    can_change: bool,
    others: list[Subscription],
    note: str | None = None,
    viewer: str | None = None,
) -> dict:
    """The reply to Manage subscription: the subscription the message was for, its state,
    its buttons (Pause/Resume, Remove) and commands when the clicker may change it; then
    their other subscriptions (and the channel's: `viewer`, the clicker, tells which are
    theirs). `note` says what a button just did."""
    status = delivery_status(sub, delivered)
    due = next_delivery(sub, now)
    lines = [f"*Managing* {describe(sub)}", escape_mrkdwn(status) + (f". {due}" if due else "")]
    blocks: list = []
    if note:
        blocks.append(ContextBlock(elements=[_mrkdwn(text=note)]))
    blocks.append(SectionBlock(text=_mrkdwn(text="\n".join(lines))))
    if can_change:
        blocks.append(ActionsBlock(elements=_change_buttons(sub, "manage")))
        how = _how_to_change(sub)
    else:
        how = (
            f"<@{sub.user_id}> set it up: only they or a workspace admin can pause, change or "
            "remove it."
        )
    blocks.append(ContextBlock(elements=[_mrkdwn(text=how)]))
    blocks += _others(others, viewer)
    text = f"Subscription #{sub.id}: {describe_when(sub)}"
    return {"text": text, "blocks": _dump(blocks)}


def manage_gone_message(
    subscription_id: int,
    others: list[Subscription],
    removed: Subscription | None = None,
    viewer: str | None = None,
) -> dict:
    """Manage on a message whose subscription is gone (or Remove just took it away);
    `viewer` as for manage_message."""
    if removed is not None:
        head = f"Removed {describe(removed)}: nothing more comes from it."
    else:
        which = f"Subscription #{subscription_id}" if subscription_id else "That subscription"
        head = (
            f"{which} is gone: it was removed, so nothing more comes from it. This message "
            "stays as it was."
        )
    if not others:
        head += "\nNo subscriptions left. Try `/papers subscribe lora daily at 09:00`."
    blocks: list = [SectionBlock(text=_mrkdwn(text=head)), *_others(others, viewer)]
    return {"text": head, "blocks": _dump(blocks)}
