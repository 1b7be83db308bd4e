"""Published versions of the policies: written once by ``oferta policies publish``, read by the
worker (a service loads the version it is told of) and by whoever starts a new service.

The policy files are each policy's base version; a published version is the whole policy as
JSON, keyed by (policy, version) with a UNIQUE constraint, so publishing the same file twice
writes one row, and a different file under a version already published is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from oferta.db.models import PolicyVersion
from oferta.db.once import insert_once, utc
from oferta.db.session import session_scope
from oferta.effects import PolicyVersionRef
from oferta.policy import load_policy
from oferta.policy.schema import Policy


class VersionConflict(ValueError):
    """A version already published with other rules."""


class VersionNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Governing:
    """The version that governs new services now, and one published to take effect later."""

    policy: Policy
    pending: PolicyVersion | None


def digest(policy: Policy) -> str:
    text = json.dumps(policy.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def governing(session: Session, policy_id: str, at: datetime) -> Governing:
    """The latest version in effect at ``at`` (the file when none was published), and the next."""
    rows = session.scalars(
        select(PolicyVersion).where(PolicyVersion.policy_id == policy_id).order_by(PolicyVersion.version)
    ).all()
    policy, pending = load_policy(policy_id), None
    for row in rows:
        if utc(row.effective_at) <= utc(at):
            policy = Policy.model_validate(row.body)
        elif pending is None:
            pending = row
    return Governing(policy=policy, pending=pending)


def published(session: Session, policy_id: str, version: int) -> PolicyVersion | None:
    return session.scalars(
        select(PolicyVersion).where(PolicyVersion.policy_id == policy_id, PolicyVersion.version == version)
    ).one_or_none()


def publish(
    session: Session,
    policy: Policy,
    *,
    effective_at: datetime,
    published_at: datetime,
    actor: str,
    changed_clauses: list[str],
) -> tuple[PolicyVersion, bool]:
    """Record ``policy`` as published; (row, True) when written now, (row, False) when the same
    rules were published before (a retry). VersionConflict when the version has other rules."""
    sha = digest(policy)
    created = insert_once(
        session,
        PolicyVersion,
        policy_id=policy.id,
        version=policy.version,
        body=policy.model_dump(mode="json"),
        sha256=sha,
        effective_at=utc(effective_at),
        published_at=utc(published_at),
        published_by=actor,
        changed_clauses=changed_clauses,
    )
    row = session.scalars(
        select(PolicyVersion).where(
            PolicyVersion.policy_id == policy.id, PolicyVersion.version == policy.version
        )
    ).one()
    if not created and row.sha256 != sha:
        raise VersionConflict(f"version: {policy.id} v{policy.version} was published with other rules")
    return row, created


def load_version(url: str, policy_id: str, version: int) -> Policy:
    with session_scope(url) as session:
        row = session.scalars(
            select(PolicyVersion).where(
                PolicyVersion.policy_id == policy_id, PolicyVersion.version == version
            )
        ).one_or_none()
        if row is None:
            base = load_policy(policy_id)
            if base.version == version:
                return base
            raise VersionNotFound(f"{policy_id} v{version} is not published")
        return Policy.model_validate(row.body)


class DatabasePolicyStore:
    """The worker's side: a service loads the version it was told of."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url

    async def load(self, ref: PolicyVersionRef) -> Policy:
        return await asyncio.to_thread(load_version, self.url, ref.policy_id, ref.version)


class MemoryPolicyStore:
    """For the time machine and tests: versions held in memory."""

    def __init__(self, *policies: Policy) -> None:
        self.versions = {(p.id, p.version): p for p in policies}

    async def load(self, ref: PolicyVersionRef) -> Policy:
        try:
            return self.versions[(ref.policy_id, ref.version)]
        except KeyError:
            raise VersionNotFound(f"{ref.policy_id} v{ref.version} is not published") from None
