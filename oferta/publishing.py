"""Publishing a new version of a policy (``oferta policies publish``): the checks and the record.

The version in force (``oferta/db/policy_versions.py``) decides how the change must be announced
(``engine/amendments.publish_refusal``); one version waits for its date at a time; the same
publication again records nothing. Telling the running services is the caller's (the fan-out).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from oferta.db.models import Service
from oferta.db.once import utc
from oferta.db.policy_versions import VersionConflict, digest, governing, publish, published
from oferta.db.session import session_scope
from oferta.policy.schema import Policy
from oferta.timeline.engine.amendments import changed_clauses, notice_words, publish_refusal


def record_version(
    url: str, new: Policy, effective: datetime, actor: str, now: datetime
) -> tuple[dict[str, Any], list[str]]:
    """Record ``new`` as published at ``now`` to take effect at ``effective``; the publication (as
    the command prints it) and the running services under the policy. ValueError, naming the
    field, when it cannot be published."""
    with session_scope(url) as session:
        existing = published(session, new.id, new.version)
        if existing is not None:  # the same command again: finish telling, record nothing
            if existing.sha256 != digest(new):
                raise ValueError(f"version: {new.id} v{new.version} was published with other rules")
            if utc(existing.effective_at) != effective.astimezone(UTC):
                was = utc(existing.effective_at).isoformat()
                raise ValueError(f"effective: v{new.version} was published for {was}")
            published_at = utc(existing.published_at)
            old = governing(session, new.id, published_at).policy
            row, created = existing, False
        else:
            in_force = governing(session, new.id, now)
            old, pending = in_force.policy, in_force.pending
            if pending is not None:
                raise ValueError(
                    f"version: {new.id} v{pending.version} is published for "
                    f"{utc(pending.effective_at).isoformat()} and not yet in effect"
                )
            refusal = publish_refusal(old, new, now, effective)
            if refusal:
                raise ValueError(refusal)
            published_at = now
            try:
                row, created = publish(
                    session,
                    new,
                    effective_at=effective,
                    published_at=published_at,
                    actor=actor,
                    changed_clauses=changed_clauses(old, new),
                )
            except VersionConflict as exc:  # published by someone else a moment ago
                raise ValueError(str(exc)) from None
        services = list(
            session.scalars(
                select(Service.id)
                .where(Service.policy_id == new.id, Service.state.not_in(("deleted", "terminated")))
                .order_by(Service.id)
            )
        )
        rules = old.amendments
        assert rules is not None  # publish_refusal refused a policy without them
        notice = (
            f"{notice_words(rules)} ahead, clause {rules.notice.clause}"
            if rules.notice
            else f"{notice_words(rules)}, clause {rules.clause}"
        )
        return (
            {
                "policy": new.id,
                "version": new.version,
                "from_version": old.version,
                "created": created,
                "published_by": row.published_by,
                "published_at": published_at.isoformat(),
                "effective_at": effective.isoformat(),
                "effective_at_local": effective.astimezone(ZoneInfo(new.provider.timezone)).strftime(
                    "%Y-%m-%d %H:%M"
                )
                + f" {new.provider.timezone}",
                "notice": notice,
                "changed_clauses": list(row.changed_clauses),
            },
            services,
        )
