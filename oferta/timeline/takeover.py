"""Taking over a running service: the contract state an imported row describes.

A provider adopting Oferta has services somewhere in their contract: paid until a
date, maybe owing, maybe suspended. The state is rebuilt by the engine itself, so it
is one the engine could have reached: the first paid period is the one that ends at
``paid_until``, and the contract's own bookkeeping (invoices, reminders, debits) is
taken up to now. Nothing of the past is sent or carried out: only the resulting
state is kept. The steps that act on the customer (suspension, final warning,
deletion, termination) are not taken on the contract's dates but where the row says:
a row suspended five days ago under PS.kz keeps that date, so its data is deleted two
days from now (3.16's seven days), not seven. A step the contract has already made
due and the row has not taken is due at once when the workflow starts.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from oferta.timeline.calendar import add_calendar_days, add_months
from oferta.timeline.engine import Contract
from oferta.timeline.money import Money
from oferta.timeline.periods import parse_period
from oferta.timeline.safeguards import step_risk
from oferta.timeline.state import (
    BillingEvent,
    DeadlineAction,
    EventType,
    Invoice,
    ServiceSpec,
    ServiceState,
)

# Steps that only keep the books: taken during the takeover, with nothing sent.
_BOOKKEEPING = frozenset(
    {
        DeadlineAction.SEND_NOTICE,
        DeadlineAction.START_PERIOD,
        DeadlineAction.ISSUE_INVOICE,
        DeadlineAction.REMIND,
        DeadlineAction.DEBIT_BALANCE,
        DeadlineAction.END_TARIFF,
    }
)
# Taking over more history than this means the row is wrong (a year 1900 date, say).
_MAX_STEPS = 2000


class OpenInvoice(BaseModel):
    invoice_id: str = Field(min_length=1, max_length=200)
    amount: Money
    issued_at: AwareDatetime
    due_on: date


class Takeover(BaseModel):
    """Where one service stands in its contract, as the provider's old system knows it."""

    status: Literal["active", "invoice_due", "suspended"] = "active"
    # Invoice and Tariff models: the service is paid through this instant.
    paid_until: AwareDatetime | None = None
    # Balance model: what is left on the customer's balance after the current period's debit.
    balance: Money | None = None
    suspended_at: AwareDatetime | None = None
    open_invoices: list[OpenInvoice] = Field(default_factory=list)


class TakeoverRefused(ValueError):
    """The row cannot be a state of this contract: (field, reason)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def period_start_before(end: datetime, period: str, tz: str) -> datetime:
    """The start of the billing period that ends at ``end``."""
    months, days = parse_period(period)
    if months:
        return add_months(end, -months, tz)
    return add_calendar_days(end, -days, tz)


def take_over(contract: Contract, spec: ServiceSpec, row: Takeover, now: datetime) -> ServiceState:
    """The state to start the service's workflow with, ``now``, as the row describes it."""
    _check(contract, row, now)
    if row.paid_until is None:
        # Never paid: a new service waiting for its first payment, as if created now.
        state = ServiceState.new(spec, now)
        contract.start(state, now)
        _discard_the_past(state)
        return state
    start = period_start_before(row.paid_until, spec.period, contract.tz)
    state = ServiceState.new(spec, start)
    contract.start(state, start)
    first = (row.balance or Money.zero(spec.price.currency)) + spec.price
    _apply(contract, state, start, EventType.PAYMENT, first)
    if contract.policy.billing.model.value == "tariff_purchase":
        _apply(contract, state, start, EventType.TARIFF_PURCHASE, None)
    _take_bookkeeping(contract, state, row, now)
    if row.open_invoices:
        _use_the_rows_invoices(contract, state, row)
    if row.status == "suspended" and not state.suspension_reasons:
        raise TakeoverRefused(
            "status", "suspended, but nothing is overdue under the contract by suspended_at or now"
        )
    _discard_the_past(state)
    return state


def _check(contract: Contract, row: Takeover, now: datetime) -> None:
    if row.status == "suspended" and row.suspended_at is None:
        raise TakeoverRefused("suspended_at", "a suspended service needs the date it was suspended")
    if row.suspended_at is not None and row.suspended_at > now:
        raise TakeoverRefused("suspended_at", "is in the future")
    balance_model = contract.policy.billing.model.value == "balance"
    if row.balance is not None and not balance_model:
        raise TakeoverRefused("balance", f"the {contract.policy.id} contract keeps no balance")
    if row.paid_until is None and (row.status != "active" or row.open_invoices):
        raise TakeoverRefused("paid_until", "is required for a service that has been paid for")


def _apply(
    contract: Contract, state: ServiceState, at: datetime, kind: EventType, amount: Money | None
) -> None:
    event = BillingEvent(event_id=f"takeover-{kind.value}", type=kind, amount=amount)
    transition = contract.on_event(state, event, at)
    if transition.rejected:
        raise TakeoverRefused("paid_until", f"the contract refuses the first payment: {transition.rejected}")


def _take_bookkeeping(contract: Contract, state: ServiceState, row: Takeover, now: datetime) -> None:
    """The contract's steps up to ``now`` that only keep the books; the suspension where the row
    puts it; stop at anything else, which is then due when the workflow starts."""
    suspend_at = row.suspended_at if row.status == "suspended" else None
    for _ in range(_MAX_STEPS):
        deadline = contract.next_deadline(state)
        if deadline is None or deadline.at > now:
            return
        risk = step_risk(contract, state, deadline, deadline.at)
        if risk is not None and risk.effects == ["suspend"]:
            if suspend_at is None:
                return  # the row did not suspend: the contract's suspension is due at once
            contract.on_deadline(state, deadline, max(suspend_at, _last_step(state)))
            suspend_at = None
            continue
        if risk is not None or deadline.action not in _BOOKKEEPING:
            return  # a final warning, a deletion, a termination: the workflow takes it from here
        contract.on_deadline(state, deadline, deadline.at)
    raise TakeoverRefused("paid_until", f"more than {_MAX_STEPS} contract steps in the past")


def _last_step(state: ServiceState) -> datetime:
    return state.timeline[-1].at if state.timeline else state.created_at


def _use_the_rows_invoices(contract: Contract, state: ServiceState, row: Takeover) -> None:
    """The old system's open invoices replace the ones the engine issued, in order (their ids,
    sums and last days to pay); any more are debts carried over."""
    issued = [i for i in state.invoices if not i.is_paid and i.kind == "period"]
    for mine, theirs in zip(issued, row.open_invoices, strict=False):
        mine.invoice_id, mine.amount = theirs.invoice_id, theirs.amount
        mine.issued_at, mine.due_on = theirs.issued_at, theirs.due_on
        mine.due_at = contract.billing.due_at(theirs.due_on)
    for theirs in row.open_invoices[len(issued) :]:
        state.invoices.append(
            Invoice(
                invoice_id=theirs.invoice_id,
                kind="extra",
                amount=theirs.amount,
                paid=Money.zero(theirs.amount.currency),
                issued_at=theirs.issued_at,
                due_on=theirs.due_on,
                due_at=contract.billing.due_at(theirs.due_on),
                clause=contract.policy.billing.model_clause,
            )
        )


def _discard_the_past(state: ServiceState) -> None:
    """Nothing of the past is sent again: no pending notices, no timeline, no event ids."""
    state.pending_notices = []
    state.timeline = []
    state.applied_event_ids = []
