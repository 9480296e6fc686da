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
from storage.digests import select_papers
from storage.errors import NotFound


def publish_home(
    client: WebClient,
    deps: Deps,
    team_id: str,
    user_id: str,
    preview: dict | None = None,
    preview_of: int | None = None,
    view_hash: str | None = None,
) -> None:
    """Render and publish the Home tab for one user of one team: subscriptions, the reading
    list, and a digest preview when asked for.

    `view_hash` (the clicked view's) makes Slack refuse the publish when another one came
    first: two quick clicks on Home render concurrently, and the slower render (stale: from
    before the other click's change) must not replace the newer view. A refused one is
    rendered again, now after both changes, and published."""
    try:
        client.views_publish(
            user_id=user_id,
            view=_render(deps, team_id, user_id, preview, preview_of),
            **({"hash": view_hash} if view_hash else {}),
        )
    except SlackApiError as exc:
        if not view_hash or exc.response.get("error") != "hash_conflict":
            raise
        view = _render(deps, team_id, user_id, preview, preview_of)
        client.views_publish(user_id=user_id, view=view)


def _render(
    deps: Deps, team_id: str, user_id: str, preview: dict | None, preview_of: int | None
) -> dict:
    mine = subs.visible_to(deps.db, team_id, user_id)
    last = {s.id: subs.last_delivery(deps.db, s.id) for s in mine}
    reading = saved.saved_papers(deps.db, team_id, user_id, limit=views.SAVED_IN_HOME)
    return views.home_view(mine, last, preview, preview_of, reading)


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
    papers = select_papers(deps.db, sub, now, deps.config.digest_size)
    return views.preview_message(sub, papers, now)


def shown_preview(body: dict) -> int | None:
    """The subscription whose digest preview the clicked Home view showed, if any."""
    try:
        meta = json.loads((body.get("view") or {}).get("private_metadata") or "{}")
    except ValueError:
        return None
    preview_of = meta.get("preview_of") if isinstance(meta, dict) else None
    if not isinstance(preview_of, int) or isinstance(preview_of, bool):
        return None
    return preview_of if 0 < preview_of < 2**63 else None  # a row id SQLite can hold


def refresh_home(client: WebClient, deps: Deps, team_id: str, user_id: str, body: dict) -> None:
    """Publish Home after a change made on it, keeping the digest preview it showed (built
    anew, so it shows the change): a Save on a preview's paper must not take the preview away."""
    preview_of = shown_preview(body)
    preview = digest_preview(deps, team_id, user_id, preview_of) if preview_of else None
    shown = preview_of if preview else None
    publish_home(client, deps, team_id, user_id, preview, shown, view_hash(body))
