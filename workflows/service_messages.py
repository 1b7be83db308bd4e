"""What goes in and out of the ServiceContract workflow (workflows/service_lifecycle.py).

Plain pydantic models in a module of their own, which the workflow imports through
``imports_passed_through``: defined in the workflow's module, the sandbox built them again for
every cached workflow.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import AwareDatetime, BaseModel, Field

from oferta.policy.interned import SharedPolicy
from oferta.timeline.state import ServiceSpec, ServiceState, ServiceView


class AmendmentNotice(BaseModel):
    """A new version of the service's policy, published to take effect at ``effective_at``. The
    workflow loads the version itself (activity ``load_policy_version``): a publication's fan-out
    carries a few hundred bytes to each service, not the whole policy."""

    policy_id: str
    version: int
    published_at: AwareDatetime
    effective_at: AwareDatetime
    changed_clauses: list[str] = Field(default_factory=list)


class ServiceWorkflowInput(BaseModel):
    """The contract the service was signed under and, after continue-as-new, its state.

    The policies are ``Policy`` on the wire; decoded, every workflow under the same version holds
    one shared object (oferta/policy/interned.py) instead of its own 36 KiB copy."""

    policy: SharedPolicy
    spec: ServiceSpec
    state: ServiceState | None = None
    # The time machine runs contracts at a fixed offset from the test server's clock.
    clock_shift: timedelta = timedelta(0)
    publish_search_attributes: bool = True
    recorded_entries: int = 0
    # A new version announced to the service and not yet governing it (kept across runs).
    amended_policy: SharedPolicy | None = None
    # A service started while a published version waits for its date hears of it at once.
    amendment: AmendmentNotice | None = None


class HoldRelease(BaseModel):
    """Operations let this service's held step run: who, and why (kept in the timeline)."""

    actor: str
    reason: str


class NoticeDelivered(BaseModel):
    """Twilio reported an SMS delivered (its status callback, through the API)."""

    template: str


class EventReceipt(BaseModel):
    event_id: str
    applied: bool
    duplicate: bool = False
    rejected: str | None = None
    view: ServiceView
