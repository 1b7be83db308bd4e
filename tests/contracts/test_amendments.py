"""Amendments of the offer, each contract by its own words (engine/amendments.py, the pure engine).

A provider publishes a new version of its policy (``oferta policies publish``); every running
service is told with the contract's own notice and moves at the effective date, or keeps its
terms where the contract says so, or goes down the contract's exit when the customer objects.
Dates are the provider's local time; terms in days run from the day after the announcement and
end at 24:00 of their last day, a last day off moved to the next working day (KZ Civil Code arts.
173, 175, 176). KZ days off used: Sun 11 Apr 2027; Sat 6, Sun 7, Mon 8 Mar 2027 (Women's Day).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from oferta.policy import load_policy
from oferta.policy.schema import Policy
from oferta.timeline.engine.amendments import publish_refusal
from oferta.timeline.state import AmendmentTerms, BillingEvent
from tests.contracts.harness import Run, event, local, run, seed_text, service


def amended(policy_id: str, **changes: object) -> Policy:
    """The next version of a policy, with ``changes`` ("suspension.data_deletion_after.amount": 14)."""
    policy = load_policy(policy_id)
    data = policy.model_dump(mode="json")
    data["version"] = policy.version + 1
    for path, value in changes.items():
        node = data
        *parents, leaf = path.split("__")
        for name in parents:
            node = node[name]
        node[leaf] = value
    return Policy.model_validate(data)


def announce(policy_id: str, new: Policy, published: str, effective: str) -> tuple[str, BillingEvent]:
    terms = AmendmentTerms(
        version=new.version,
        published_at=local(policy_id, published),
        effective_at=local(policy_id, effective),
        changed_clauses=["3.16"],
    )
    return (published, event("amendment", amendment=terms))


def amended_life(
    policy_id: str,
    price: str,
    paid: str,
    published: str,
    effective: str,
    *extra: tuple[str, BillingEvent],
    until: str,
    kind: str = "hosting",
    start: str = "2027-02-01 10:00",
    new: Policy | None = None,
) -> Run:
    """Started at ``start`` (Mon 1 Feb 2027 10:00) and paid ``paid`` five minutes later; the next
    version (``new``, or the policy as it is) published at ``published`` for ``effective``; then
    ``extra`` inputs."""
    new = new or amended(policy_id)
    currency = load_policy(policy_id).provider.currency
    return run(
        policy_id,
        service(policy_id, price, kind=kind),
        start,
        [
            (start[:-2] + "05", event("payment", amount=(paid, currency))),
            announce(policy_id, new, published, effective),
            *extra,
        ],
        until,
        versions=[new],
    )


def assert_earliest(policy_id: str, published: str, earliest: str, clause: str) -> None:
    """Published at ``published``, the next version may take effect at ``earliest`` (local time), and
    a day before is refused citing ``clause`` and naming that earliest moment."""
    old, new = load_policy(policy_id), amended(policy_id)
    at, first = local(policy_id, published), local(policy_id, earliest)
    refusal = publish_refusal(old, new, at, first - timedelta(days=1))
    assert refusal is not None and clause in refusal and first.isoformat() in refusal
    assert publish_refusal(old, new, at, first) is None


def versions_of(r: Run) -> list[tuple[str, str, int | None]]:
    return [(r.at_local(e), e.type.value, e.policy_version) for e in r.result.entries]


def quoted(policy_id: str, words: str) -> bool:
    return " ".join(words.split()) in " ".join(seed_text(policy_id).split())


# -- PS.kz: 30 calendar days ahead (4.2.7); fully paid services keep their terms (5.14) ----------------


def test_ps_kz_a_change_needs_30_calendar_days_notice() -> None:
    """4.2.7: "by publishing notifications of such changes ... at least 30 (thirty) calendar days before
    the changes take effect". Published Mon 1 Feb 2027 10:00: the 30 days are 2 Feb - 3 Mar (Wed, a
    working day), so the change may take effect from 00:00 on 4 Mar, not on 3 Mar."""
    assert quoted("ps-kz", "at least 30 (thirty) calendar days before the changes take effect")
    assert_earliest("ps-kz", "2027-02-01 10:00", "2027-03-04 00:00", "4.2.7")


def test_ps_kz_a_fully_paid_period_keeps_its_terms_and_the_next_runs_under_the_new_version() -> None:
    """5.14: "The Contractor has no right to unilaterally review Tariffs and payment terms for fully paid
    Services". Paid 10 Jan - 10 Feb, then 10 Feb - 10 Mar (invoice of 3 Feb paid 4 Feb), then 10 Mar -
    10 Apr (invoice of 3 Mar paid 4 Mar). Version 3 (data kept 14 days after suspension instead of 7)
    takes effect 4 Mar, inside the paid 10 Feb - 10 Mar period: that period keeps version 2 and the
    switch is at its end, 10 Mar 12:05. The April invoice goes unpaid: suspended 8 Apr 00:00 (5.8: 3
    working days from Sat 3 Apr are 5, 6, 7 Apr), deleted under version 3 at 24:00 on the 14th day
    after, 22 Apr (a Thursday)."""
    assert quoted(
        "ps-kz", "has no right to unilaterally review Tariffs and payment terms for fully paid Services"
    )
    r = amended_life(
        "ps-kz",
        "5000",
        "5000",
        "2027-02-01 10:00",
        "2027-03-04 00:00",
        ("2027-02-04 09:00", event("payment", amount=("5000", "KZT"))),
        ("2027-03-04 09:00", event("payment", amount=("5000", "KZT"))),
        until="2027-05-30 00:00",
        start="2027-01-10 12:00",
        new=amended("ps-kz", suspension__data_deletion_after__amount=14),
    )
    announced = r.first("amendment_announced")
    assert (r.at_local(announced), announced.clause, announced.policy_version) == (
        "2027-02-01 10:00",
        "4.2.7",
        2,
    )
    deferred = r.first("amendment_deferred")
    assert (r.at_local(deferred), deferred.clause, deferred.detail["until"]) == (
        "2027-03-04 00:00",
        "5.14",
        "2027-03-10T12:05:00+05:00",
    )
    applied = r.first("amendment_applied")
    assert (r.at_local(applied), applied.clause, applied.policy_version) == ("2027-03-10 12:05", "4.2.7", 3)
    assert r.at_local(r.first("suspended")) == "2027-04-08 00:00"
    deleted = r.first("deleted")
    assert (r.at_local(deleted), deleted.clause, deleted.policy_version) == ("2027-04-23 00:00", "3.17", 3)
    # Every step says which version governed it: 2 until the switch, 3 after.
    assert {v for at, _, v in versions_of(r) if at < "2027-03-10 12:05"} == {2}
    assert {v for at, _, v in versions_of(r) if at >= "2027-03-10 12:05"} == {3}


def test_ps_kz_gives_no_objection_the_customer_terminates_under_7_2() -> None:
    new = amended("ps-kz")
    r = run(
        "ps-kz",
        service("ps-kz", "5000"),
        "2027-01-10 12:00",
        [
            ("2027-01-10 12:05", event("payment", amount=("5000", "KZT"))),
            announce("ps-kz", new, "2027-02-01 10:00", "2027-03-04 00:00"),
            ("2027-02-02 10:00", event("amendment_objection")),
        ],
        "2027-02-05 00:00",
        versions=[new],
    )
    [reason] = r.rejected()
    assert "no objection" in reason and "4.2.7" in reason and "(7.2)" in reason


# -- ONELAB: no lead (4.5); terminate at once within 10 calendar days of effect, or accepted (11.6) -----


ONELAB_PAID = ("2027-02-01 10:05", event("payment", amount=("30000.00", "KZT")))


def _onelab(*extra: tuple[str, BillingEvent]) -> Run:
    return amended_life(
        "onelab",
        "10000.00",
        "30000.00",
        "2027-03-25 10:00",
        "2027-04-01 00:00",
        *extra,
        until="2027-05-01 00:00",
    )


def test_onelab_objecting_within_10_days_of_effect_terminates_at_once_with_a_refund() -> None:
    """11.6: "If the subscriber disagrees with the changes being made, they have the right to immediately
    terminate this Agreement by providing written notice to the Operator. If the Operator does not
    receive written notice of termination ... within 10 (ten) calendar days from the time the changes
    take effect, the changes are considered accepted". In effect Thu 1 Apr 00:00: the 10 days are 2 - 11
    Apr; 11 Apr is a Sunday, so the last day is Mon 12 Apr (art. 175). A notice at 15:00 that day ends
    the contract at that moment, under 11.6, with the unused funds returned (11.8)."""
    assert quoted(
        "onelab", "they have the right to immediately terminate this Agreement by providing written notice"
    )
    assert quoted("onelab", "within 10 (ten) calendar days from the time the changes take effect")
    r = _onelab(("2027-04-12 15:00", event("amendment_objection", reason="disagree")))
    announced = r.first("amendment_announced")
    assert announced.detail["objection_until"] == "2027-04-13T00:00:00+05:00"
    assert r.at_local(r.first("amendment_applied")) == "2027-04-01 00:00"
    terminated = r.first("terminated")
    assert (r.at_local(terminated), terminated.clause, terminated.detail["reason"]) == (
        "2027-04-12 15:00",
        "11.6",
        "amendment_objection",
    )
    assert r.first("refund_due").clause == "11.8"


def test_onelab_silence_past_the_10_days_is_acceptance() -> None:
    r = _onelab(("2027-04-13 09:00", event("amendment_objection")))
    [reason] = r.rejected()
    assert "11.6" in reason and "2027-04-13T00:00:00+05:00" in reason
    assert not r.entries("terminated")
    applied = r.first("amendment_applied")
    assert (r.at_local(applied), applied.clause, applied.policy_version) == ("2027-04-01 00:00", "11.6", 3)


def test_onelab_a_change_may_take_effect_when_published() -> None:
    """4.5 changes prices by "sending a notice to the Subscriber's email address", with no lead time."""
    old, new = load_policy("onelab"), amended("onelab")
    now = local("onelab", "2027-03-25 10:00")
    assert publish_refusal(old, new, now, now) is None
    assert "has passed" in (publish_refusal(old, new, now, local("onelab", "2027-03-25 00:00")) or "")


# -- registry.kz: 5 calendar days (5.1.3); objection before effect (4.1.4); silence accepts (6.5) -------


def _registry(*extra: tuple[str, BillingEvent]) -> Run:
    return amended_life(
        "registry-kz",
        "2500.00",
        "10000.00",
        "2027-03-01 10:00",
        "2027-03-10 00:00",
        *extra,
        until="2027-04-01 00:00",
    )


def test_registry_five_calendar_days_end_after_the_womens_day_weekend() -> None:
    """5.1.3: "в срок не позднее 5 календарных дней до даты введения их в действие". Published Mon 1 Mar
    2027: the 5 days are 2 - 6 Mar; Sat 6, Sun 7 and Mon 8 Mar (Women's Day) are days off, so the last
    day is Tue 9 Mar and the change may take effect from 00:00 on 10 Mar."""
    assert quoted("registry-kz", "в срок не позднее 5 календарных дней до даты введения их в действие")
    assert_earliest("registry-kz", "2027-03-01 10:00", "2027-03-10 00:00", "5.1.3")


def test_registry_silence_is_acceptance_from_the_effective_date() -> None:
    """6.5: "Клиент считается согласившимся с изменением Тарифов"."""
    assert quoted("registry-kz", "Клиент считается согласившимся с изменением")
    r = _registry()
    applied = r.first("amendment_applied")
    assert (r.at_local(applied), applied.clause, applied.policy_version) == ("2027-03-10 00:00", "6.5", 3)


def test_registry_an_objection_before_effect_keeps_the_version_and_leaves_it_to_operations() -> None:
    """4.1.4: "в срок до введения их в действие сообщить в письменном виде Исполнителю о своем несогласии
    с новыми Тарифами" - with no consequence stated. The objection is recorded (and acknowledged); at the
    effective date the service keeps version 2 and nothing ends by itself."""
    assert quoted("registry-kz", "в срок до введения их в действие сообщить в письменном виде")
    r = _registry(("2027-03-05 11:00", event("amendment_objection", reason="письмо")))
    objected = r.first("amendment_objected")
    assert (r.at_local(objected), objected.clause) == ("2027-03-05 11:00", "4.1.4")
    assert any(d.template.value == "amendment_objection_recorded" for d in r.result.deliveries)
    declined = r.first("amendment_declined")
    assert (r.at_local(declined), declined.detail["keeps_version"]) == ("2027-03-10 00:00", 2)
    assert not r.entries("amendment_applied") and not r.entries("deleted")
    assert {e.policy_version for e in r.result.entries} == {2}


def test_registry_an_objection_after_effect_is_too_late() -> None:
    r = _registry(("2027-03-10 09:00", event("amendment_objection")))
    [reason] = r.rejected()
    assert "before the change took effect" in reason and "4.1.4" in reason


# -- Center Pro: a paid Tariff keeps its terms until it expires (6.10) -----------------------------------


def test_centerpro_paid_tariffs_keep_their_terms_until_they_expire() -> None:
    """6.10: "кроме тех тарифов/пакетов, за которые Клиент оплатил, до полного их истечения срока". Two
    monthly Tariffs bought Mon 1 Feb 10:10 (the second queued): paid through 1 Apr 10:10. A change in
    effect 15 Feb moves the service when they have run out, 1 Apr 10:10."""
    assert quoted(
        "centerpro", "кроме тех тарифов/пакетов, за которые Клиент оплатил, до полного их истечения срока"
    )
    r = amended_life(
        "centerpro",
        "5000.00",
        "10000.00",
        "2027-02-10 09:00",
        "2027-02-15 00:00",
        ("2027-02-01 10:10", event("tariff_purchase")),
        ("2027-02-01 10:11", event("tariff_purchase")),
        until="2027-05-01 00:00",
        kind="saas",
    )
    assert r.first("amendment_announced").clause == "6.10"
    deferred = r.first("amendment_deferred")
    assert (r.at_local(deferred), deferred.detail["until"]) == (
        "2027-02-15 00:00",
        "2027-04-01T10:10:00+05:00",
    )
    applied = r.first("amendment_applied")
    assert (r.at_local(applied), applied.policy_version) == ("2027-04-01 10:10", 3)


# -- SmartApe: no lead; a client who terminated before the introduction has not accepted (2.2.6) ------


def _smartape(*extra: tuple[str, BillingEvent]) -> Run:
    return amended_life(
        "smartape", "12.00", "12.00", "2027-02-10 09:00", "2027-02-15 00:00", *extra, until="2027-04-01 00:00"
    )


def test_smartape_a_notice_before_the_introduction_keeps_the_old_terms_until_the_contract_ends() -> None:
    """2.2.6: "If the Client has not terminated the Contract before the introduction of new tariffs and/or
    terms of service, the changes ... shall be deemed accepted by the Client". The objection is the
    Client's notice (11.3: "notifying the other Party one (1) month in advance"), given Thu 11 Feb: the
    contract ends 11 Mar at 24:00, and version 2 governs until then."""
    assert quoted(
        "smartape", "If the Client has not terminated the Contract before the introduction of new tariffs"
    )
    r = _smartape(("2027-02-11 12:00", event("amendment_objection")))
    requested = r.first("termination_requested")
    assert (r.at_local(requested), requested.clause) == ("2027-02-11 12:00", "11.3")
    declined = r.first("amendment_declined")
    assert (r.at_local(declined), declined.clause, declined.detail["keeps_version"]) == (
        "2027-02-15 00:00",
        "2.2.6",
        2,
    )
    assert r.at_local(r.first("terminated")) == "2027-03-12 00:00"
    assert not r.entries("amendment_applied")
    assert {e.policy_version for e in r.result.entries} == {2}


def test_smartape_a_notice_withdrawn_accepts_the_change_at_once() -> None:
    r = _smartape(
        ("2027-02-11 12:00", event("amendment_objection")),
        ("2027-02-20 12:00", event("cancel_withdrawn")),
    )
    applied = r.first("amendment_applied")
    assert (r.at_local(applied), applied.policy_version) == ("2027-02-20 12:00", 3)


def test_smartape_silence_until_the_introduction_is_acceptance() -> None:
    r = _smartape(("2027-02-16 12:00", event("amendment_objection")))
    [reason] = r.rejected()
    assert "2.2.6" in reason
    assert r.at_local(r.first("amendment_applied")) == "2027-02-15 00:00"


# -- what no contract lets a new version do ------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"provider__currency": "USD"}, "provider.currency"),
        ({"provider__timezone": "Europe/Tallinn"}, "provider.timezone"),
        ({"version": 1}, "version"),
    ],
)
def test_a_new_version_may_not_change_what_running_services_are_kept_in(change: dict, field: str) -> None:
    old = load_policy("ps-kz")
    new = amended("ps-kz", **change)
    at = local("ps-kz", "2027-02-01 10:00")
    refusal = publish_refusal(old, new, at, datetime(2028, 1, 1, tzinfo=at.tzinfo))
    assert refusal is not None and refusal.startswith(field)


def test_a_second_version_waits_for_the_first_to_take_effect() -> None:
    first, second = amended("onelab"), amended("onelab", version=4)
    r = run(
        "onelab",
        service("onelab", "10000.00"),
        "2027-02-01 10:00",
        [
            ONELAB_PAID,
            announce("onelab", first, "2027-03-25 10:00", "2027-04-01 00:00"),
            announce("onelab", second, "2027-03-26 10:00", "2027-04-02 00:00"),
        ],
        "2027-03-30 00:00",
        versions=[first, second],
    )
    [reason] = r.rejected()
    assert "version 3 is announced" in reason


def test_a_shorter_term_in_the_new_version_does_not_shorten_a_suspension_already_running() -> None:
    """PS.kz 3.16-3.17: suspended Tue 9 Feb 00:00 (the 3 Feb invoice's 5.8 term ended with 8 Feb),
    "Upon the expiration of the specified seven-day period, the Contractor deletes": 24:00 on 16 Feb, as
    the suspension notice said. Version 3 (published Mon 11 Jan, in effect Thu 11 Feb, after 4.2.7's
    30 days: 12 Jan - 10 Feb) deletes 3 days after a suspension, which would be 24:00 on 12 Feb. It
    governs from 11 Feb, but not this suspension's deletion, which stays at 17 Feb 00:00."""
    assert quoted("ps-kz", "Upon the expiration of the specified seven-day period, the Contractor deletes")
    r = amended_life(
        "ps-kz",
        "5000",
        "5000",
        "2027-01-11 10:00",
        "2027-02-11 00:00",
        until="2027-03-01 00:00",
        start="2027-01-10 12:00",
        new=amended("ps-kz", suspension__data_deletion_after__amount=3),
    )
    assert r.at_local(r.first("suspended")) == "2027-02-09 00:00"
    applied = r.first("amendment_applied")
    assert (r.at_local(applied), applied.policy_version) == ("2027-02-11 00:00", 3)
    deleted = r.first("deleted")
    assert (r.at_local(deleted), deleted.clause, deleted.policy_version) == ("2027-02-17 00:00", "3.17", 3)
