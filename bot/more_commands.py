"""`/papers follow|unfollow|saved` and `/papers author:"…"`: plain functions like
bot.commands, reached through one branch of its `handle`."""

from __future__ import annotations

import re
from datetime import datetime

from sqlite_utils import Database

from bot import views
from storage import authors, saved
from storage.papers import get_papers

_AUTHOR = re.compile(r'^author:\s*["“]?(?P<name>[^"”]*)["”]?\s*$', re.IGNORECASE)


def author_name(text: str) -> str | None:
    """The name in `author:"Edward J. Hu"` (or `author:E. Hu`), else None."""
    match = _AUTHOR.match(text.strip())
    return match.group("name").strip() if match else None


def author_search(db: Database, name: str, offset: int = 0, newest: int | None = None) -> dict:
    """Papers by one author, newest first: the page from `offset` on, keeping to papers up
    to `newest` (a Next/Previous button's page), else the first page."""
    found = authors.papers_by(db, name, views.PAGE_SIZE, offset, newest)
    if not found.paper_ids and found.total and found.offset > 0:
        # Past the last page (an offset changed by hand): the last page, never "No papers".
        last = (found.total - 1) // views.PAGE_SIZE * views.PAGE_SIZE
        found = authors.papers_by(db, name, views.PAGE_SIZE, last, newest)
    papers = get_papers(db, found.paper_ids)
    # The name as parsed (at most MAX_NAME_CHARS): a button value holds 2,000 characters.
    page = views.AuthorPage(found.name.display, found.offset, found.newest)
    return views.author_message(found.name.display, papers, found.total, found.people, page)


def author_page(db: Database, value: str) -> dict | None:
    """The author page a Next/Previous button stands for, or None for a value no button of
    ours holds."""
    try:
        page = views.page_from_value(value)
    except (ValueError, KeyError):
        return None
    return author_search(db, page.query, page.offset, page.newest)


def follow(db: Database, team_id: str, user_id: str, name: str, now: datetime) -> dict:
    """Follow an author."""
    sub = authors.follow(db, team_id, user_id, name, now)
    return views.follow_message(sub, authors.papers_by(db, sub.author or name).total)


def unfollow(db: Database, team_id: str, user_id: str, name: str) -> dict:
    """Stop following an author."""
    removed = authors.unfollow(db, team_id, user_id, name)
    lines = "\n".join(views.describe(s) for s in removed)
    return views.text_message(f"Stopped following:\n{lines}")


def reading_list(db: Database, team_id: str, user_id: str, offset: int = 0) -> dict:
    """The user's reading list, the page from `offset` on (past its end, the last page: a
    Remove there, or on another device meanwhile, emptied it)."""
    total = saved.count_saved(db, team_id, user_id)
    if offset >= total:
        offset = max(total - 1, 0) // views.SAVED_PAGE * views.SAVED_PAGE
    papers = saved.saved_papers(db, team_id, user_id, views.SAVED_PAGE, offset)
    return views.saved_message(papers, total, offset)


def reply(db: Database, team_id: str, user_id: str, text: str, now: datetime) -> dict | None:
    """The reply when `text` is one of these commands, else None."""
    words = text.split()
    head = words[0].lower() if words else ""
    rest = " ".join(words[1:])
    if head == "follow":
        return follow(db, team_id, user_id, rest, now)
    if head == "unfollow":
        return unfollow(db, team_id, user_id, rest)
    if head == "saved" and not rest:
        return reading_list(db, team_id, user_id)
    name = author_name(text)
    if name is not None:
        return author_search(db, name)
    return None
