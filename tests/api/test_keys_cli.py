"""oferta keys: create shows the key once, list shows only a prefix, revoke stops it."""

from __future__ import annotations

import os
import subprocess
import sys

from oferta.db.api_keys import verify_key


def _oferta(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "oferta.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_create_list_revoke(empty_database_url):
    created = _oferta(empty_database_url, "keys", "create", "--name", "billing-prod", "--scope", "billing")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("ofk_") and len(key) > 40
    info = verify_key(empty_database_url, key)
    assert info is not None and info.scopes == {"billing"}

    listed = _oferta(empty_database_url, "keys", "list")
    assert listed.returncode == 0
    assert "billing-prod" in listed.stdout and info.prefix in listed.stdout
    assert key not in listed.stdout + listed.stderr

    assert _oferta(empty_database_url, "keys", "revoke", str(info.id)).returncode == 0
    assert verify_key(empty_database_url, key) is None
    assert "revoked" in _oferta(empty_database_url, "keys", "list").stdout
    assert _oferta(empty_database_url, "keys", "revoke", str(info.id)).returncode == 1


def test_unknown_scope_is_refused(empty_database_url):
    refused = _oferta(empty_database_url, "keys", "create", "--name", "x", "--scope", "root")
    assert refused.returncode == 2 and "invalid choice" in refused.stderr
