"""What the per-paper buttons do (Save, More like this, Authors, Remove), as plain functions
that know nothing of Slack; the listeners ack and deliver the reply."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from bot import views
from bot.interaction import button_id
from bot.text import escape_mrkdwn, truncate
from storage import saved
from storage.errors import PapersError
from storage.papers import get_papers
from storage.similar import similar


def _paper(db: Database, value: str) -> dict | None:
    """The paper a button stands for, or None for a stale or forged button."""
    paper_id = button_id(value)
    found = get_papers(db, [paper_id]) if paper_id is not None else []
    return found[0] if found else None


GONE = views.text_message("That paper is no longer in the store.")


def save(db: Database, team_id: str, user_id: str, value: str, now: datetime) -> tuple[dict, bool]:
    """Save a paper to the user's reading list: the reply, and whether the paper is on the
    list now (False: the paper is gone or the list is full, and the reply says so)."""
    paper = _paper(db, value)
    if paper is None:
        return GONE, False
    try:
        added = saved.save(db, team_id, user_id, paper["id"], now)
    except PapersError as exc:
        return views.warning_message(exc), False
    title = escape_mrkdwn(truncate(paper["title"], 150))
    if not added:
        message = f"_{title}_ is already in your reading list (`/papers saved`)."
        return views.text_message(message), True
    return views.text_message(f"Saved _{title}_ to your reading list: `/papers saved`."), True


def more_like(db: Database, value: str) -> dict:
    """The papers most like this one."""
    paper = _paper(db, value)
    if paper is None:
        return GONE
    return views.similar_message(paper, similar(db, paper["id"], limit=5))


def authors_of(db: Database, value: str) -> dict:
    """A paper's authors, each with a button for their papers."""
    paper = _paper(db, value)
    return GONE if paper is None else views.authors_message(paper)


def remove_saved(db: Database, team_id: str, user_id: str, value: str) -> None:
    """Take a paper off the user's reading list (a stale button changes nothing)."""
    paper_id = button_id(value)
    if paper_id is not None:
        saved.remove(db, team_id, user_id, paper_id)
