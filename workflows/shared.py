"""What the workflows and their client (workflows/client.py) both need: ids and search attributes.

Pure and free of I/O: the workflows import it through ``imports_passed_through``.
Callers outside this package use ``workflows.client``, which re-exports these.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from temporalio.common import SearchAttributePair, SearchAttributeUpdate

from oferta import search_attributes as sa
from oferta.timeline.state import Deadline, Hold, ServiceSpec, ServiceStatus

# Unset when a service has no next deadline (it waits for billing, or it has ended).
_NEXT = (sa.NEXT_ACTION, sa.NEXT_CLAUSE, sa.NEXT_DEADLINE)


def service_workflow_id(service_id: str) -> str:
    """The service's workflow id: one workflow per service, for its whole life (ids only, no PII)."""
    return f"service-{service_id}"


def force_majeure_workflow_id(force_majeure_id: str) -> str:
    return f"force-majeure-{force_majeure_id}"


def amendment_workflow_id(policy_id: str, version: int, task_queue: str) -> str:
    """The fan-out of a published version (workflows/amendments.py), one per deployment."""
    return f"amendment-{task_queue}-{policy_id}-v{version}"


def import_workflow_id(import_id: str) -> str:
    return f"import-{import_id}"


def guard_workflow_id(policy_id: str, task_queue: str) -> str:
    """The policy's guard (workflows/guard.py): one per policy and deployment (its task queue),
    asked before destructive steps."""
    return f"guard-{task_queue}-{policy_id}"


def service_search_attributes(
    spec: ServiceSpec,
    status: ServiceStatus,
    overdue: Decimal = Decimal(0),
    deadline: Deadline | None = None,
    clock_shift: timedelta = timedelta(0),
    hold: Hold | None = None,
    overrides: list[str] | None = None,
) -> list[SearchAttributePair[Any]]:
    """The search attributes operations filter services by: set at start and kept up to date by the
    workflow. ``clock_shift`` is the time machine's offset, taken off the deadline shown."""
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(sa.CUSTOMER_ID, spec.customer_id),
        SearchAttributePair(sa.POLICY, spec.policy_id),
        SearchAttributePair(sa.SERVICE_STATE, status.value),
        SearchAttributePair(sa.OVERDUE_MINOR, int(overdue * 100)),
    ]
    if deadline:
        pairs += [
            SearchAttributePair(sa.NEXT_ACTION, deadline.action.value),
            SearchAttributePair(sa.NEXT_CLAUSE, deadline.clause or ""),
            SearchAttributePair(sa.NEXT_DEADLINE, deadline.at - clock_shift),
        ]
    if hold:
        pairs.append(SearchAttributePair(sa.HOLD, hold.kind.value))
    if overrides:
        pairs.append(SearchAttributePair(sa.OVERRIDES, sorted(set(overrides))))
    return pairs


def search_attribute_updates(pairs: list[SearchAttributePair[Any]]) -> list[SearchAttributeUpdate[Any]]:
    """The upsert that makes a workflow's attributes ``pairs``: the next-deadline ones unset when absent."""
    updates: list[SearchAttributeUpdate[Any]] = [pair.key.value_set(pair.value) for pair in pairs]
    if not any(pair.key in _NEXT for pair in pairs):
        updates += [key.value_unset() for key in _NEXT]
    for optional in (sa.HOLD, sa.OVERRIDES):
        if not any(pair.key == optional for pair in pairs):
            updates.append(optional.value_unset())
    return updates


def webhook_dispatcher_id(task_queue: str) -> str:
    """The webhook dispatcher (workflows/webhooks.py): one per deployment (its task queue)."""
    return f"webhooks-{task_queue}"
