"""Block Kit for every message and view the app shows, built with slack_sdk.models.

Every piece of paper text goes through escape_mrkdwn before it reaches mrkdwn, so a title
like `<!channel> hi` pings nobody and `<http://x|click>` never becomes a link.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.text import escape_mrkdwn, truncate
from storage.schedule import WEEKDAYS, Frequency
from storage.search import HIGHLIGHT, SearchResult
from storage.subscriptions import Subscription
from storage.trending import Signals

PAGE_SIZE = 5
TITLE_CHARS = 250
SNIPPET_CHARS = 600
HELP = [
    ("/papers lora adapters", 'search (words, "a phrase", a OR b, -exclude, prefix*)'),
    ("/papers trending [today|week]", "what is trending, and why"),
    (
        "/papers subscribe lora [daily|weekdays|weekly|instant] [at 09:00] [on monday]",
        "a personal digest or alert by DM",
    ),
    ("/papers subscribe channel [daily|weekly] [at 09:00] [keywords]", "a digest for this channel"),
    ("/papers list", "subscriptions you and this channel have"),
    ("/papers unsubscribe 3 | lora | all", "stop a subscription"),
    ("/papers help", "this help"),
]


def _safe_url(url: str | None) -> str | None:
    # Only plain http(s) links: anything with Slack's control characters could break out.
    if not url or not url.startswith(("https://", "http://")):
        return None
    if any(ch in url for ch in "<>| \n"):
        return None
    return url


def title_link(paper: dict) -> str:
    """The paper's title, escaped and bold, linked to its page when there is one."""
    title = escape_mrkdwn(truncate(paper["title"], TITLE_CHARS))
    url = _safe_url(paper.get("url"))
    return f"*<{url}|{title}>*" if url else f"*{title}*"


def _snippet(paper: dict) -> str:
    raw = paper.get("snippet") or paper["abstract"]
    text = escape_mrkdwn(truncate(raw, SNIPPET_CHARS))
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
        parts.append(f"+{why.growth} upvotes since {_short_day(why.since)}")
    elif why.upvotes > 0:
        parts.append(f"{why.upvotes} upvote{'s' if why.upvotes != 1 else ''}")
    if why.sources > 1:
        parts.append(f"in {why.sources} sources")
    parts.append(f"listed {_short_day(why.last_listed)}")
    return ", ".join(parts)


def _reason(paper: dict) -> str:
    return reason_text(paper["signals"]) if paper.get("signals") else ""


def paper_context(paper: dict) -> str:
    """Authors, date, upvotes and sources on one line."""
    parts = []
    if paper.get("authors"):
        names = paper["authors"]
        parts.append(", ".join(names[:3]) + (f" +{len(names) - 3}" if len(names) > 3 else ""))
    elif paper.get("authors_count"):
        parts.append(f"{paper['authors_count']} authors")
    if paper.get("published"):
        parts.append(_day(paper["published"]) or "")
    if paper.get("upvotes"):
        parts.append(f"▲ {paper['upvotes']}")
    sources = paper.get("sources") or 0
    parts.append(f"{sources} source{'s' if sources != 1 else ''}")
    if paper.get("title_derived"):
        parts.append("untitled listing")
    return escape_mrkdwn(" · ".join(p for p in parts if p))


def paper_blocks(paper: dict, body: str) -> list:
    """A section (title + body) and a context line for one paper."""
    return [
        SectionBlock(text=MarkdownTextObject(text=f"{title_link(paper)}\n{body}")),
        ContextBlock(elements=[MarkdownTextObject(text=paper_context(paper))]),
    ]


def _dump(blocks: list) -> list[dict]:
    return [b.to_dict() if hasattr(b, "to_dict") else b for b in blocks]


def search_message(result: SearchResult) -> dict:
    """One page of results with Share, Previous and Next; or did-you-mean and a tip."""
    query = escape_mrkdwn(result.query)
    if not result.papers:
        lines = [f"No papers match `{query}`."]
        if result.suggestions:
            lines.append(f"Did you mean `{escape_mrkdwn(result.suggestions[0])}`?")
        lines.append("Tip: fewer words, a prefix like `diffus*`, or `a OR b` find more.")
        return {
            "text": lines[0],
            "blocks": _dump([SectionBlock(text=MarkdownTextObject(text="\n".join(lines)))]),
        }
    first, last = result.offset + 1, result.offset + len(result.papers)
    plural = "s" if result.total != 1 else ""
    total = f"{result.total:,}+" if result.total_capped else f"{result.total:,}"
    header = f"*{total}* paper{plural} match `{query}` · showing {first}–{last}"
    blocks: list = [SectionBlock(text=MarkdownTextObject(text=header))]
    for paper in result.papers:
        blocks += paper_blocks(paper, _snippet(paper))
    buttons = [
        ButtonElement(
            text="Share in channel",
            action_id="search_share",
            value=_page_value(result.query, result.offset),
        )
    ]
    if result.offset > 0:
        buttons.append(
            ButtonElement(
                text="Previous",
                action_id="search_prev",
                value=_page_value(result.query, max(result.offset - PAGE_SIZE, 0)),
            )
        )
    if last < result.total or result.total_capped:
        buttons.append(
            ButtonElement(
                text="Next",
                action_id="search_next",
                value=_page_value(result.query, result.offset + PAGE_SIZE),
            )
        )
    blocks.append(ActionsBlock(elements=buttons))
    text = f"{total} papers match {escape_mrkdwn(result.query)}"
    return {"text": text, "blocks": _dump(blocks)}


def shared_message(result: SearchResult, user_id: str) -> dict:
    """The results page as posted to the channel: no buttons, who shared it."""
    message = search_message(result)
    blocks = [b for b in message["blocks"] if b["type"] != "actions"]
    blocks.append(
        ContextBlock(
            elements=[MarkdownTextObject(text=f"Shared by <@{user_id}> with /papers")]
        ).to_dict()
    )
    return {"text": message["text"], "blocks": blocks}


def _page_value(query: str, offset: int) -> str:
    return json.dumps({"q": query, "o": offset})


def page_from_value(value: str) -> tuple[str, int]:
    """The query and offset a Share/Next/Previous button carries."""
    data = json.loads(value)
    return str(data["q"]), max(int(data["o"]), 0)


def trending_message(papers: list[dict], window: str) -> dict:
    """The trending list with a reason under each paper."""
    title = "Trending today" if window == "day" else "Trending this week"
    if not papers:
        return text_message("Nothing is listed yet; papers arrive with the next ingest.")
    blocks: list = [HeaderBlock(text=PlainTextObject(text=title))]
    for rank, paper in enumerate(papers, 1):
        body = f"_{escape_mrkdwn(_reason(paper))}_"
        blocks += paper_blocks({**paper, "title": f"{rank}. {paper['title']}"}, body)
    return {"text": f"{title}: {len(papers)} papers", "blocks": _dump(blocks)}


def _manage(subscription_id: int) -> ActionsBlock:
    """The Manage button under every digest and alert."""
    return ActionsBlock(
        elements=[
            ButtonElement(
                text="Manage subscription", action_id="digest_manage", value=str(subscription_id)
            )
        ]
    )


def digest_heading(sub: Subscription, due: datetime) -> str:
    """E.g. "Daily papers on “lora” · Tue, Mar 17"."""
    local = sub.schedule.local(due)
    kind = "Weekly" if sub.frequency == Frequency.WEEKLY else "Daily"
    topic = f" on “{sub.keywords}”" if sub.keywords else ""
    return f"{kind} papers{topic} · {local.strftime('%a, %b %-d')}"


def digest_message(
    papers: list[dict], heading: str, subscription_id: int, note_if_empty: bool
) -> dict | None:
    """A digest: header with the date, each paper with its reason, and a Manage button."""
    if not papers:
        if not note_if_empty:
            return None
        return text_message(f"{escape_mrkdwn(heading)}: nothing new since your last digest.")
    blocks: list = [HeaderBlock(text=PlainTextObject(text=truncate(heading, 150)))]
    for paper in papers:
        why = escape_mrkdwn(_reason(paper))
        body = f"_{why}_\n{escape_mrkdwn(truncate(paper['abstract'], 280))}"
        blocks += paper_blocks(paper, body)
    blocks.append(_manage(subscription_id))
    return {"text": f"{escape_mrkdwn(heading)}: {len(papers)} papers", "blocks": _dump(blocks)}


def alert_message(papers: list[dict], keywords: str, subscription_id: int) -> dict:
    """A keyword alert for papers that just arrived."""
    heading = f"New on “{truncate(keywords, 100)}”"
    blocks: list = [HeaderBlock(text=PlainTextObject(text=heading))]
    for paper in papers[:20]:
        blocks += paper_blocks(paper, escape_mrkdwn(truncate(paper["abstract"], 280)))
    if len(papers) > 20:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"…and {len(papers) - 20} more: `/papers {escape_mrkdwn(keywords)}`"
                )
            )
        )
    blocks.append(_manage(subscription_id))
    text = f"{len(papers)} new papers on {escape_mrkdwn(keywords)}"
    return {"text": text, "blocks": _dump(blocks)}


def text_message(text: str) -> dict:
    """A plain one-section reply."""
    return {"text": text, "blocks": _dump([SectionBlock(text=MarkdownTextObject(text=text))])}


def help_message(note: str | None = None) -> dict:
    """Every command with an example."""
    lines = [f"`{cmd}`: {what}" for cmd, what in HELP]
    text = (
        ((note + "\n\n") if note else "")
        + "*papers* keeps you on top of new ML papers.\n"
        + "\n".join(lines)
    )
    return text_message(text)


def describe(sub: Subscription) -> str:
    """One line about a subscription, for /papers list and App Home."""
    where = "DM" if sub.kind == "personal" else f"<#{sub.target}>"
    what = f"“{escape_mrkdwn(sub.keywords)}”" if sub.keywords else "trending"
    if sub.frequency == "instant":
        when = "instant alerts"
    elif sub.frequency == "weekly":
        day = WEEKDAYS[sub.weekday].capitalize()
        when = f"weekly on {day} at {sub.at_time} {sub.tz}"
    else:
        when = f"{sub.frequency} at {sub.at_time} {sub.tz}"
    line = f"*#{sub.id}* {what} → {where}, {when}"
    if sub.status == "paused":
        line += f" · _paused{': ' + escape_mrkdwn(sub.paused_reason) if sub.paused_reason else ''}_"
    return line


def list_message(subs: list[Subscription]) -> dict:
    """The /papers list reply."""
    if not subs:
        return text_message("No subscriptions yet. Try `/papers subscribe lora daily at 09:00`.")
    lines = [describe(s) for s in subs[:40]]
    return text_message(
        "*Your subscriptions*\n"
        + "\n".join(lines)
        + "\nRemove one with `/papers unsubscribe &lt;id&gt;`."
    )


def home_view(
    subs: list[Subscription], last: dict[int, dict | None], preview: dict | None = None
) -> dict:
    """The App Home tab: subscriptions with Pause/Resume and Remove, last delivery, preview."""
    blocks: list = [
        HeaderBlock(text=PlainTextObject(text="Your paper subscriptions")),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Preview my digest",
                    action_id="home_preview",
                    value="preview",
                    style="primary",
                )
            ]
        ),
    ]
    if not subs:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text="Nothing yet. Type `/papers subscribe lora daily at 09:00` in any channel."
                )
            )
        )
    for sub in subs[:25]:
        delivered = last.get(sub.id)
        status = (
            f"last delivery: {delivered['state']} {delivered['period']}"
            if delivered
            else "no delivery yet"
        )
        # action_ids must be unique within a view, so each carries the subscription id.
        toggle = ("Resume", "home_resume") if sub.status == "paused" else ("Pause", "home_pause")
        blocks += [
            DividerBlock(),
            SectionBlock(text=MarkdownTextObject(text=describe(sub))),
            ContextBlock(elements=[MarkdownTextObject(text=escape_mrkdwn(status))]),
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text=toggle[0], action_id=f"{toggle[1]}_{sub.id}", value=str(sub.id)
                    ),
                    ButtonElement(
                        text="Remove",
                        action_id=f"home_remove_{sub.id}",
                        value=str(sub.id),
                        style="danger",
                    ),
                ]
            ),
        ]
    if preview:
        blocks.append(DividerBlock())
        blocks += preview["blocks"][:40]
    return {"type": "home", "blocks": _dump(blocks)}
