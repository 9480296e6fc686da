"""Parsers for RSS/Atom feeds (arXiv RSS and API included) and Hugging Face daily papers JSON."""

from __future__ import annotations

import html
import json
import re
from datetime import date, datetime, timedelta
from typing import Any

import feedparser

from jobs.parsing import (
    ABSTRACT_MAX_CHARS,
    MAX_COUNT,
    MONTHS,
    NOT_UTF8,
    TITLE_MAX_CHARS,
    Parsed,
    bounded_count,
    bounded_text,
    yearless_date,
)
from storage.authors import is_suffix
from storage.code_links import normalize_repo_url
from storage.models import Entry
from storage.text import arxiv_id, clean

# HTML tags a feed's text may carry, by name: a `<` before anything else is text. arXiv's
# RSS is plain text, where `$p<0.05$ and $n>100$` is maths, and `<!channel>` a title's words
# (escaped when shown in Slack), not a tag to cut from `<` to the next `>`.
_INLINE_TAGS = (
    "a|abbr|b|big|cite|code|del|em|font|i|ins|kbd|mark|q|s|small|span|strike|strong|sub|sup"
    "|tt|u|var"
)
_BLOCK_TAGS = (
    "address|article|aside|audio|blockquote|br|canvas|caption|center|col|colgroup|dd|details"
    "|dialog|div|dl|dt|embed|fieldset|figcaption|figure|footer|form|h[1-6]|header|hgroup|hr"
    "|iframe|img|input|label|legend|li|main|nav|object|ol|option|p|picture|pre|section|select"
    "|source|summary|svg|table|tbody|td|textarea|tfoot|th|thead|time|tr|track|ul|video|wbr"
    # MathML, as a feed's sanitiser lets it through: its tokens read apart ("x < 1").
    "|math|semantics|annotation|annotation-xml|mrow|mi|mo|mn|ms|mtext|mspace|msup|msub"
    "|msubsup|mfrac|msqrt|mroot|mover|munder|munderover|mtable|mtr|mtd|mstyle|mpadded"
    "|mphantom|menclose|merror|mfenced"
)
_TAG = r"</?(?:{})(?![\w-])(?:\s[^<>]*)?/?>"
_INLINE = re.compile(_TAG.format(_INLINE_TAGS), re.I)  # CO<sub>2</sub> reads CO2
_BLOCK = re.compile(_TAG.format(_BLOCK_TAGS) + r"|<!--.*?-->", re.I | re.S)
_HTML = re.compile(rb"<(?:!doctype\s+)?html[\s>]", re.I)
_ARXIV_PREFIX = re.compile(
    r"^arXiv:(?P<id>\S+)\s+(?:Announce Type:\s*(?P<type>\S+)\s*(?:Abstract:\s*)?|Abstract:\s*)",
    re.I,
)
_API_ERROR = re.compile(r"https?://(?:export\.)?arxiv\.org/api/errors", re.I)
_VERSION = re.compile(r"\d(?:v(\d{1,4}))$")
ANNOUNCE_TYPES = {"new", "cross", "replace", "replace-cross"}
REVISIONS = {"replace", "replace-cross"}  # a new version of an older paper
# Real daily papers JSON nests 4 levels deep; deeper input is not that format (and would
# exhaust the parser's stack).
MAX_JSON_DEPTH = 32
# A feed item without an arXiv announce type that was published more than this long before
# the feed was read is the back catalogue (an arXiv API search), not news.
NEWS_DAYS = 7
_JSON_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _plain(text: str | None) -> str:
    return clean(html.unescape(_BLOCK.sub(" ", _INLINE.sub("", text or ""))))


def _feed_date(entry: Any, fetched_on: date) -> str | None:
    raw = entry.get("published") or entry.get("updated")
    # dict.get: feedparser's own get maps a missing updated_parsed to published_parsed,
    # with a deprecation warning.
    parsed = entry.get("published_parsed") or dict.get(entry, "updated_parsed")
    yearless = isinstance(raw, str) and not _YEAR.search(raw)
    if yearless and (not parsed or raw.strip().startswith("--") or parsed.tm_year < 1900):
        # No year in it: feedparser gives up ("Tue, 17 Mar 00:00:00"), takes the wall
        # clock's ("--12-29") or a zone offset's ("1 Jan 00:30:00 +0100": the year 100);
        # the year is the one the feed was read in, or the last. A date it did read
        # ("20260317", compact ISO) has its year, unseen by _YEAR.
        return _yearless(raw, fetched_on)
    if not parsed:
        return None
    try:
        return date(parsed.tm_year, parsed.tm_mon, parsed.tm_mday).isoformat()
    except (ValueError, AttributeError):
        return None


_MONTH = rf"(?P<month>{'|'.join(MONTHS)})[a-z]*\.?"
# A year: 4 digits (not a zone offset such as -0400) or RFC 822's 2 ("17 Mar 26 00:00").
_YEAR = re.compile(r"(?<![\d+-])\d{4}(?!\d)|\b\d{1,2}\s+[a-z]{3,9}\.?\s+\d{2}\b(?!:)", re.I)
_DAY_MONTH = rf"(?P<day2>\d{{1,2}})\s+{_MONTH.replace('month', 'month2')}"
_MONTH_DAY = re.compile(
    rf"\b{_MONTH}\s+(?P<day>\d{{1,2}})\b|\b{_DAY_MONTH}|^--(?P<mm>\d\d)-?(?P<dd>\d\d)\b", re.I
)


def _yearless(raw: str, fetched_on: date) -> str | None:
    """A year-less date ("Tue, 17 Mar", "--03-17") as of the day the feed was read
    (jobs.parsing.yearless_date)."""
    match = _MONTH_DAY.search(raw.strip())
    if not match:
        return None
    if match.group("mm"):
        month, day = int(match.group("mm")), int(match.group("dd"))
    else:
        name = match.group("month") or match.group("month2")
        month = MONTHS[name[:3].lower()]
        day = int(match.group("day") or match.group("day2"))
    found = yearless_date(month, day, fetched_on)
    return found.isoformat() if found else None


# An author's affiliations as arXiv's dc:creator writes them: "Edward J. Hu (Microsoft)".
_AFFILIATION = re.compile(r"\s*\([^()]*\)")


def _outside_parentheses(text: str) -> list[str]:
    """`text` split at its commas outside parentheses ("A (MIT, CSAIL), B" → 2 parts); at
    every comma when its parentheses do not pair up (a feed cut short)."""
    if "(" not in text and ")" not in text:  # most lists: no affiliations, no loop in Python
        return text.split(",")
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            break
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth != 0:
        return text.split(",")
    return [*parts, text[start:]]


def _without_affiliations(name: str) -> str:
    """The name without its parenthesized affiliations ("Edward J. Hu (Microsoft)" → "Edward
    J. Hu"): read as a name, the affiliation was the surname, and no follow matched."""
    if "(" not in name:
        return name.strip()
    while (bare := _AFFILIATION.sub("", name)) != name:
        name = bare
    return name.strip()


def _authors(entry: Any) -> list[str]:
    names = [clean(a.get("name", "")) for a in entry.get("authors", []) if isinstance(a, dict)]
    names = [n for n in names if n]
    # arXiv RSS puts every author in one dc:creator, comma separated, each with its
    # affiliations in parentheses (themselves comma separated).
    if len(names) == 1 and "," in names[0]:
        parts, names = [p.strip() for p in _outside_parentheses(names[0])], []
        for part in parts:
            if part and names and is_suffix(part):
                names[-1] += f", {part}"  # "Robert W. Heath, Jr." is one author
            elif part:
                names.append(part)
    return [bare for name in names if (bare := _without_affiliations(name))]


def parse_feed(data: bytes, fetched_on: date) -> Parsed:
    """Parse RSS or Atom bytes; a feed that is not one gives a skip, not an exception."""
    feed = feedparser.parse(data, response_headers=_charset(data))
    result = Parsed()
    if not feed.entries and (feed.bozo or not feed.get("version")):
        # feedparser reads a well-formed HTML page (a listing page's URL given for its feed)
        # without complaint and finds no version: that is no feed, not an empty one.
        if _HTML.search(data[:2048]):
            reason = "an HTML page"
        elif feed.bozo:
            reason = type(feed.get("bozo_exception", None)).__name__
        else:
            reason = "no RSS or Atom element"
        result.unreadable = f"not a readable RSS/Atom feed ({reason})"
        return result
    title = _plain(feed.feed.get("title")) if isinstance(feed.get("feed"), dict) else ""
    if not feed.entries and title.casefold().startswith("feed error for query"):
        # rss.arxiv.org answers a mistyped category (`cs.LGG`) with a valid, empty feed:
        # that is the source failing, not a weekend with nothing announced.
        result.unreadable = f"arXiv feed error: {title[:200]}"
        return result
    for number, item in enumerate(feed.entries, 1):
        if _API_ERROR.match(item.get("id") or ""):
            # arXiv's API answers a bad query with HTTP 200 and one entry titled "Error":
            # that is the source failing, with arXiv's reason, not a paper.
            result.entries = []
            reason = _plain(item.get("summary"))[:200] or "no reason given"
            result.unreadable = f"arXiv API error: {reason}"
            return result
        where = f"item {number}"
        title = bounded_text(_plain(item.get("title")), "title", TITLE_MAX_CHARS, result, where)
        description = _plain(item.get("summary") or item.get("description"))
        prefix = _ARXIV_PREFIX.match(description)
        abstract = description[prefix.end() :] if prefix else description
        if not abstract:
            result.skip(where, "no abstract")
            continue
        abstract = bounded_text(abstract, "abstract", ABSTRACT_MAX_CHARS, result, where)
        link = item.get("link") or ""
        ident = arxiv_id(item.get("id")) or arxiv_id(link)
        published = _feed_date(item, fetched_on)
        announce = _announce_type(item, prefix)
        result.entries.append(
            Entry(
                abstract=abstract,
                title=title or None,
                authors=_authors(item),
                # A listing's date is the day arXiv announced this version: for a replacement
                # that is not the paper's date, which the listing does not give.
                published=None if announce in REVISIONS else published,
                arxiv_id=ident,
                url=f"https://arxiv.org/abs/{ident}" if ident else (link or None),
                listed_on=published or fetched_on.isoformat(),
                announce=announce,
                version=(
                    _version(item.get("id"), prefix.group("id") if prefix else None)
                    if ident
                    else None  # arXiv's only: a blog's item id may end like one ("…-1v2")
                ),
                back_catalogue=announce is None and _old(published, fetched_on),
            )
        )
    if feed.bozo and not result.entries:
        # Cut off (or broken) after its first items began: say why besides the skips.
        result.skip("end of feed", f"broken XML ({type(feed.get('bozo_exception')).__name__})")
    return result


def _old(published: str | None, fetched_on: date) -> bool:
    """Published more than NEWS_DAYS before the feed was read."""
    return published is not None and published < (fetched_on - timedelta(NEWS_DAYS)).isoformat()


def _charset(data: bytes) -> dict[str, str]:
    """Bytes that are valid UTF-8 are read as UTF-8, whatever the XML declaration says (a
    generator writing UTF-8 under a windows-1252 declaration); anything else is left to the
    declaration and feedparser's fallbacks. Legacy text with accents is never valid UTF-8."""
    if data.isascii():
        return {}
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    return {"content-type": "application/xml; charset=utf-8"}


def _announce_type(item: Any, prefix: re.Match | None) -> str | None:
    """arXiv's announce type, from <arxiv:announce_type> or the "Announce Type:" line."""
    for value in (item.get("arxiv_announce_type"), prefix and prefix.group("type")):
        if isinstance(value, str) and value.strip().casefold() in ANNOUNCE_TYPES:
            return value.strip().casefold()
    return None


def _version(*idents: Any) -> int | None:
    """The version number of an arXiv id such as 2107.02137v2, if one carries it."""
    for ident in idents:
        match = _VERSION.search(ident) if isinstance(ident, str) else None
        if match and match.group(1):
            return int(match.group(1))
    return None


def _iso_day(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        return None


def _hf_item(item: Any, fetched_on: date, result: Parsed, where: str) -> Entry | str:
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
    title = clean(title) if title else None
    return Entry(
        abstract=bounded_text(clean(summary), "abstract", ABSTRACT_MAX_CHARS, result, where),
        title=bounded_text(title, "title", TITLE_MAX_CHARS, result, where) if title else None,
        authors=[n for n in names if n],
        published=_iso_day(paper.get("publishedAt")),
        upvotes=bounded_count(paper.get("upvotes"), "upvotes", MAX_COUNT, result, where),
        comments=bounded_count(item.get("numComments"), "comments", MAX_COUNT, result, where),
        arxiv_id=ident,
        url=f"https://arxiv.org/abs/{ident}" if ident else None,
        # The day the paper was on the daily page: its submittedOnDailyAt. The item's
        # publishedAt is arXiv's submission time, often days before Hugging Face featured
        # it (older mirrors and copies without the field keep it as the listing date).
        listed_on=_iso_day(paper.get("submittedOnDailyAt"))
        or _iso_day(item.get("submittedOnDailyAt"))
        or _iso_day(item.get("publishedAt"))
        or fetched_on.isoformat(),
        code_url=normalize_repo_url(paper.get("githubRepo") or item.get("githubRepo")),
    )


def parse_hf_json(data: bytes, fetched_on: date) -> Parsed:
    """Parse Hugging Face's daily papers JSON (a list of items); bad items are skipped."""
    result = Parsed()
    if _json_depth(data) > MAX_JSON_DEPTH:
        result.unreadable = f"not daily papers JSON (nested deeper than {MAX_JSON_DEPTH} levels)"
        return result
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Saved by an older Windows editor ("ANSI"), as dumps can be: read, not failed.
        text = data.decode("cp1252", errors="replace")
        result.skip("input", NOT_UTF8)
    try:
        # A number too long for a count is kept as None here (and its field dropped with a
        # reason below) instead of failing the input, as int() would past 4,300 digits.
        items = json.loads(text, parse_int=_bounded_int)
    except ValueError as exc:
        result.unreadable = f"not valid JSON ({type(exc).__name__})"
        return result
    if isinstance(items, dict):  # some mirrors wrap the list
        wrapped = [items[key] for key in ("papers", "items") if key in items]
        if not wrapped:  # an error object such as {"error": "..."} is no empty list
            result.unreadable = "not daily papers JSON (an object without a papers list)"
            return result
        items = wrapped[0]
    if not isinstance(items, list):
        result.unreadable = "not daily papers JSON (expected a list of papers)"
        return result
    for number, item in enumerate(items, 1):
        made = _hf_item(item, fetched_on, result, f"item {number}")
        if isinstance(made, str):
            result.skip(f"item {number}", made)
        else:
            result.entries.append(made)
    return result


def _bounded_int(text: str) -> int | float:
    # Past 18 digits a count is not real: infinity makes bounded_count drop it, with a reason.
    return int(text) if len(text) <= 18 else float("inf") if text[0] != "-" else float("-inf")


def _json_depth(data: bytes) -> int:
    """How deep arrays and objects nest (brackets inside strings do not count)."""
    depth = deepest = 0
    for token in _JSON_TOKENS.finditer(data):
        kind = token.group()[:1]
        if kind in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif kind in b"]}":
            depth -= 1
    return deepest


# Bytes that never occur in text (C0 controls other than tab, LF, FF, CR, ESC).
_BINARY = bytes(set(range(32)) - {9, 10, 12, 13, 27})


# JSON: an object, or a list opening with a value or closing. A dump without the page's
# header lines starts with its first title, which may open with a bracket ("[Re]
# Reproducibility Study ...", "[CLS] Is All You Need").
_JSON_START = re.compile(rb'\{|\[\s*(?:[\[\]{"\d-]|true|false|null|$)')


def sniff(data: bytes) -> str:
    """Guess an input's format from its first bytes: "json", "feed", "dump" or "binary"."""
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if _JSON_START.match(head):
        return "json"
    if head[:1] == b"<":
        return "feed"
    sample = data[:8192]
    # Text holds hardly any control bytes (a stray NUL is noise the parser drops); in images,
    # archives and executables they are over 10% of all bytes. A tiny file is left to the
    # dump parser, which reports it if it holds no paper.
    controls = len(sample) - len(sample.translate(None, _BINARY))
    if len(sample) >= 256 and controls > len(sample) * 0.05:
        return "binary"
    return "dump"
