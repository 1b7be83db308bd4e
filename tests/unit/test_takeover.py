"""Taking over a running service from an imported row (oferta/timeline/takeover.py), without Temporal."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from oferta.policy import load_policy
from oferta.timeline.engine import Contract
from oferta.timeline.money import Money
from oferta.timeline.state import DeadlineAction, ServiceSpec, ServiceState
from oferta.timeline.takeover import OpenInvoice, Takeover, TakeoverRefused, take_over

ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2027, 5, 12, 12, 0, tzinfo=ALMATY)  # a Wednesday
DAY = timedelta(days=1)


def _spec(policy_id: str = "ps-kz", price: str = "2500") -> ServiceSpec:
    return ServiceSpec(
        service_id="imp-1",
        customer_id="c-1",
        policy_id=policy_id,
        tariff="Basic",
        price=Money.of(price, "KZT"),
    )


def _next(contract: Contract, state: ServiceState, skip: tuple[DeadlineAction, ...] = ()):
    """The next deadline, taking the ones in ``skip`` (the final warning, say) on the way."""
    deadline = contract.next_deadline(state)
    while deadline is not None and deadline.action in skip:
        contract.on_deadline(state, deadline, deadline.at)
        deadline = contract.next_deadline(state)
    return deadline


def test_ps_kz_suspended_five_days_ago_is_deleted_on_the_seventh_day_after_its_suspension() -> None:
    # PS.kz 3.16: the customer may pay "no later than 7 (seven) calendar days from the moment of
    # Service suspension"; 3.17: "Upon the expiration of the specified seven-day period, the
    # Contractor deletes the Customer's data". The old system suspended it on 7 May: the term runs
    # 8-14 May, so the data goes at 24:00 on 14 May, two and a half days after the takeover on the
    # 12th, not seven.
    contract = Contract(load_policy("ps-kz"))
    row = Takeover(
        status="suspended",
        paid_until=datetime(2027, 4, 30, 12, 0, tzinfo=ALMATY),
        suspended_at=datetime(2027, 5, 7, 12, 0, tzinfo=ALMATY),
    )
    state = take_over(contract, _spec(), row, NOW)
    assert state.status.value == "suspended"
    assert state.suspended_at == row.suspended_at
    deletion = _next(contract, state, skip=(DeadlineAction.WARN_DELETION, DeadlineAction.SEND_NOTICE))
    assert deletion is not None and deletion.action is DeadlineAction.DELETE_DATA
    assert deletion.at == datetime(2027, 5, 15, 0, 0, tzinfo=ALMATY)
    assert deletion.clause == "3.17"


def test_the_final_warning_the_old_system_may_not_have_sent_is_due_at_once() -> None:
    contract = Contract(load_policy("ps-kz"))
    row = Takeover(
        status="suspended",
        paid_until=datetime(2027, 4, 30, 12, 0, tzinfo=ALMATY),
        suspended_at=datetime(2027, 5, 7, 12, 0, tzinfo=ALMATY),
    )
    state = take_over(contract, _spec(), row, datetime(2027, 5, 14, 12, 0, tzinfo=ALMATY))
    warning = contract.next_deadline(state)
    assert warning is not None and warning.action is DeadlineAction.WARN_DELETION
    assert not state.deletion_warned


def test_a_paid_service_keeps_its_paid_until_and_nothing_of_the_past_is_sent() -> None:
    contract = Contract(load_policy("ps-kz"))
    paid_until = datetime(2027, 5, 22, 12, 0, tzinfo=ALMATY)
    state = take_over(contract, _spec(), Takeover(paid_until=paid_until), NOW)
    assert state.status.value == "active" and state.paid_until == paid_until
    assert state.timeline == [] and state.pending_notices == [] and state.applied_event_ids == []
    renewal = contract.next_deadline(state)
    assert renewal is not None and renewal.action is DeadlineAction.ISSUE_INVOICE and renewal.at > NOW


def test_a_row_that_did_not_suspend_an_overdue_service_is_suspended_at_once() -> None:
    contract = Contract(load_policy("ps-kz"))
    state = take_over(contract, _spec(), Takeover(paid_until=NOW - 12 * DAY), NOW)
    assert state.status.value == "invoice_due"
    suspension = contract.next_deadline(state)
    assert suspension is not None and suspension.action is DeadlineAction.SUSPEND
    assert suspension.at <= NOW and suspension.clause == "4.2.4"


def test_the_old_systems_open_invoice_keeps_its_id_sum_and_last_day_to_pay() -> None:
    contract = Contract(load_policy("ps-kz"))
    invoice = OpenInvoice(
        invoice_id="INV-2027-0412",
        amount=Money.of("2600", "KZT"),
        issued_at=datetime(2027, 5, 10, 9, 0, tzinfo=ALMATY),
        due_on=date(2027, 5, 20),
    )
    row = Takeover(status="invoice_due", paid_until=NOW + 5 * DAY, open_invoices=[invoice])
    state = take_over(contract, _spec(), row, NOW)
    (open_invoice,) = state.open_invoices
    assert (open_invoice.invoice_id, open_invoice.amount, open_invoice.due_on) == (
        "INV-2027-0412",
        Money.of("2600", "KZT"),
        date(2027, 5, 20),
    )
    assert open_invoice.due_at == datetime(2027, 5, 21, 0, 0, tzinfo=ALMATY)  # overdue from 24:00


def test_a_balance_contract_keeps_the_rows_balance() -> None:
    contract = Contract(load_policy("registry-kz"))
    row = Takeover(paid_until=NOW + 10 * DAY, balance=Money.of("1000", "KZT"))
    state = take_over(contract, _spec("registry-kz"), row, NOW)
    assert state.balance == Money.of("1000", "KZT")
    assert state.status.value == "active"


@pytest.mark.parametrize(
    "policy_id, row, field",
    [
        ("ps-kz", Takeover(status="suspended", paid_until=NOW - 12 * DAY), "suspended_at"),
        ("ps-kz", Takeover(paid_until=NOW + DAY, balance=Money.of("5", "KZT")), "balance"),
        ("ps-kz", Takeover(status="suspended", paid_until=NOW + DAY, suspended_at=NOW - DAY), "status"),
        (
            "ps-kz",
            Takeover(status="suspended", paid_until=NOW - 9 * DAY, suspended_at=NOW + DAY),
            "suspended_at",
        ),
        ("ps-kz", Takeover(status="invoice_due"), "paid_until"),
    ],
)
def test_a_row_the_contract_cannot_be_in_is_refused_naming_the_field(policy_id, row, field) -> None:
    with pytest.raises(TakeoverRefused) as refused:
        take_over(Contract(load_policy(policy_id)), _spec(policy_id), row, NOW)
    assert refused.value.field == field
