"""app_uninstalled: stop all delivery to the team and forget its tokens."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from slack_bolt import App, BoltContext

from storage import teams

log = logging.getLogger(__name__)


def register(app: App) -> None:
    """Register the event; the app's installation store (OAuth mode) loses the team's tokens."""

    def app_uninstalled(context: BoltContext, body: dict) -> None:
        """Mark the team gone (idempotent: Slack may retry events)."""
        team_id = context.team_id or body.get("team_id", "")
        teams.deactivate(context["deps"].db, team_id, "app uninstalled", datetime.now(UTC))
        if app.installation_store is not None:
            app.installation_store.delete_all(enterprise_id=context.enterprise_id, team_id=team_id)
        log.info("team %s uninstalled the app; delivery stopped", team_id)

    app.event("app_uninstalled")(app_uninstalled)
