"""Offer amendments before they are published: what changed, and whom it would touch (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from oferta.policy import load_policy
from oferta.policy.diff import describe_value, diff_policies
from oferta.policy.schema import Policy
from oferta.timeline.engine import Contract
from oferta.timeline.impact import compare
from oferta.timeline.money import Money
from oferta.timeline.state import ServiceSpec
from oferta.timeline.takeover import Takeover, take_over

ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2027, 5, 12, 12, 0, tzinfo=ALMATY)
PS_KZ = load_policy("ps-kz")


def _amended(**suspension) -> Policy:
    """PS.kz with its suspension terms changed, as a provider's new version would have them."""
    rules = PS_KZ.suspension.model_copy(
        update={k: getattr(PS_KZ.suspension, k).model_copy(update=v) for k, v in suspension.items()}
    )
    return PS_KZ.model_copy(update={"suspension": rules})


def test_the_diff_names_each_changed_rule_with_its_clause_and_ignores_prose() -> None:
    longer = _amended(data_deletion_after={"amount": 10, "reading": "another explanation"})
    (change,) = diff_policies(PS_KZ, longer)
    assert change.path == "suspension.data_deletion_after" and change.clause == "3.17"
    assert (describe_value(change.old), describe_value(change.new)) == (
        "7 calendar days (3.17)",
        "10 calendar days (3.17)",
    )
    assert diff_policies(PS_KZ, _amended(data_deletion_after={"reading": "only prose"})) == []


def test_the_impact_shows_whose_deletion_moves_and_to_when() -> None:
    spec = ServiceSpec(
        service_id="s-1", customer_id="c-1", policy_id="ps-kz", tariff="Basic", price=Money.of("2500", "KZT")
    )
    suspended = take_over(
        Contract(PS_KZ),
        spec,
        Takeover(
            status="suspended",
            paid_until=datetime(2027, 4, 30, 12, 0, tzinfo=ALMATY),
            suspended_at=datetime(2027, 5, 7, 12, 0, tzinfo=ALMATY),
        ),
        NOW,
    )
    longer = Contract(_amended(data_deletion_after={"amount": 10}))
    differences = compare(Contract(PS_KZ), longer, suspended, NOW, NOW + timedelta(days=90))
    deleted = next(d for d in differences if d.step == "deleted")
    # Seven days from 7 May end at 24:00 on 14 May; ten days at 24:00 on 17 May.
    assert (deleted.old, deleted.new) == (["2027-05-15"], ["2027-05-18"])
    paid = take_over(Contract(PS_KZ), spec, Takeover(paid_until=NOW + timedelta(days=20)), NOW)
    # A service that pays never reaches the deletion term: nothing of it changes in 10 days.
    assert compare(Contract(PS_KZ), longer, paid, NOW, NOW + timedelta(days=10)) == []
