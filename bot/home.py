"""App Home: the user's subscriptions, rendered and published."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import views
from bot.context import Deps
from storage import saved
from storage import subscriptions as subs
from storage.digests import next_days, next_digest_papers
from storage.errors import NotFound, PapersError


def publish_home(
    client: WebClient,
    deps: Deps,
    team_id: str,
    user_id: str,
    preview: dict | None = None,
    preview_of: int | None = None,
    view_hash: str | None = None,
    again: tuple[str, str] | None = None,
    under: int | None = None,
) -> None:
    """Render and publish the Home tab for one user of one team: subscriptions, the reading
    list, and a digest preview when asked for.

    `view_hash` (the clicked view's) makes Slack refuse the publish when another one came
    first: two quick clicks on Home render concurrently, and the slower render (stale: from
    before the other click's change) must not replace the newer view. A refused one is
    rendered again, now after both changes, and published. `again` names the button reply
    shown as the preview (its kind and value), so a later change on Home shows it anew;
    `under`, the subscription it shows under (it was clicked in that one's preview)."""
    shown = (preview, preview_of, again, under)
    try:
        client.views_publish(
            user_id=user_id,
            view=_render(deps, team_id, user_id, *shown),
            **({"hash": view_hash} if view_hash else {}),
        )
    except SlackApiError as exc:
        if not view_hash or exc.response.get("error") != "hash_conflict":
            raise
        client.views_publish(user_id=user_id, view=_render(deps, team_id, user_id, *shown))


def _render(
    deps: Deps,
    team_id: str,
    user_id: str,
    preview: dict | None,
    preview_of: int | None,
    again: tuple[str, str] | None,
    under: int | None,
) -> dict:
    mine = subs.visible_to(deps.db, team_id, user_id)
    last = {s.id: subs.last_delivery(deps.db, s.id) for s in mine}
    reading = saved.saved_papers(deps.db, team_id, user_id, limit=views.SAVED_IN_HOME)
    total = saved.count_saved(deps.db, team_id, user_id)
    now = datetime.now(UTC)
    return views.home_view(mine, last, preview, preview_of, reading, again, total, under, now)


def view_hash(body: dict) -> str | None:
    """The hash of the App Home view a click was made on (None for a message's click)."""
    value = (body.get("view") or {}).get("hash")
    return value if isinstance(value, str) and value else None


def digest_preview(deps: Deps, team_id: str, user_id: str, subscription_id: int) -> dict | None:
    """What one of the user's digest subscriptions would get now, or None when it is gone,
    not theirs, or an alert (which has no digest)."""
    try:
        sub = subs.get(deps.db, team_id, subscription_id)
    except NotFound:
        return None
    if sub not in subs.visible_to(deps.db, team_id, user_id) or sub.is_instant:
        return None
    now = datetime.now(UTC)
    papers = next_digest_papers(deps.db, sub, now, deps.config.digest_size)
    days = next_days(deps.db, sub)
    return views.preview_message(sub, papers, now, deps.config.empty_digest, days)


def no_preview(deps: Deps, team_id: str, user_id: str, subscription_id: int) -> str:
    """Why a Preview (from a Home view rendered before a change) has nothing to show: the
    subscription is gone, or it became an instant alert, which has no digest."""
    try:
        sub = subs.get(deps.db, team_id, subscription_id)
    except NotFound:
        sub = None
    if sub and sub.is_instant and sub in subs.visible_to(deps.db, team_id, user_id):
        return (
            f"#{sub.id} is an instant alert now: it has no digest to preview, and each "
            "matching paper comes by DM as it arrives."
        )
    return "That subscription is gone; nothing to preview."


def _metadata(body: dict) -> dict:
    try:
        meta = json.loads((body.get("view") or {}).get("private_metadata") or "{}")
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


def _subscription_id(body: dict, key: str) -> int | None:
    value = _metadata(body).get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return value if 0 < value < 2**63 else None  # a row id SQLite can hold


def shown_preview(body: dict) -> int | None:
    """The subscription whose digest preview the clicked Home view showed, if any."""
    return _subscription_id(body, "preview_of")


def shown_under(body: dict) -> int | None:
    """The subscription the clicked Home view showed its preview under: the digest's, or
    the one whose preview a reply shown there was clicked in."""
    return _subscription_id(body, "preview_of") or _subscription_id(body, "under")


def shown_again(body: dict) -> tuple[str, str] | None:
    """The button reply the clicked Home view showed as its preview (kind, value), if any."""
    again = _metadata(body).get("again")
    if isinstance(again, list) and len(again) == 2 and all(isinstance(a, str) for a in again):
        return again[0], again[1]
    return None


def _reply_again(deps: Deps, again: tuple[str, str]) -> dict | None:
    """A button's reply built anew: More like this, Authors, Papers by …"""
    # Imported here: they import bot.interaction, which imports this module.
    from bot import more_commands, paper_actions

    kind, value = again
    try:
        if kind == "similar":
            return paper_actions.more_like(deps.db, value)
        if kind == "authors":
            return paper_actions.authors_of(deps.db, value)
        if kind == "author":
            return more_commands.author_search(deps.db, value)
        if kind == "author_page":
            return more_commands.author_page(deps.db, value)
    except PapersError:
        return None
    return None


def refresh_home(client: WebClient, deps: Deps, team_id: str, user_id: str, body: dict) -> None:
    """Publish Home after a change made on it, keeping the preview it showed (built anew, so
    it shows the change): a Save on a paper of a digest preview, or of More like this, must
    not take the list away."""
    preview_of, again = shown_preview(body), shown_again(body)
    preview = None
    if preview_of:
        preview = digest_preview(deps, team_id, user_id, preview_of)
    elif again:
        preview = _reply_again(deps, again)
    shown = preview_of if preview and preview_of else None
    kept = again if preview and again else None
    under = shown_under(body) if kept else None
    publish_home(client, deps, team_id, user_id, preview, shown, view_hash(body), kept, under)
