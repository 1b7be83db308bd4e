"""Operations' overrides without Temporal: only ever in the customer's favour, each with who and why."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from oferta.policy import load_policy
from oferta.timeline.engine import Contract
from oferta.timeline.money import Money
from oferta.timeline.state import (
    BillingEvent,
    DeadlineAction,
    EventType,
    OverrideKind,
    OverrideTerms,
    ServiceSpec,
    ServiceState,
)
from oferta.timeline.takeover import Takeover, take_over

ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2027, 5, 12, 12, 0, tzinfo=ALMATY)
PS_KZ = Contract(load_policy("ps-kz"))


def _spec() -> ServiceSpec:
    return ServiceSpec(
        service_id="o-1", customer_id="c-1", policy_id="ps-kz", tariff="Basic", price=Money.of("2500", "KZT")
    )


def _suspended() -> ServiceState:
    """Suspended on 7 May: PS.kz deletes the data at 24:00 on 14 May (3.16, 3.17)."""
    row = Takeover(
        status="suspended",
        paid_until=datetime(2027, 4, 30, 12, 0, tzinfo=ALMATY),
        suspended_at=datetime(2027, 5, 7, 12, 0, tzinfo=ALMATY),
    )
    return take_over(PS_KZ, _spec(), row, NOW)


def _overdue() -> ServiceState:
    return take_over(PS_KZ, _spec(), Takeover(paid_until=NOW - timedelta(days=3)), NOW)


def _grant(
    state: ServiceState, terms: OverrideTerms, reason: str = "long-standing customer", actor="api:ops"
):
    event = BillingEvent(event_id=f"ov-{len(state.overrides)}", type=EventType.OVERRIDE, override=terms)
    event = event.model_copy(update={"actor": actor, "reason": reason})
    return PS_KZ.on_event(state, event, NOW)


def _step(state: ServiceState, action: DeadlineAction):
    """The next ``action``, taking the steps before it (the final warning) on ``state``."""
    deadline = PS_KZ.next_deadline(state)
    while deadline is not None and deadline.action is not action:
        PS_KZ.on_deadline(state, deadline, deadline.at)
        deadline = PS_KZ.next_deadline(state)
    return deadline


def test_a_longer_grace_moves_the_deletion_by_exactly_that_many_days_and_says_who_and_why() -> None:
    """PS.kz 3.16: the customer may pay "no later than 7 (seven) calendar days from the moment of
    Service suspension"; 3.17: "Upon the expiration of the specified seven-day period, the
    Contractor deletes the Customer's data". Suspended on 7 May, the data goes at 24:00 on 14 May;
    five more days granted by operations move it to 24:00 on 19 May, citing 3.17 as the term moved.
    """
    state = _suspended()
    before = _step(state.model_copy(deep=True), DeadlineAction.DELETE_DATA)
    assert before is not None and before.at == datetime(2027, 5, 15, 0, 0, tzinfo=ALMATY)
    out = _grant(state, OverrideTerms(kind=OverrideKind.EXTEND_GRACE, days=5))
    assert out.rejected is None
    after = _step(state.model_copy(deep=True), DeadlineAction.DELETE_DATA)
    assert after is not None and after.at == datetime(2027, 5, 20, 0, 0, tzinfo=ALMATY)
    (entry,) = out.entries
    assert entry.type.value == "override_granted" and entry.clause is None  # the provider's grant
    assert {k: entry.detail[k] for k in ("granted_by", "reason", "days")} == {
        "granted_by": "api:ops",
        "reason": "long-standing customer",
        "days": 5,
    }
    assert entry.detail["moves_clause"] == "3.17"
    assert PS_KZ.view(state, NOW).overrides[0].actor == "api:ops"


def test_a_shorter_grace_is_refused_with_the_clause_it_would_shorten() -> None:
    state = _suspended()
    out = _grant(state, OverrideTerms(kind=OverrideKind.EXTEND_GRACE, days=-3))
    assert out.rejected is not None and "never shortened" in out.rejected and "3.16" in out.rejected
    assert state.overrides == []


def test_an_override_needs_a_reason() -> None:
    out = _grant(_suspended(), OverrideTerms(kind=OverrideKind.EXTEND_GRACE, days=2), reason=" ")
    assert out.rejected is not None and out.rejected.startswith("reason")


def test_no_suspension_before_a_date_moves_the_suspension_to_the_start_of_that_day() -> None:
    state = _overdue()
    due = PS_KZ.next_deadline(state)
    assert due is not None and due.action is DeadlineAction.SUSPEND and due.at <= NOW
    assert (
        _grant(state, OverrideTerms(kind=OverrideKind.NO_SUSPENSION_BEFORE, until=date(2027, 5, 20))).rejected
        is None
    )
    moved = PS_KZ.next_deadline(state)
    assert moved is not None and moved.action is DeadlineAction.SUSPEND
    assert moved.at == datetime(2027, 5, 20, 0, 0, tzinfo=ALMATY)
    assert moved.detail["moved_by_override"] is True


def test_a_promise_to_pay_keeps_suspension_and_deletion_until_the_day_has_passed() -> None:
    state = _suspended()
    assert (
        _grant(state, OverrideTerms(kind=OverrideKind.PROMISE_TO_PAY, until=date(2027, 5, 25))).rejected
        is None
    )
    deletion = _step(state.model_copy(deep=True), DeadlineAction.DELETE_DATA)
    assert deletion is not None and deletion.at >= datetime(2027, 5, 26, 0, 0, tzinfo=ALMATY)


@pytest.mark.parametrize(
    "terms, field",
    [
        (OverrideTerms(kind=OverrideKind.NO_SUSPENSION_BEFORE), "until"),
        (OverrideTerms(kind=OverrideKind.PROMISE_TO_PAY, until=date(2027, 5, 1)), "until"),
        (OverrideTerms(kind=OverrideKind.WAIVE_LATE_FEE, invoice_id="nope"), "invoice_id"),
    ],
)
def test_malformed_overrides_are_refused_naming_the_field(terms, field) -> None:
    out = _grant(_suspended(), terms)
    assert out.rejected is not None and out.rejected.startswith(field)
