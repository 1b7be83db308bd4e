"""What one step of the contract asks the workflow to do."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from oferta.policy.schema import RefundDestination
from oferta.timeline.money import Money
from oferta.timeline.notices import Delivery
from oferta.timeline.state import TimelineEntry

# "archive" is asked of the back end right before "delete" (two-step deletion).
ProvisionAction = Literal["activate", "suspend", "resume", "archive", "delete", "terminate"]


class ProvisionIntent(BaseModel):
    action: ProvisionAction
    key: str
    clause: str | None


class RefundIntent(BaseModel):
    key: str
    amount: Money
    due_by: datetime | None
    destination: RefundDestination
    clause: str | None


class Transition(BaseModel):
    """The effects of one step, in the order they are to be carried out."""

    entries: list[TimelineEntry] = Field(default_factory=list)
    deliveries: list[Delivery] = Field(default_factory=list)
    provisioning: list[ProvisionIntent] = Field(default_factory=list)
    refunds: list[RefundIntent] = Field(default_factory=list)
    new_period: bool = False
    # A new version of the policy governs from this step on (engine/amendments.py).
    policy_version: int | None = None
    rejected: str | None = None


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
