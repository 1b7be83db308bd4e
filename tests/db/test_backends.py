"""The activities' database back ends write each fact once, whatever the retries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from aiohttp import web
from sqlalchemy import delete, func, select
from temporalio.exceptions import ApplicationError

from activities.provisioning import HttpProvisioner, LocalProvisioner
from activities.recorder import DatabaseRecorder
from activities.refunds import DatabaseRefundGateway
from oferta import webhooks
from oferta.db.models import (
    AuditEvent,
    BillingEventRecord,
    Customer,
    Invoice,
    Payment,
    ProvisioningCall,
    Refund,
    Service,
    TimelineEvent,
    WebhookDelivery,
    WebhookEndpoint,
)
from oferta.db.repo import billing_feed
from oferta.db.session import session_scope
from oferta.effects import ProvisioningRequest, RefundRequest, TimelineRecord
from oferta.policy import load_policy
from oferta.policy.schema import RefundDestination
from oferta.timeline import entry_keys
from oferta.timeline.engine import Contract
from oferta.timeline.money import Money
from oferta.timeline.state import (
    BillingEvent,
    EntryType,
    EventType,
    ServiceSpec,
    ServiceState,
    ServiceStatus,
    TimelineEntry,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _service_row(url: str) -> str:
    service_id = f"svc-{uuid.uuid4().hex[:8]}"
    with session_scope(url) as session:
        customer = Customer(id=f"cust-{uuid.uuid4().hex[:8]}", name="Test LLP", locale="ru")
        session.add(customer)
        session.flush()
        session.add(
            Service(
                id=service_id,
                customer_id=customer.id,
                policy_id="ps-kz",
                kind="hosting",
                tariff="Basic",
                price=Decimal("2500"),
                currency="KZT",
                period="P1M",
                workflow_id=f"service-{service_id}",
            )
        )
    return service_id


def _new_service(service_id: str) -> tuple[Contract, ServiceState]:
    """A PS.kz service of customer "c" at NOW, before its start, with its contract."""
    spec = ServiceSpec(
        service_id=service_id,
        customer_id="c",
        policy_id="ps-kz",
        tariff="Basic",
        price=Money.of("2500", "KZT"),
    )
    return Contract(load_policy("ps-kz")), ServiceState.new(spec, NOW)


def _records(service_id: str) -> list[TimelineRecord]:
    """The records a PS.kz service writes when it is created and its first invoice is paid."""
    contract, state = _new_service(service_id)
    out, sequence = [], 0
    for transition in (
        contract.start(state, NOW),
        contract.on_event(
            state, BillingEvent(event_id="pay-1", type=EventType.PAYMENT, amount=Money.of("2500", "KZT")), NOW
        ),
    ):
        view = contract.view(state)
        out.append(
            TimelineRecord(
                service_id=service_id,
                customer_id="c",
                policy_id="ps-kz",
                entries=transition.entries,
                first_sequence=sequence,
                state=view.state,
                period_index=view.period_index,
                paid_until=view.paid_until,
                next_deadline=view.next_deadline,
                debt=view.debt,
            )
        )
        sequence += len(transition.entries)
    return out


def _count(url: str, model, **where) -> int:
    with session_scope(url) as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return session.scalar(query)


async def test_recorder_writes_each_record_once_and_mirrors_the_service(database_url):
    service_id = _service_row(database_url)
    recorder = DatabaseRecorder(database_url)
    records = _records(service_id)
    for record in records:
        await recorder.record(record)
        await recorder.record(record)  # an activity retry
    entries = sum(len(r.entries) for r in records)

    with session_scope(database_url) as session:
        events = session.scalars(
            select(TimelineEvent)
            .where(TimelineEvent.service_id == service_id)
            .order_by(TimelineEvent.sequence)
        ).all()
        assert [e.sequence for e in events] == list(range(entries))
        assert [e.type for e in events][:3] == ["invoice_issued", "payment_received", "activated"]
        service = session.get(Service, service_id)
        assert service.state == "active"
        assert service.next_clause == records[-1].next_deadline.clause
        assert service.next_action == records[-1].next_deadline.action
        assert service.debt == Decimal("0")
        invoice = session.scalars(select(Invoice).where(Invoice.service_id == service_id)).one()
        assert (invoice.invoice_id, invoice.amount, invoice.currency) == ("p0", Decimal("2500.00"), "KZT")
        payment = session.scalars(select(Payment).where(Payment.service_id == service_id)).one()
        assert (payment.event_id, payment.amount) == ("pay-1", Decimal("2500.00"))
        audit = session.scalars(
            select(AuditEvent).where(AuditEvent.service_id == service_id).order_by(AuditEvent.id)
        ).all()
        assert [a.action for a in audit] == [e.type for e in events]
        assert {a.actor for a in audit} == {"workflow"}
        assert audit[0].clause == "5.8"


async def test_a_write_re_run_with_more_entries_adds_only_the_new_ones(database_url):
    """A local activity re-run after a worker crash may carry more entries than the attempt that
    already committed (its history grew meanwhile): nothing is skipped and nothing doubled."""
    service_id = _service_row(database_url)
    recorder = DatabaseRecorder(database_url)
    first, second = _records(service_id)
    merged = second.model_copy(
        update={"first_sequence": first.first_sequence, "entries": first.entries + second.entries}
    )
    await recorder.record(first)  # committed before the crash
    await recorder.record(merged)  # the re-run, on the longer history
    with session_scope(database_url) as session:
        events = session.scalars(
            select(TimelineEvent)
            .where(TimelineEvent.service_id == service_id)
            .order_by(TimelineEvent.sequence)
        ).all()
        assert [e.type for e in events] == [e.type.value for e in merged.entries]
        payments = session.scalars(select(Payment).where(Payment.service_id == service_id)).all()
        assert len(payments) == 1
        audit = session.scalars(select(AuditEvent).where(AuditEvent.service_id == service_id)).all()
        assert len(audit) == len(merged.entries)


def _keyed_life(service_id: str) -> dict[str, TimelineEntry]:
    """A PS.kz service's first entries as its workflow keys them: started (the invoice), the
    invoice's e-mail, paid (the payment, the activation) and the receipt's e-mail."""
    contract, state = _new_service(service_id)
    started = contract.start(state, NOW).entries
    entry_keys.assign(state.timeline, started, entry_keys.start())
    paid = contract.on_event(
        state, BillingEvent(event_id="pay-1", type=EventType.PAYMENT, amount=Money.of("2500", "KZT")), NOW
    ).entries
    entry_keys.assign(state.timeline, paid, entry_keys.event("pay-1"))
    notices = []
    for suffix in ("0:invoice:p0:email", "0:payment:pay-1:email"):
        notice = TimelineEntry(at=NOW, type=EntryType.NOTICE, clause="5.8", detail={"status": "sent"})
        entry_keys.assign([], [notice], entry_keys.notice(suffix))
        notices.append(notice)
    invoice, payment, activated = *started, *paid
    return {
        "invoice": invoice,
        "invoice_email": notices[0],
        "payment": payment,
        "activated": activated,
        "receipt_email": notices[1],
    }


def _keyed_record(service_id: str, first_sequence: int, entries: list[TimelineEntry]) -> TimelineRecord:
    return TimelineRecord(
        service_id=service_id,
        customer_id="c",
        policy_id="ps-kz",
        entries=entries,
        first_sequence=first_sequence,
        state=ServiceStatus.ACTIVE,
        period_index=0,
        paid_until=None,
        next_deadline=None,
        debt=Money.zero("KZT"),
    )


async def test_entries_regrouped_by_a_re_run_write_are_each_added_once(database_url):
    """A local write re-run after a worker crash, on a longer history: the attempt that died wrote the
    invoice and its e-mail (sequences 0, 1); the re-run applied the payment before the e-mail's
    outcome came in, so the same entries and the new ones arrive in other groups, orders and
    numbers. By position the payment (numbered 1, the e-mail's number) was skipped and the e-mail
    written twice; by key each entry is in the mirror, the ledgers, the audit trail and the webhook
    outbox exactly once."""
    service_id = _service_row(database_url)
    life = _keyed_life(service_id)
    assert len({e.key for e in life.values()}) == 5 and all(e.key for e in life.values())
    endpoint = f"wh_{uuid.uuid4().hex[:8]}"
    with session_scope(database_url) as session:
        session.add(
            WebhookEndpoint(
                id=endpoint,
                url="https://hooks.test/x",
                event_types=["*"],
                secret="whsec_x",
                created_by="test",
            )
        )
    recorder = DatabaseRecorder(database_url)
    inv, inv_mail, pay, act, pay_mail = (
        life[k] for k in ("invoice", "invoice_email", "payment", "activated", "receipt_email")
    )
    await recorder.record(_keyed_record(service_id, 0, [inv, inv_mail]))  # the attempt that died
    # The re-run: one write, another order, then the next write; then both again (a retry).
    regrouped = [
        _keyed_record(service_id, 0, [inv, pay, act, inv_mail]),
        _keyed_record(service_id, 4, [pay_mail]),
    ]
    for record in regrouped + regrouped:
        await recorder.record(record)
    # And the same entries once more, grouped otherwise again (a second crash and re-run).
    await recorder.record(_keyed_record(service_id, 0, [pay_mail, act, inv]))

    with session_scope(database_url) as session:
        rows = session.scalars(
            select(TimelineEvent)
            .where(TimelineEvent.service_id == service_id)
            .order_by(TimelineEvent.at, TimelineEvent.sequence, TimelineEvent.id)
        ).all()
        assert sorted(r.entry_key for r in rows) == sorted(e.key for e in life.values())
        assert sorted(r.type for r in rows) == sorted(e.type.value for e in life.values())
        # Sequence numbers are no identity: the payment took the number the e-mail had.
        assert sorted(r.sequence for r in rows) == [0, 1, 1, 2, 4]
        assert _count(database_url, Payment, service_id=service_id) == 1
        assert _count(database_url, Invoice, service_id=service_id) == 1
        assert _count(database_url, AuditEvent, service_id=service_id) == 5
        outbox = session.scalars(
            select(WebhookDelivery.event_id).where(
                WebhookDelivery.service_id == service_id, WebhookDelivery.endpoint_id == endpoint
            )
        ).all()
        assert sorted(outbox) == sorted(webhooks.event_id(service_id, e.key or "") for e in life.values())
        assert len(set(outbox)) == 5
        session.execute(delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint))


def _provision(service_id: str, action: str = "activate") -> ProvisioningRequest:
    return ProvisioningRequest(
        idempotency_key=f"service-{service_id}:{action}:{action}",
        service_id=service_id,
        kind="hosting",
        action=action,
        clause="5.8",
        at=NOW,
    )


async def test_local_provisioner_records_each_call_once(database_url):
    service_id = _service_row(database_url)
    provisioner = LocalProvisioner(database_url)
    first = await provisioner.apply(_provision(service_id))
    again = await provisioner.apply(_provision(service_id))
    assert (first.status, again.status) == ("done", "already_done")
    assert first.reference == again.reference
    assert _count(database_url, ProvisioningCall, service_id=service_id) == 1


@pytest.fixture
async def platform():
    """A hosting platform's provisioning endpoint on a free port, answering as told."""
    calls: list[tuple[str, str | None]] = []
    answer = {"status": 200}

    async def handle(request: web.Request) -> web.Response:
        calls.append((request.path, request.headers.get("Idempotency-Key")))
        if answer["status"] >= 400:
            return web.json_response({"error": "no"}, status=answer["status"])
        return web.json_response({"id": f"op-{len(calls)}"})

    app = web.Application()
    app.router.add_post("/services/{service_id}/{action}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}", calls, answer
    finally:
        await runner.cleanup()


async def test_http_provisioner_calls_once_with_the_key(database_url, platform):
    base_url, calls, _ = platform
    service_id = _service_row(database_url)
    provisioner = HttpProvisioner(base_url, database_url)
    first = await provisioner.apply(_provision(service_id))
    again = await provisioner.apply(_provision(service_id))
    assert (first.status, first.reference) == ("done", "op-1")
    assert (again.status, again.reference) == ("already_done", "op-1")
    assert calls == [(f"/services/{service_id}/activate", f"service-{service_id}:activate:activate")]
    assert _count(database_url, ProvisioningCall, service_id=service_id) == 1


@pytest.mark.parametrize("status, retryable", [(404, False), (422, False), (503, True), (429, True)])
async def test_http_provisioner_classifies_failures(database_url, platform, status, retryable):
    base_url, _, answer = platform
    answer["status"] = status
    service_id = _service_row(database_url)
    with pytest.raises(ApplicationError) as failure:
        await HttpProvisioner(base_url, database_url).apply(_provision(service_id, "suspend"))
    assert failure.value.non_retryable is not retryable
    assert f"HTTP {status}" in str(failure.value)
    assert _count(database_url, ProvisioningCall, service_id=service_id) == 0


async def test_http_provisioner_unreachable_is_retryable(database_url):
    service_id = _service_row(database_url)
    with pytest.raises(ApplicationError) as failure:
        await HttpProvisioner("http://127.0.0.1:9", database_url, timeout=2).apply(_provision(service_id))
    assert not failure.value.non_retryable


def _refund(service_id: str, destination=RefundDestination.PERSONAL_ACCOUNT) -> RefundRequest:
    return RefundRequest(
        idempotency_key=f"service-{service_id}:refund:terminated",
        service_id=service_id,
        customer_id="c",
        amount=Money.of("1200.50", "KZT"),
        due_by=None,
        destination=destination,
        clause="7.2",
        at=NOW,
    )


async def test_refund_credits_the_personal_account_once(database_url):
    service_id = _service_row(database_url)
    gateway = DatabaseRefundGateway(database_url)
    first = await gateway.pay(_refund(service_id))
    again = await gateway.pay(_refund(service_id))
    assert first == again and first.status == "paid"
    with session_scope(database_url) as session:
        refund = session.scalars(select(Refund).where(Refund.service_id == service_id)).one()
        assert (refund.amount, refund.status, refund.destination) == (
            Decimal("1200.50"),
            "paid",
            "personal_account",
        )
    assert _count(database_url, AuditEvent, service_id=service_id, action="personal_account_credited") == 1


async def test_bank_transfer_refund_waits_for_operations(database_url):
    service_id = _service_row(database_url)
    gateway = DatabaseRefundGateway(database_url)
    result = await gateway.pay(_refund(service_id, RefundDestination.BANK_TRANSFER))
    assert result.status == "requested"


async def test_refund_for_an_unknown_service_fails_for_good(database_url):
    with pytest.raises(ApplicationError) as failure:
        await DatabaseRefundGateway(database_url).pay(_refund("no-such-service"))
    assert failure.value.non_retryable


@pytest.mark.parametrize("status", [404, 405, 501])
async def test_a_platform_without_archives_says_so_and_the_deletion_goes_on(database_url, platform, status):
    base_url, calls, answer = platform
    answer["status"] = status
    service_id = _service_row(database_url)
    result = await HttpProvisioner(base_url, database_url).apply(_provision(service_id, "archive"))
    assert result.status == "unsupported" and result.reference is None
    assert calls == [(f"/services/{service_id}/archive", f"service-{service_id}:archive:archive")]


async def test_an_archive_keeps_the_platforms_reference(database_url, platform):
    base_url, _, _ = platform
    service_id = _service_row(database_url)
    result = await HttpProvisioner(base_url, database_url).apply(_provision(service_id, "archive"))
    assert (result.status, result.reference) == ("done", "op-1")


def test_the_billing_feed_counts_open_services_and_the_last_input(database_url):
    policy_id = f"feed-{uuid.uuid4().hex[:6]}"
    assert billing_feed(database_url, policy_id) == (0, None)
    ids = [_service_row(database_url) for _ in range(3)]
    with session_scope(database_url) as session:
        for service_id in ids:
            session.get_one(Service, service_id).policy_id = policy_id
        session.get_one(Service, ids[0]).state = "deleted"
        session.add(
            BillingEventRecord(
                service_id=ids[1],
                event_id="pay-1",
                type="payment",
                payload={},
                received_at=datetime(2031, 1, 1, tzinfo=UTC),
            )
        )
    open_services, last_input = billing_feed(database_url, policy_id)
    assert open_services == 2  # the deleted one is not open
    assert last_input == datetime(2031, 1, 1, tzinfo=UTC)  # later than every service's creation
