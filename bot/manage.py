"""Manage subscription: the subscription a digest or an alert was for, and its changes
(plain functions; the listeners under bot/listeners/actions/ ack and call them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from bot import views
from storage import subscriptions as subs
from storage.errors import PapersError
from storage.subscriptions import Kind, Subscription


@dataclass
class Clicker:
    """Who clicked, and where: `team_id` is the payload's workspace, `user_team` the
    clicker's own (in a Slack Connect channel, maybe not the subscription's; on Enterprise
    Grid the organisation's E… id); `channel_id` None on App Home."""

    team_id: str
    user_team: str
    user_id: str
    channel_id: str | None

    @property
    def workspace(self) -> str:
        """The clicker's own workspace: their team, unless it names an organisation."""
        return self.user_team if self.user_team.startswith("T") else self.team_id


def shown_to(db: Database, clicker: Clicker, subscription_id: int) -> Subscription | None:
    """The subscription a Manage button names, when the clicker may see it: one of their
    own, or the channel's they clicked in (a partner workspace's member of a shared channel
    too); None when it is gone or is none of theirs (a forged button)."""
    sub = subs.by_id(db, subscription_id)
    if sub is None:
        return None
    if sub.kind == Kind.CHANNEL and sub.target == clicker.channel_id:
        return sub
    teams = {clicker.team_id, clicker.workspace}
    return sub if sub.team_id in teams and sub.user_id == clicker.user_id else None


def may_change(sub: Subscription, clicker: Clicker, is_admin: Callable[[str], bool]) -> bool:
    """subs.may_change, for a clicker of the subscription's own workspace only (a partner's
    admin is no admin here); `is_admin` is asked only when it matters."""
    if clicker.workspace != sub.team_id:
        return False
    if sub.user_id == clicker.user_id:
        return True
    return sub.kind == Kind.CHANNEL and is_admin(clicker.user_id)


def _others(db: Database, clicker: Clicker, sub_id: int) -> list[Subscription]:
    mine = subs.visible_to(db, clicker.workspace, clicker.user_id, clicker.channel_id)
    return [s for s in mine if s.id != sub_id]


def manage_reply(
    db: Database,
    clicker: Clicker,
    subscription_id: int,
    is_admin: Callable[[str], bool],
    now: datetime,
    note: str | None = None,
) -> dict:
    """The reply to Manage subscription: that subscription, what the clicker may do to it,
    and their others; or that it is gone."""
    sub = shown_to(db, clicker, subscription_id)
    others = _others(db, clicker, subscription_id)
    if sub is None:
        return views.manage_gone_message(subscription_id, others, viewer=clicker.user_id)
    delivered = subs.last_delivery(db, sub.id)
    can = may_change(sub, clicker, is_admin)
    return views.manage_message(sub, delivered, now, can, others, note, clicker.user_id)


def change(
    db: Database,
    clicker: Clicker,
    subscription_id: int,
    verb: str,
    is_admin: Callable[[str], bool],
    now: datetime,
    grace: timedelta,
) -> dict:
    """Pause, resume or remove the managed subscription (when the clicker may), then the
    manage reply as it is now."""
    sub = shown_to(db, clicker, subscription_id)
    if sub is None or not may_change(sub, clicker, is_admin):
        return manage_reply(db, clicker, subscription_id, is_admin, now)
    try:
        if verb == "remove":
            subs.remove(db, sub.team_id, sub.user_id, str(sub.id), sub.target, False)
            others = _others(db, clicker, sub.id)
            return views.manage_gone_message(sub.id, others, sub, clicker.user_id)
        status = subs.Status.PAUSED if verb == "pause" else subs.Status.ACTIVE
        # A stale button (the reply is older than a change made elsewhere) changes nothing
        # that is so already, as `/papers pause` does.
        if not subs.changes_status(sub, status):
            done = "Already paused." if verb == "pause" else "Not paused: nothing to resume."
            return manage_reply(db, clicker, subscription_id, is_admin, now, f"_{done}_")
        reason = "paused with Manage subscription" if verb == "pause" else None
        subs.set_status(db, sub.team_id, sub.id, status, reason, now=now, grace=grace)
    except PapersError:  # removed meanwhile: the reply says it is gone
        return manage_reply(db, clicker, subscription_id, is_admin, now)
    done = "Paused." if verb == "pause" else "Resumed."
    return manage_reply(db, clicker, subscription_id, is_admin, now, f"_{done}_")
