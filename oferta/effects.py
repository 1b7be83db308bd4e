"""Inputs and results of the activities.

Plain pydantic models only: the workflow imports this module inside its sandbox.
Every request carries an idempotency key that the receiving side enforces.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel

from oferta.policy.schema import Channel, NoticeTemplate, RefundDestination
from oferta.timeline.engine.effects import ProvisionAction
from oferta.timeline.money import Money
from oferta.timeline.state import Deadline, ServiceStatus, TimelineEntry


class NoticeRequest(BaseModel):
    idempotency_key: str
    service_id: str
    customer_id: str
    policy_id: str
    provider_name: str
    template: NoticeTemplate
    channel: Channel
    clause: str | None
    detail: dict[str, Any]
    at: AwareDatetime


class NoticeResult(BaseModel):
    idempotency_key: str
    status: Literal["sent", "failed", "skipped"]
    channel: Channel
    template: NoticeTemplate
    locale: str | None
    provider_message_id: str | None = None
    error: str | None = None
    # What the customer reads: the email's subject, or the SMS text.
    preview: str | None = None
    # It reached the customer: SMTP accepted it. An SMS counts only once Twilio reports it
    # delivered (a status callback); being queued at Twilio is not delivery.
    delivered: bool = False


class ProvisioningRequest(BaseModel):
    idempotency_key: str
    service_id: str
    kind: str
    action: ProvisionAction
    clause: str | None
    at: AwareDatetime


class ProvisioningResult(BaseModel):
    idempotency_key: str
    # "unsupported": the back end keeps no archives (asked to archive before a deletion).
    status: Literal["done", "already_done", "unsupported"]
    reference: str | None = None


class RefundRequest(BaseModel):
    idempotency_key: str
    service_id: str
    customer_id: str
    amount: Money
    due_by: AwareDatetime | None
    destination: RefundDestination
    clause: str | None
    at: AwareDatetime


class RefundResult(BaseModel):
    idempotency_key: str
    reference: str
    status: Literal["paid", "requested"]


class TimelineRecord(BaseModel):
    """Facts to write down: new timeline entries and the state they led to."""

    service_id: str
    customer_id: str
    policy_id: str
    entries: list[TimelineEntry]
    first_sequence: int
    state: ServiceStatus
    period_index: int
    paid_until: AwareDatetime | None
    next_deadline: Deadline | None
    debt: Money


class ImportBatch(BaseModel):
    """Rows of an import (POST /v1/imports) for one activity: checked, written, started."""

    import_id: str
    lines: list[int]
    rows: list[dict[str, Any]]
    now: AwareDatetime


class ImportRefusal(BaseModel):
    line: int
    field: str
    reason: str
    service_id: str | None = None


class ImportBatchResult(BaseModel):
    imported: int = 0
    already: int = 0
    refusals: list[ImportRefusal] = []


class WebhookRound(BaseModel):
    """One round of the webhook dispatcher: claim up to ``limit`` due deliveries and post them;
    while none is due, look again every ``poll_seconds`` for up to ``wait_seconds``."""

    limit: int = 100
    poll_seconds: float = 5.0
    wait_seconds: float = 60.0


class WebhookRoundResult(BaseModel):
    claimed: int = 0
    delivered: int = 0
    failed: int = 0
    disabled: int = 0  # endpoints disabled by this round (an event failed for the whole window)
    enabled_endpoints: int = 0
    more: bool = False  # the round was full: look again at once


class PolicyVersionRef(BaseModel):
    """A published version of a policy, which the service workflow loads when it hears of it."""

    policy_id: str
    version: int
