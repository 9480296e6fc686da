"""Link unfurls: which pasted links are papers, and the preview each one gets."""

from __future__ import annotations

import logging
import re
import urllib.parse
from datetime import datetime

from sqlite_utils import Database

from bot import views
from bot.context import Lookup
from storage.papers import by_arxiv_id
from storage.trending import trending

log = logging.getLogger(__name__)
_ID = r"(\d{4}\.\d{4,5}|[a-z][a-z\-]+(?:\.[A-Z]{2})?/\d{7})"
# arxiv.org/abs/ID, /pdf/ID and /html/ID (the paper's HTML version), each with an optional
# vN and (pdf) an optional .pdf.
_ARXIV_PATH = re.compile(rf"^/(?:abs|pdf|html)/{_ID}(?:v\d+)?(?:\.pdf)?/?$")
_HF_PATH = re.compile(r"^/papers/(\d{4}\.\d{4,5})(?:v\d+)?/?$")
ARXIV_HOSTS = {"arxiv.org", "www.arxiv.org", "export.arxiv.org"}
HF_HOSTS = {"huggingface.co", "www.huggingface.co"}
MAX_LINKS = 10  # a message with more paper links than this unfurls the first ones
TRENDING_WINDOW = 50  # the week's top papers that get a "trending" line


def paper_ref(url: str) -> str | None:
    """The arXiv id an arxiv.org abs/pdf or huggingface.co/papers link points to, else None."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https"):
        return None
    if host in ARXIV_HOSTS:
        match = _ARXIV_PATH.match(parts.path)
    elif host in HF_HOSTS:
        match = _HF_PATH.match(parts.path)
    else:
        return None
    return match.group(1) if match else None


def _reason(db: Database, paper_id: int, now: datetime) -> str | None:
    """Why the paper trends this week, when it does."""
    for paper in trending(db, now, "week", limit=TRENDING_WINDOW):
        if paper["id"] == paper_id and paper.get("signals"):
            return views.reason_text(paper["signals"])
    return None


def find_paper(db: Database, arxiv_id: str, lookup: Lookup | None) -> dict | None:
    """The stored paper, or the one the lookup fetches (None when neither has it)."""
    found = by_arxiv_id(db, arxiv_id)
    if found is None and lookup is not None:
        try:
            found = lookup(db, arxiv_id)
        except Exception:  # a failed lookup leaves the link as Slack shows it
            log.exception("lookup of %s failed", arxiv_id)
    return found


def build_unfurls(
    db: Database, links: list[dict], lookup: Lookup | None, now: datetime
) -> dict[str, dict]:
    """url → {"blocks": [...]} for each link that is a paper we have or can fetch."""
    unfurls: dict[str, dict] = {}
    # The first MAX_LINKS paper links: other pages on these domains (model pages, listings)
    # before them must not use up the count.
    papers = [
        (link["url"], arxiv_id)
        for link in links
        if isinstance(link, dict)
        and isinstance(link.get("url"), str)
        and (arxiv_id := paper_ref(link["url"]))
    ]
    for url, arxiv_id in papers[:MAX_LINKS]:
        if url in unfurls:
            continue
        paper = find_paper(db, arxiv_id, lookup)
        if paper is not None:
            unfurls[url] = {"blocks": views.unfurl_blocks(paper, _reason(db, paper["id"], now))}
    return unfurls
