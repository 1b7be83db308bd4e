"""In-memory back ends: the time machine's and the tests'. Idempotent by key, like the real ones."""

from __future__ import annotations

from dataclasses import dataclass, field

from oferta.effects import (
    NoticeRequest,
    NoticeResult,
    ProvisioningRequest,
    ProvisioningResult,
    RefundRequest,
    RefundResult,
    TimelineRecord,
)
from oferta.timeline import entry_keys
from oferta.timeline.state import TimelineEntry


@dataclass
class MemoryLedger:
    """Records every effect once per idempotency key, as the database ledger does."""

    locales: dict[str, str] = field(default_factory=dict)
    notices: dict[str, NoticeRequest] = field(default_factory=dict)
    provisioning: dict[str, ProvisioningRequest] = field(default_factory=dict)
    refunds: dict[str, RefundRequest] = field(default_factory=dict)
    timeline: dict[str, list[TimelineEntry]] = field(default_factory=dict)
    records: dict[tuple[str, int], TimelineRecord] = field(default_factory=dict)
    entry_keys: set[tuple[str, str]] = field(default_factory=set)
    send_attempts: int = 0

    async def send(self, request: NoticeRequest) -> NoticeResult:
        from oferta.notices.render import render  # Jinja2 and Babel, only where notices are rendered

        self.send_attempts += 1
        self.notices.setdefault(request.idempotency_key, request)
        notice = render(request, self.locales.get(request.customer_id, "ru"))
        return NoticeResult(
            idempotency_key=request.idempotency_key,
            status="sent",
            channel=request.channel,
            template=request.template,
            locale=notice.locale,
            provider_message_id=f"memory-{len(self.notices)}",
            preview=notice.sms if request.channel.value == "sms" else notice.subject,
            delivered=True,  # the in-memory inbox is the customer's
        )

    async def apply(self, request: ProvisioningRequest) -> ProvisioningResult:
        first = request.idempotency_key not in self.provisioning
        self.provisioning.setdefault(request.idempotency_key, request)
        reference = f"memory-archive-{request.service_id}" if request.action == "archive" else None
        return ProvisioningResult(
            idempotency_key=request.idempotency_key,
            status="done" if first else "already_done",
            reference=reference,
        )

    async def pay(self, request: RefundRequest) -> RefundResult:
        self.refunds.setdefault(request.idempotency_key, request)
        return RefundResult(
            idempotency_key=request.idempotency_key, reference=f"refund-{request.service_id}", status="paid"
        )

    async def record(self, record: TimelineRecord) -> None:
        # Each entry once by its key (its sequence number when it has none), as the recorder does.
        self.records.setdefault((record.service_id, record.first_sequence), record)
        timeline = self.timeline.setdefault(record.service_id, [])
        for i, entry in enumerate(record.entries):
            key = (record.service_id, entry.key or entry_keys.positional(record.first_sequence + i))
            if key not in self.entry_keys:
                self.entry_keys.add(key)
                timeline.append(entry)
