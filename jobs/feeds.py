"""Parsers for RSS/Atom feeds (arXiv RSS and API included) and Hugging Face daily papers JSON."""

from __future__ import annotations

import html
import json
import re
from datetime import date, datetime
from typing import Any

import feedparser

from jobs.parsing import Parsed, Skip
from storage.code_links import normalize_repo_url
from storage.models import Entry
from storage.text import arxiv_id, clean

_TAGS = re.compile(r"<[^>]+>")
_ARXIV_PREFIX = re.compile(r"^arXiv:\S+\s+Announce Type:\s*\S+\s*(?:Abstract:\s*)?", re.I)


def _plain(text: str | None) -> str:
    return clean(html.unescape(_TAGS.sub(" ", text or "")))


def _feed_date(entry: Any) -> str | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    try:
        return date(parsed.tm_year, parsed.tm_mon, parsed.tm_mday).isoformat()
    except (ValueError, AttributeError):
        return None


def _authors(entry: Any) -> list[str]:
    names = [clean(a.get("name", "")) for a in entry.get("authors", []) if isinstance(a, dict)]
    names = [n for n in names if n]
    # arXiv RSS puts every author in one dc:creator, comma separated.
    if len(names) == 1 and "," in names[0]:
        names = [n.strip() for n in names[0].split(",") if n.strip()]
    return names


def parse_feed(data: bytes, fetched_on: date) -> Parsed:
    """Parse RSS or Atom bytes; a feed that is not one gives a skip, not an exception."""
    feed = feedparser.parse(data)
    result = Parsed()
    if feed.bozo and not feed.entries:
        reason = type(feed.get("bozo_exception", None)).__name__
        result.skips.append(Skip("feed", f"not a readable RSS/Atom feed ({reason})"))
        return result
    for number, item in enumerate(feed.entries, 1):
        title = _plain(item.get("title"))
        abstract = _ARXIV_PREFIX.sub("", _plain(item.get("summary") or item.get("description")))
        if not abstract:
            result.skips.append(Skip(f"item {number}", "no abstract"))
            continue
        link = item.get("link") or ""
        ident = arxiv_id(item.get("id")) or arxiv_id(link)
        published = _feed_date(item)
        result.entries.append(
            Entry(
                abstract=abstract,
                title=title or None,
                authors=_authors(item),
                published=published,
                arxiv_id=ident,
                url=f"https://arxiv.org/abs/{ident}" if ident else (link or None),
                listed_on=published or fetched_on.isoformat(),
            )
        )
    return result


def _iso_day(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        return None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _hf_item(item: Any, fetched_on: date) -> Entry | str:
    """One daily papers item as an Entry, or the reason it cannot be one."""
    if not isinstance(item, dict) or not isinstance(item.get("paper"), dict):
        return "item has no paper object"
    paper = item["paper"]
    summary = paper.get("summary")
    if not isinstance(summary, str) or not clean(summary):
        return "paper has no summary"
    title = paper.get("title") if isinstance(paper.get("title"), str) else None
    ident = arxiv_id(paper.get("id")) if isinstance(paper.get("id"), str) else None
    authors = paper.get("authors") if isinstance(paper.get("authors"), list) else []
    names = [
        clean(a["name"]) for a in authors if isinstance(a, dict) and isinstance(a.get("name"), str)
    ]
    return Entry(
        abstract=clean(summary),
        title=clean(title) if title and clean(title) else None,
        authors=[n for n in names if n],
        published=_iso_day(paper.get("publishedAt")),
        upvotes=_int_or_none(paper.get("upvotes")),
        comments=_int_or_none(item.get("numComments")),
        arxiv_id=ident,
        url=f"https://arxiv.org/abs/{ident}" if ident else None,
        listed_on=_iso_day(item.get("publishedAt")) or fetched_on.isoformat(),
        code_url=normalize_repo_url(paper.get("githubRepo") or item.get("githubRepo")),
    )


def parse_hf_json(data: bytes, fetched_on: date) -> Parsed:
    """Parse Hugging Face's daily papers JSON (a list of items); bad items are skipped."""
    result = Parsed()
    try:
        items = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        result.skips.append(Skip("json", f"not valid JSON ({type(exc).__name__})"))
        return result
    if isinstance(items, dict):  # some mirrors wrap the list
        items = items.get("papers") or items.get("items") or []
    if not isinstance(items, list):
        result.skips.append(Skip("json", "expected a list of papers"))
        return result
    for number, item in enumerate(items, 1):
        made = _hf_item(item, fetched_on)
        if isinstance(made, str):
            result.skips.append(Skip(f"item {number}", made))
        else:
            result.entries.append(made)
    return result


def sniff(data: bytes) -> str:
    """Guess an input's format from its first bytes: "json", "feed" or "dump"."""
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] in (b"[", b"{"):
        return "json"
    if head[:1] == b"<":
        return "feed"
    return "dump"
