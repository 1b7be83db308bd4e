"""The timeline recorder: every step Oferta took, mirrored in the database.

Idempotent by each entry's key (service, entry key), enforced by the table's UNIQUE constraint: a
retried write adds nothing, a re-run one only what it did not have, however its entries are grouped
and ordered. The key is the entry's step and type (oferta/timeline/entry_keys.py); an entry without
one (a run from before keys) is keyed by its sequence number, as every entry was before. Each new
entry is also queued, in the same transaction, for the webhook endpoints subscribed to its type
(the outbox of oferta/webhooks.py), under an event id made of that key. Database work is
synchronous SQLAlchemy run in a thread.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

from oferta import webhooks
from oferta.db import webhooks as webhook_tables
from oferta.db.models import (
    Invoice,
    Payment,
    Service,
    TimelineEvent,
)
from oferta.db.once import insert_once, utc
from oferta.db.repo import add_audit
from oferta.db.session import session_scope
from oferta.effects import (
    TimelineRecord,
)
from oferta.timeline import entry_keys
from oferta.timeline.state import EntryType, TimelineEntry

log = logging.getLogger("oferta.activities.recorder")


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class DatabaseRecorder:
    """Writes timeline entries, mirrors the service row, and keeps the ledgers and audit trail."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url

    async def record(self, record: TimelineRecord) -> None:
        await asyncio.to_thread(self._record, record)

    def _record(self, record: TimelineRecord) -> None:
        with session_scope(self.url) as session:
            endpoints = webhook_tables.subscriptions(session)
            # Each entry once, by its key: a retried write adds nothing, and a write re-run after a
            # crash (a local activity re-executed on a longer history), with more entries than the
            # first attempt had or the same ones grouped and numbered otherwise, adds only the ones
            # the first attempt did not write. The sequence number only orders the timeline (after
            # the time): a re-run may give a number the first attempt gave another entry.
            new: list[TimelineEntry] = []
            for i, entry in enumerate(record.entries):
                sequence = record.first_sequence + i
                key = entry.key or entry_keys.positional(sequence)
                inserted = insert_once(
                    session,
                    TimelineEvent,
                    service_id=record.service_id,
                    entry_key=key,
                    sequence=sequence,
                    at=utc(entry.at),
                    type=entry.type.value,
                    clause=entry.clause,
                    detail=entry.detail,
                    policy_version=entry.policy_version,
                )
                if inserted:
                    new.append(entry)
                    self._enqueue(session, endpoints, record, key, sequence, entry)
            if not new:
                return  # a retry: the first attempt wrote this whole record in one transaction
            service = session.get(Service, record.service_id)
            if service is not None:
                self._mirror(service, record)
                for entry in new:
                    self._ledger(session, record.service_id, entry)
            for entry in new:
                add_audit(
                    session,
                    at=entry.at,
                    service_id=record.service_id,
                    actor="workflow",
                    action=entry.type.value,
                    clause=entry.clause,
                    detail=entry.detail,
                )

    @staticmethod
    def _enqueue(
        session: Any,
        endpoints: list[tuple[str, list[str]]],
        record: TimelineRecord,
        key: str,
        sequence: int,
        entry: TimelineEntry,
    ) -> None:
        """The webhook outbox (oferta/webhooks.py): one row per subscribed endpoint, in this
        transaction, so an entry is queued exactly when it is recorded."""
        if not endpoints:
            return
        webhook_tables.enqueue(
            session,
            endpoints,
            event_id=webhooks.event_id(record.service_id, key),
            event_type=entry.type.value,
            service_id=record.service_id,
            body=webhooks.body(
                type=entry.type.value,
                at=entry.at,
                service_id=record.service_id,
                customer_id=record.customer_id,
                policy_id=record.policy_id,
                sequence=sequence,
                clause=entry.clause,
                detail=entry.detail,
                state=record.state.value,
                policy_version=entry.policy_version,
            ),
        )

    @staticmethod
    def _mirror(service: Service, record: TimelineRecord) -> None:
        deadline = record.next_deadline
        service.state = record.state.value
        service.period_index = record.period_index
        service.paid_until = utc(record.paid_until)
        service.debt = record.debt.amount
        service.next_deadline_at = utc(deadline.at) if deadline else None
        service.next_action = deadline.action if deadline else None
        service.next_clause = deadline.clause if deadline else None

    @staticmethod
    def _ledger(session: Any, service_id: str, entry: TimelineEntry) -> None:
        detail = entry.detail
        if entry.type == EntryType.INVOICE_ISSUED:
            insert_once(
                session,
                Invoice,
                service_id=service_id,
                invoice_id=detail["invoice_id"],
                kind=detail.get("kind", "period"),
                amount=Decimal(detail["amount"]),
                currency=detail["currency"],
                issued_at=utc(entry.at),
                due_at=utc(_parse_time(detail.get("due_at")) or entry.at),
                clause=entry.clause,
            )
        elif entry.type == EntryType.PAYMENT_RECEIVED:
            insert_once(
                session,
                Payment,
                service_id=service_id,
                event_id=detail["event_id"],
                amount=Decimal(detail["amount"]),
                currency=detail["currency"],
                received_at=utc(entry.at),
            )
