"""API keys: stored as a SHA-256 hash with a short prefix to recognise them; shown once.

Scopes: ``billing`` (billing inputs and reads), ``ops`` (reads and force majeure),
``admin`` (everything).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from oferta.db.models import ApiKey, utcnow
from oferta.db.once import insert_once, utc
from oferta.db.session import session_scope

SCOPES = ("billing", "ops", "admin")
KEY_PREFIX = "ofk_"


@dataclass(frozen=True)
class KeyInfo:
    id: int
    name: str
    prefix: str
    scopes: frozenset[str]
    created_at: datetime
    revoked_at: datetime | None

    def allows(self, *scopes: str) -> bool:
        """True when the key holds admin or one of ``scopes``."""
        return "admin" in self.scopes or bool(self.scopes.intersection(scopes))


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _prefix(key: str) -> str:
    # Enough to tell keys apart in a list; never more than a quarter of the key.
    return key[: min(12, len(key) // 4)]


def _info(row: ApiKey) -> KeyInfo:
    return KeyInfo(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        scopes=frozenset(s for s in row.scopes.split(",") if s),
        created_at=utc(row.created_at),
        revoked_at=utc(row.revoked_at),
    )


def _check_scopes(scopes: list[str]) -> str:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValueError(f"scopes must be some of {', '.join(SCOPES)}; got {', '.join(scopes) or 'none'}")
    return ",".join(sorted(set(scopes)))


def create_key(url: str, name: str, scopes: list[str]) -> tuple[KeyInfo, str]:
    """A new random key; the plain key is returned here and never stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with session_scope(url) as session:
        row = ApiKey(name=name, prefix=_prefix(key), key_hash=hash_key(key), scopes=_check_scopes(scopes))
        session.add(row)
        session.flush()
        return _info(row), key


def ensure_key(url: str, name: str, key: str, scopes: list[str]) -> bool:
    """Register a key chosen by the operator (the bootstrap key); True when newly added."""
    with session_scope(url) as session:
        return insert_once(
            session,
            ApiKey,
            name=name,
            prefix=_prefix(key),
            key_hash=hash_key(key),
            scopes=_check_scopes(scopes),
            created_at=utcnow(),
        )


def list_keys(url: str) -> list[KeyInfo]:
    with session_scope(url) as session:
        return [_info(row) for row in session.scalars(select(ApiKey).order_by(ApiKey.id))]


def revoke_key(url: str, key_id: int) -> bool:
    """Revoke a key; False when there is no such key or it was already revoked."""
    with session_scope(url) as session:
        result = session.execute(
            update(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None)).values(revoked_at=utcnow())
        )
        return cast("CursorResult[Any]", result).rowcount == 1


def verify_key(url: str, key: str) -> KeyInfo | None:
    """The key's record when it is known and not revoked."""
    with session_scope(url) as session:
        row = session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(key))).first()
        if row is None or row.revoked_at is not None:
            return None
        return _info(row)
