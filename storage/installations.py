"""OAuth installations (one bot token per workspace), encrypted at rest with Fernet.

slack_sdk's SQLite3InstallationStore keeps the tables; this subclass encrypts every token
on the way in and decrypts it on the way out, so the database file alone (a backup, a copy)
never reveals a token. The key comes from PAPERS_TOKEN_KEY."""

from __future__ import annotations

import copy
import sqlite3
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlite3 import SQLite3InstallationStore

from storage.config import Config
from storage.errors import ConfigError

PREFIX = "enc1:"
FIELDS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
TABLES = {
    "slack_bots": ("bot_token", "bot_refresh_token"),
    "slack_installations": FIELDS,
}
KEY_HINT = (
    "PAPERS_TOKEN_KEY must be a Fernet key; make one with: python -c 'from cryptography.fernet "
    "import Fernet; print(Fernet.generate_key().decode())'"
)


def cipher(key: str) -> Fernet:
    """The Fernet cipher for a key from the environment; ConfigError when it is not one."""
    if not key:
        raise ConfigError("PAPERS_TOKEN_KEY is not set (needed to store OAuth tokens). " + KEY_HINT)
    try:
        return Fernet(key.encode())
    except (ValueError, TypeError) as exc:
        raise ConfigError(KEY_HINT) from exc


class EncryptedInstallationStore(SQLite3InstallationStore):
    """SQLite3InstallationStore whose token columns hold Fernet ciphertext."""

    def __init__(self, *, database: str, client_id: str, key: str) -> None:
        super().__init__(database=database, client_id=client_id)
        self._fernet = cipher(key)

    @classmethod
    def from_config(cls, config: Config) -> EncryptedInstallationStore:
        """The store the bot keeps installs in, and the worker reads tokens from."""
        return cls(database=config.db_path, client_id=config.slack_client_id, key=config.token_key)

    def init(self) -> None:
        """Create the tables if need be, then encrypt rows stored before encryption."""
        super().init()
        encrypt_existing(self.database, self._fernet)

    def check_key(self) -> None:
        """ConfigError when the key does not open the tokens already stored: with another
        key every workspace's token is unreadable, so the bot and the worker refuse to start
        instead of failing every request and every delivery."""
        with self.connect() as conn:
            row = conn.execute(
                "SELECT bot_token FROM slack_bots WHERE client_id = ? AND bot_token LIKE ?"
                " ORDER BY installed_at DESC LIMIT 1",
                [self.client_id, PREFIX + "%"],
            ).fetchone()
        if row:
            self._open(row[0])

    def _seal(self, value: str | None) -> str | None:
        if not value or value.startswith(PREFIX):
            return value
        return PREFIX + self._fernet.encrypt(value.encode()).decode()

    def _open(self, value: str | None) -> str | None:
        if not value or not value.startswith(PREFIX):
            return value
        try:
            return self._fernet.decrypt(value[len(PREFIX) :].encode()).decode()
        except InvalidToken as exc:
            raise ConfigError(
                "PAPERS_TOKEN_KEY does not decrypt the stored tokens (was the key changed?)"
            ) from exc

    def _map(self, obj: Any, how) -> Any:
        if obj is None:
            return None
        obj = copy.copy(obj)
        for name in FIELDS:
            if hasattr(obj, name):
                setattr(obj, name, how(getattr(obj, name)))
        return obj

    def save(self, installation: Installation) -> None:
        """Store an installation with its tokens encrypted."""
        super().save(self._map(installation, self._seal))

    def save_bot(self, bot: Bot) -> None:
        """Store a bot with its tokens encrypted."""
        super().save_bot(self._map(bot, self._seal))

    def find_bot(self, **kwargs) -> Bot | None:
        """The team's bot, tokens decrypted; never an organisation-wide install's."""
        return self._map(_per_workspace(super().find_bot(**kwargs)), self._open)

    def find_installation(self, **kwargs) -> Installation | None:
        """The team's installation, tokens decrypted; never an organisation-wide install's."""
        return self._map(_per_workspace(super().find_installation(**kwargs)), self._open)

    def find_team_bot(self, team_id: str) -> Bot | None:
        """The bot of a workspace, tokens decrypted, whatever Enterprise Grid organisation it
        belongs to: Bolt files a Grid workspace's token under its organisation too, and the
        worker knows only a subscription's workspace."""
        with self.connect() as conn:
            row = conn.execute(
                "SELECT enterprise_id FROM slack_bots WHERE client_id = ? AND team_id = ?"
                " ORDER BY installed_at DESC LIMIT 1",
                [self.client_id, team_id],
            ).fetchone()
        if row is None:
            return None
        return self.find_bot(enterprise_id=row[0] or None, team_id=team_id)


def _per_workspace(found: Any) -> Any:
    """An installation (or bot) of one workspace, or None for an organisation-wide one: the
    app refuses those at install time (the worker finds tokens by workspace, so each of its
    digests would pause), and one stored before then must not authorise a command either."""
    return None if found is not None and found.is_enterprise_install else found


def encrypt_existing(database: str, fernet: Fernet) -> int:
    """The migration for rows stored in plaintext before encryption; returns rows changed."""
    changed = 0
    conn = sqlite3.connect(database)
    # The plaintext must not linger in freed space or in the WAL's old frames.
    conn.execute("PRAGMA secure_delete = ON")
    with conn:
        for table, columns in TABLES.items():
            for column in columns:
                rows = conn.execute(
                    f"SELECT rowid, {column} FROM {table} WHERE {column} IS NOT NULL"
                    f" AND {column} != '' AND {column} NOT LIKE '{PREFIX}%'"
                ).fetchall()
                for rowid, value in rows:
                    sealed = PREFIX + fernet.encrypt(value.encode()).decode()
                    conn.execute(
                        f"UPDATE {table} SET {column} = ? WHERE rowid = ?", [sealed, rowid]
                    )
                    changed += 1
    if changed:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return changed
