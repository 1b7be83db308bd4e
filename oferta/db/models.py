"""The database: customers, services and the ledger of everything Oferta did.

The workflow is the source of truth for the timeline; activities write its facts
here. Every effect table has a unique idempotency key, so a retried activity or a
restarted worker writes (and sends, pays, provisions) once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql import false


def utcnow() -> datetime:
    return datetime.now(UTC)


Money = Numeric(18, 2)
Timestamp = DateTime(timezone=True)


# Named constraints: migrations then name them identically on PostgreSQL and SQLite,
# and later migrations can drop them by name (SQLite batch mode needs names).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(8), default="ru")
    timezone: Mapped[str | None] = mapped_column(String(64))
    # A consumer has the statutory withdrawal right where the contract gives it (migration 0002).
    consumer: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)


class Service(Base):
    __tablename__ = "services"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    policy_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    tariff: Mapped[str] = mapped_column(String(200))
    price: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    period: Mapped[str] = mapped_column(String(16))
    workflow_id: Mapped[str] = mapped_column(String(100), unique=True)
    # A mirror of the workflow's state, written by the record_timeline activity.
    state: Mapped[str] = mapped_column(String(32), default="awaiting_payment", index=True)
    period_index: Mapped[int] = mapped_column(Integer, default=0)
    paid_until: Mapped[datetime | None] = mapped_column(Timestamp)
    debt: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    next_deadline_at: Mapped[datetime | None] = mapped_column(Timestamp)
    next_action: Mapped[str | None] = mapped_column(String(64))
    next_clause: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("service_id", "invoice_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"), index=True)
    invoice_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    issued_at: Mapped[datetime] = mapped_column(Timestamp)
    due_at: Mapped[datetime] = mapped_column(Timestamp)
    clause: Mapped[str | None] = mapped_column(String(32))


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("service_id", "event_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"), index=True)
    event_id: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    received_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class BillingEventRecord(Base):
    """Every input accepted from billing or operations, once per event id."""

    __tablename__ = "billing_events"
    __table_args__ = (UniqueConstraint("service_id", "event_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"), index=True)
    event_id: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class Refund(Base):
    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    destination: Mapped[str] = mapped_column(String(32))
    due_by: Mapped[datetime | None] = mapped_column(Timestamp)
    clause: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="requested")
    reference: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(Timestamp)


class Notice(Base):
    """The notice ledger: one row per notice per channel, sent at most once."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    service_id: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    template: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(8))
    locale: Mapped[str | None] = mapped_column(String(8))
    clause: Mapped[str | None] = mapped_column(String(32))
    recipient: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text)
    # pending -> sending -> sent | failed
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    provider_message_id: Mapped[str | None] = mapped_column(String(200), index=True)
    delivery_status: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    contract_time: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)


class ProvisioningCall(Base):
    __tablename__ = "provisioning_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    service_id: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(16))
    clause: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="done")
    reference: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class TimelineEvent(Base):
    """The service's timeline as the workflow lived it, in order (its time, then its sequence).

    Each entry once by its key (migration 0004): its step and type (oferta/timeline/entry_keys.py),
    or ``seq:<sequence>`` for entries written before keys. The sequence number orders entries of
    one time; it is no identity (a write re-run after a crash may number entries otherwise).
    """

    __tablename__ = "timeline_events"
    __table_args__ = (
        UniqueConstraint("service_id", "entry_key"),
        Index("ix_timeline_events_order", "service_id", "at", "sequence"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(String(64), index=True)
    entry_key: Mapped[str] = mapped_column(String(300))
    sequence: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(Timestamp)
    type: Mapped[str] = mapped_column(String(32))
    clause: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The version of the policy that governed the step (null for steps recorded before versions).
    policy_version: Mapped[int | None] = mapped_column(Integer)


class AuditEvent(Base):
    """Append-only: every state change and every input, with who and which clause."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_service_at", "service_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    service_id: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    clause: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    scopes: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp)


class IdempotencyRecord(Base):
    """The first answer to a write, replayed for a retry with the same key and body."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("api_key_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    api_key_id: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(300))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[Any | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class WebhookEndpoint(Base):
    """A subscriber to services' timelines (billing, the hosting panel, a CRM).

    The secret is kept as given: signing needs it (HMAC), so it cannot be hashed like an API key.
    A disabled endpoint keeps its queue; nothing is sent until operations enable it again.
    """

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSON)  # entry types, or ["*"]
    secret: Mapped[str] = mapped_column(String(200))
    # enabled | disabled
    status: Mapped[str] = mapped_column(String(16), default="enabled", index=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    disabled_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)


class WebhookDelivery(Base):
    """The outbox: one row per (endpoint, timeline event), written with the timeline itself.

    UNIQUE(endpoint_id, event_id) makes a re-recorded event queue nothing new; the dispatcher
    claims due rows, posts them and marks them delivered or due again later.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[str] = mapped_column(String(200))  # the webhook-id header
    event_type: Mapped[str] = mapped_column(String(32))
    service_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)  # the exact bytes signed and sent, every attempt
    # pending -> delivered
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    # The first failed attempt since the endpoint was (re-)enabled: the give-up clock.
    failing_since: Mapped[datetime | None] = mapped_column(Timestamp)
    last_attempt_at: Mapped[datetime | None] = mapped_column(Timestamp)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class PolicyVersion(Base):
    """A published version of a policy (``oferta policies publish``): the whole policy as JSON,
    never changed once written. The policy files are each policy's first version."""

    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("policy_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    policy_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    effective_at: Mapped[datetime] = mapped_column(Timestamp)
    published_at: Mapped[datetime] = mapped_column(Timestamp)
    published_by: Mapped[str] = mapped_column(String(100))
    changed_clauses: Mapped[list[str]] = mapped_column(JSON, default=list)
