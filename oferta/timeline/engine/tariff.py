"""The tariff-purchase model (Center Pro): the client buys each Tariff; nothing renews by itself.

Payments top up the Balance. The client pays for a Tariff from the Balance and
the Tariff starts then (6.6); one bought while another runs starts when that one
ends. When a paid Tariff ends and no other is bought, access is limited until the
client buys a new one (5.3.10). Nothing is ever owed, and a paid Tariff is not
refunded (6.8).
"""

from __future__ import annotations

from datetime import datetime

from oferta.policy.schema import NoticeTemplate
from oferta.timeline.engine.billing import BillingModel, DeadlineHandler, EventHandler
from oferta.timeline.engine.effects import Transition
from oferta.timeline.state import (
    BillingEvent,
    Deadline,
    DeadlineAction,
    EntryType,
    EventType,
    ServiceState,
    SuspensionReason,
)


class TariffPurchaseBilling(BillingModel):
    def start(self, state: ServiceState, now: datetime, out: Transition) -> None:
        """The service waits for the client's first purchase (6.6)."""

    def _running(self, state: ServiceState) -> bool:
        return (
            state.billing_anchor is not None and SuspensionReason.TARIFF_ENDED not in state.suspension_reasons
        )

    def deadlines(self, state: ServiceState) -> list[Deadline]:
        if not self._running(state) or state.period_end is None:
            return []
        if state.cancellation_effective_at and state.cancellation_effective_at <= state.period_end:
            return []
        limit = self.policy.suspension.after_due
        return [
            Deadline(
                at=state.period_end,
                action=DeadlineAction.END_TARIFF,
                clause=limit.clause if limit else self.policy.billing.model_clause,
                detail={"queued": state.tariffs_queued},
            )
        ]

    def deadline_handlers(self) -> dict[DeadlineAction, DeadlineHandler]:
        return {DeadlineAction.END_TARIFF: self._do_end_tariff}

    def _do_end_tariff(self, state: ServiceState, deadline: Deadline, now: datetime, out: Transition) -> None:
        if state.tariffs_queued:
            state.tariffs_queued -= 1
            self.contract.start_next_period(state, out)
            state.paid_until = state.period_end
            return
        self.contract.suspend(
            state,
            now,
            out,
            SuspensionReason.TARIFF_ENDED,
            deadline.clause,
            key=f"tariff_ended:{state.period_index}",
            template=NoticeTemplate.TARIFF_ENDED,
        )

    def event_handlers(self) -> dict[EventType, EventHandler]:
        return super().event_handlers() | {EventType.TARIFF_PURCHASE: self._on_tariff_purchase}

    def refusal(self, state: ServiceState, event: BillingEvent, now: datetime) -> str | None:
        if event.type is EventType.TARIFF_PURCHASE:
            price = self.contract.price_for(state, now)
            if state.balance.amount < price.amount:
                return (
                    f"the balance ({state.balance}) does not cover the Tariff ({price}): "
                    f"the client pays for a Tariff from its balance "
                    f"({self.policy.billing.model_clause})"
                )
            return None
        return super().refusal(state, event, now)

    def after_payment(self, state: ServiceState, now: datetime, out: Transition) -> None:
        """A top-up only credits the balance: buying a Tariff is the client's own act (6.6)."""

    def _on_tariff_purchase(
        self, state: ServiceState, event: BillingEvent, now: datetime, out: Transition
    ) -> None:
        price = self.contract.price_for(state, now)
        state.balance = state.balance - price
        clause = self.policy.billing.model_clause
        lapsed = not self._running(state) or (state.period_end is not None and state.period_end <= now)
        if state.billing_anchor is None:
            starts_at = now
        elif lapsed:
            # After a lapse (or a Tariff whose end a force majeure held back) it starts now (6.6).
            starts_at = now
            state.tariffs_queued = 0
            self.contract.anchor_periods(state, now)
        else:
            state.tariffs_queued += 1
            starts_at = self.contract.boundary(state, state.period_index + state.tariffs_queued)
        detail = {
            "amount": str(price.amount),
            "currency": price.currency,
            "starts_at": starts_at.isoformat(),
            "balance": str(state.balance.amount),
        }
        self.contract.emit(
            state,
            out,
            now,
            EntryType.TARIFF_PURCHASED,
            clause,
            detail,
            NoticeTemplate.TARIFF_PURCHASED,
            f"tariff_purchase:{event.event_id}",
        )
        if state.billing_anchor is None:
            self.contract.activate(state, now, out, clause)
        elif SuspensionReason.TARIFF_ENDED in state.suspension_reasons:
            self.contract.lift(
                state, SuspensionReason.TARIFF_ENDED, now, out, clause, f"tariff:{event.event_id}"
            )
        if state.cancellation_effective_at and state.cancellation_reason == "customer_notice":
            # Leaving means not buying again (13.7): a Tariff bought meanwhile still runs out.
            state.cancellation_effective_at = self.cancellation_end(state, now)

    def cancellation_end(self, state: ServiceState, now: datetime) -> datetime | None:
        """The client leaves by not buying again: it ends when the paid Tariffs end."""
        if not self._running(state) or state.period_end is None:
            return now
        return self.contract.boundary(state, state.period_index + 1 + state.tariffs_queued)
