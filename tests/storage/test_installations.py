"""OAuth tokens at rest: Fernet-encrypted, old plaintext rows migrated, wrong key refused."""

from __future__ import annotations

import uuid

import pytest
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlite3 import SQLite3InstallationStore

from storage import connect
from storage.errors import ConfigError
from storage.installations import EncryptedInstallationStore


def installation(team_id: str, token: str) -> Installation:
    return Installation(
        app_id="A0",
        team_id=team_id,
        user_id="U0",
        bot_token=token,
        bot_id="B0",
        bot_user_id="U0BOT",
        bot_scopes="commands",
    )


def test_oauth_tokens_are_unreadable_in_the_database_file_without_the_key(tmp_path):
    path = str(tmp_path / "p.db")
    connect(path).close()
    token = "xoxb-" + uuid.uuid4().hex + "s3cr3tvalue" * 3  # made here: no token-like literal
    plain = SQLite3InstallationStore(database=path, client_id="111.222")
    plain.save(installation("T0OLD", token + "old"))
    key = Fernet.generate_key().decode()
    store = EncryptedInstallationStore(database=path, client_id="111.222", key=key)
    store.save(installation("T0NEW", token))
    # Rows stored before encryption are migrated when the store first opens.
    assert store.find_bot(enterprise_id=None, team_id="T0OLD").bot_token == token + "old"
    assert store.find_bot(enterprise_id=None, team_id="T0NEW").bot_token == token
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("p.db*"))
    assert b"s3cr3tvalue" not in raw and b"xoxb-" not in raw
    other = EncryptedInstallationStore(
        database=path, client_id="111.222", key=Fernet.generate_key().decode()
    )
    with pytest.raises(ConfigError, match="does not decrypt"):
        other.find_bot(enterprise_id=None, team_id="T0NEW")
