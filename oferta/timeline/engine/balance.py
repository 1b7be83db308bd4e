"""The balance model (registry.kz): a prepaid balance debited for the services rendered.

Each period's cost is written off the balance when the period starts (6.2, 6.3);
there are no invoices and no late fees. While the balance cannot cover the
services the account is blocked (8.5.2); a top-up that covers them unblocks it
and starts a new period from that moment (blocked days are not written off: 6.2
charges "for Services rendered"). The deletion is counted from the moment the
balance stopped covering the services (the policy's reading of 8.6.4), and the
balance left is written off on deletion (8.7).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from oferta.policy.schema import NoticeTemplate
from oferta.timeline.engine.billing import BillingModel, DeadlineHandler
from oferta.timeline.engine.effects import Transition
from oferta.timeline.money import Money
from oferta.timeline.notices import NoticeIntent
from oferta.timeline.state import (
    Deadline,
    DeadlineAction,
    EntryType,
    ServiceState,
    SuspensionReason,
)

# How far ahead the low-balance notice looks for the period the balance cannot pay.
_LOOKAHEAD_PERIODS = 120


class BalanceBilling(BillingModel):
    def start(self, state: ServiceState, now: datetime, out: Transition) -> None:
        """Nothing is written off before the first top-up (6.3: services start once paid)."""

    def _blocked(self, state: ServiceState) -> bool:
        return SuspensionReason.NON_PAYMENT in state.suspension_reasons

    def deadlines(self, state: ServiceState) -> list[Deadline]:
        if state.billing_anchor is None or state.period_end is None:
            return []
        if self._blocked(state):
            return self.deletion_deadlines(state, self._deletion_at(state))
        if state.cancellation_effective_at and state.cancellation_effective_at <= state.period_end:
            return []
        return [
            Deadline(
                at=state.period_end,
                action=DeadlineAction.DEBIT_BALANCE,
                clause=self.policy.billing.model_clause,
                detail={"period": state.period_index + 1},
            ),
            *self._low_balance_warning(state),
        ]

    # -- the low-balance notice (operational: 4.1.6 leaves watching the balance to the customer) --

    def runs_out_at(self, state: ServiceState) -> datetime | None:
        """The period boundary whose debit the balance will not cover (prices as announced)."""
        if state.billing_anchor is None or self._blocked(state):
            return None
        balance, index = state.balance.amount, state.period_index + 1
        for _ in range(_LOOKAHEAD_PERIODS):
            at = self.contract.boundary(state, index)
            price = self.contract.price_for(state, at).amount
            if balance < price:
                return at
            balance, index = balance - price, index + 1
        return None

    def _low_balance_warning(self, state: ServiceState) -> list[Deadline]:
        term = self.policy.billing.low_balance_warning_before
        runs_out = self.runs_out_at(state) if term else None
        if term is None or runs_out is None or state.low_balance_warned_for == runs_out:
            return []
        return [
            Deadline(
                at=self.contract.before(runs_out, term),
                action=DeadlineAction.WARN_LOW_BALANCE,
                clause=None,
                operational=True,
                detail={"runs_out_at": runs_out.isoformat()},
            )
        ]

    def _do_warn_low_balance(
        self, state: ServiceState, deadline: Deadline, now: datetime, out: Transition
    ) -> None:
        runs_out = datetime.fromisoformat(deadline.detail["runs_out_at"])
        state.low_balance_warned_for = runs_out
        needed = self.contract.price_for(state, runs_out)
        detail = self.contract.common_detail(state) | {
            "runs_out_at": runs_out.isoformat(),
            "balance": str(state.balance.amount),
            "needed": str(needed.amount),
            "currency": needed.currency,
            "operational": True,
        }
        # A notice only: the timeline shows it as sent (or not) by its delivery.
        self.contract.notify(
            state,
            now,
            out,
            NoticeIntent(
                template=NoticeTemplate.LOW_BALANCE,
                key=f"low_balance:{runs_out.isoformat()}",
                clause=None,
                detail=detail,
            ),
        )

    def _deletion_at(self, state: ServiceState) -> datetime | None:
        term = self.policy.suspension.data_deletion_after
        if term is None or state.balance_short_since is None:
            return None
        return self.contract.after(state.balance_short_since, term)

    def deadline_handlers(self) -> dict[DeadlineAction, DeadlineHandler]:
        return {
            DeadlineAction.DEBIT_BALANCE: self._do_debit,
            DeadlineAction.WARN_DELETION: self.do_warn_deletion,
            DeadlineAction.DELETE_DATA: self.do_delete_data,
            DeadlineAction.WARN_LOW_BALANCE: self._do_warn_low_balance,
        }

    def _covers(self, state: ServiceState, at: datetime) -> Money | None:
        """The period's cost when the balance covers it, else None."""
        price = self.contract.price_for(state, at)
        return price if state.balance.amount >= price.amount else None

    def _debit(self, state: ServiceState, price: Money, now: datetime, out: Transition) -> None:
        state.balance = state.balance - price
        self.contract.emit(
            state,
            out,
            now,
            EntryType.BALANCE_DEBITED,
            self.policy.billing.model_clause,
            {"amount": str(price.amount), "currency": price.currency, "balance": str(state.balance.amount)},
            None,
            f"debit:{state.period_index}",
        )

    def _do_debit(self, state: ServiceState, deadline: Deadline, now: datetime, out: Transition) -> None:
        assert state.period_end is not None
        price = self._covers(state, state.period_end)
        if price is None:
            state.balance_short_since = now
            after_due = self.policy.suspension.after_due
            self.contract.suspend(
                state,
                now,
                out,
                SuspensionReason.NON_PAYMENT,
                after_due.clause if after_due else self.policy.billing.model_clause,
                key=f"blocked:{state.period_index + 1}",
            )
            return
        self.contract.start_next_period(state, out)
        state.paid_until = state.period_end
        self._debit(state, price, now, out)

    def after_payment(self, state: ServiceState, now: datetime, out: Transition) -> None:
        if state.billing_anchor is not None and not self._blocked(state):
            return
        price = self._covers(state, now)
        if price is None:
            return
        if state.billing_anchor is None:
            self.contract.activate(state, now, out, self.policy.billing.model_clause)
        else:
            self.contract.anchor_periods(state, now)
            state.balance_short_since = None
            self.contract.lift(
                state,
                SuspensionReason.NON_PAYMENT,
                now,
                out,
                self.restore_clause(),
                f"topup:{now.isoformat()}",
            )
        self._debit(state, price, now, out)

    def suspension_detail(self, state: ServiceState, now: datetime) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "balance": str(state.balance.amount),
            "needed": str(self.contract.price_for(state, now).amount),
        }
        deletion = self._deletion_at(state)
        if deletion:
            detail["deletion_at"] = deletion.isoformat()
        return detail

    def write_off_on_deletion(self, state: ServiceState) -> Money | None:
        written_off, state.balance = state.balance, Money.zero(state.balance.currency)
        return written_off

    def paid_spans(self, state: ServiceState) -> list[tuple[datetime, datetime, Money]]:
        if state.billing_anchor is None or self._blocked(state):
            return []
        assert state.period_start is not None and state.period_end is not None
        return [(state.period_start, state.period_end, self.contract.price_for(state, state.period_start))]
