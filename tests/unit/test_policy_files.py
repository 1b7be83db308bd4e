"""The policy files hold the numbers the contracts state, each with its clause.

Every number asserted here was checked against the seed the policy was read from; a change to a
policy file that moves one of them must be a deliberate re-reading of the contract.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from oferta.policy.loader import PolicyError, load_policy_file, parse_policy
from oferta.policy.schema import Channel, PaymentModel, Policy, RefundDestination, Term

POLICY_DIR = Path(__file__).resolve().parents[2] / "policies"
IDS = ["ps-kz", "onelab", "registry-kz", "centerpro", "smartape"]


def policy(policy_id: str) -> Policy:
    return load_policy_file(POLICY_DIR / f"{policy_id}.yaml")


def term(t: Term | None) -> tuple[int, str, str] | None:
    return None if t is None else (t.amount, t.unit.value, t.clause)


def terms(node: Any, path: str = "") -> Iterator[tuple[str, Term]]:
    """Every Term anywhere in a policy, with its dotted path."""
    if isinstance(node, Term):
        yield path, node
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from terms(getattr(node, name), f"{path}.{name}" if path else name)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from terms(value, f"{path}.{key}")
    elif isinstance(node, list):
        for n, value in enumerate(node):
            yield from terms(value, f"{path}[{n}]")


# -- every policy ------------------------------------------------------------


def test_the_five_policies_are_there() -> None:
    assert set(IDS) <= {p.stem for p in POLICY_DIR.glob("*.yaml")}


@pytest.mark.parametrize("policy_id", IDS)
def test_every_term_names_its_clause_or_says_it_is_operational(policy_id: str) -> None:
    found = list(terms(policy(policy_id)))
    assert found, "a policy without a single term"
    for path, t in found:
        if t.operational:
            # A step the contract does not require cites nothing, and says why it exists.
            assert t.clause is None and t.reading, f"{policy_id}: {path} is operational without a reading"
        else:
            assert t.clause and t.clause.strip(), f"{policy_id}: {path} has no clause"


@pytest.mark.parametrize("policy_id", IDS)
def test_every_rule_and_notice_is_complete(policy_id: str) -> None:
    p = policy(policy_id)
    assert p.id == policy_id
    assert p.locales and set(p.locales) <= {"ru", "kk", "en"}
    assert p.billing.model_clause.strip()
    assert p.definitions.last_day_off_basis.strip()
    assert p.force_majeure.clause.strip() and p.tariff_change.clause.strip()
    assert p.termination.customer_right.clause and p.termination.customer_right.text.strip()
    for template, channels in p.notices.items():
        assert channels and set(channels) <= set(Channel), f"{policy_id}: {template} has no channel"
    assert p.quiet_hours.reading, "the contracts are silent on notice hours: the reading must say so"
    for name, rule in p.other_rules.items():
        assert rule.text.strip(), f"{policy_id}: other_rules.{name} says nothing"
    assert p.provider.seed.startswith(f"{IDS.index(policy_id):03d}_")


@pytest.mark.parametrize("policy_id", IDS)
def test_a_prepaid_policy_or_an_invoice_policy_is_consistent(policy_id: str) -> None:
    p = policy(policy_id)
    if p.billing.model is PaymentModel.INVOICE:
        assert p.billing.invoice_due is not None and p.billing.renewal_invoice_lead is not None
    else:  # a balance or a bought Tariff: no invoices, so nothing falls due and nothing is late
        assert p.billing.invoice_due is None and p.billing.renewal_invoice_lead is None
        assert p.late_fee is None
    if p.late_fee is not None:
        assert p.late_fee.clause.strip() and Decimal(0) < p.late_fee.rate_per_day < 1


# -- ps-kz (seed 000) ----------------------------------------------------------


def test_ps_kz_numbers() -> None:
    p = policy("ps-kz")
    assert (p.provider.country, p.provider.currency, p.provider.timezone) == ("KZ", "KZT", "Asia/Almaty")
    assert p.billing.model is PaymentModel.INVOICE
    assert (p.definitions.day.means, p.definitions.day.clause) == ("working_days", "1.12")
    assert term(p.billing.invoice_due) == (3, "days", "5.8")  # a bare "day": working (1.12)
    assert term(p.suspension.after_due) == (0, "calendar_days", "4.2.4")
    assert term(p.termination.consent_withdrawal_terminate_after) == (10, "days", "7.4")
    assert p.force_majeure.termination == "automatic"
    assert term(p.suspension.grace_to_restore) == (7, "calendar_days", "3.16")
    assert term(p.suspension.restore_within) == (1, "working_days", "3.16")
    assert term(p.suspension.data_deletion_after) == (7, "calendar_days", "3.17")
    assert p.late_fee is not None
    assert (p.late_fee.rate_per_day, p.late_fee.cap_ratio, p.late_fee.clause, p.late_fee.base) == (
        Decimal("0.001"),
        Decimal("0.10"),
        "6.4",
        "unpaid_remainder",
    )
    assert term(p.refunds.deadline) == (15, "working_days", "5.25")
    assert p.refunds.destination is RefundDestination.PERSONAL_ACCOUNT
    assert term(p.termination.customer_notice) == (30, "calendar_days", "4.3.16")
    assert term(p.force_majeure.terminate_after) == (1, "months", "6.17")


# -- onelab (seed 001) ---------------------------------------------------------


def test_onelab_numbers() -> None:
    p = policy("onelab")
    assert (p.provider.country, p.provider.currency, p.provider.timezone) == ("KZ", "KZT", "Asia/Almaty")
    assert p.billing.model is PaymentModel.INVOICE
    assert term(p.billing.invoice_due) == (3, "working_days", "5.3")  # "3 (three) business days"
    assert p.billing.restart_after_suspension is not None  # months "of use" (5.1)
    assert term(p.suspension.after_due) == (0, "calendar_days", "5.2")
    assert term(p.suspension.restore_within) == (24, "hours", "5.2")
    # Data removed when the delay exceeds 30 calendar days from the due date: from day 31.
    assert term(p.suspension.data_deletion_after) == (30, "calendar_days", "3.2.4")
    assert p.suspension.data_deletion_anchor == "due_date"
    assert p.suspension.kinds_without_data == ["domain", "colocation"]
    assert term(p.suspension.terminate_for_debt_after) == (6, "months", "3.2.5")
    assert p.late_fee is not None
    assert (
        p.late_fee.rate_per_day,
        p.late_fee.cap_ratio,
        p.late_fee.applies_to,
        p.late_fee.clause,
        p.late_fee.base,
    ) == (Decimal("0.001"), None, "credit_invoices", "5.3", "invoice_amount")
    assert term(p.termination.customer_notice) == (0, "calendar_days", "11.7")
    assert term(p.termination.provider_notice) == (30, "calendar_days", "11.4")
    assert p.termination.promise_to_pay is not None and p.termination.promise_to_pay.clause == "11.11.1"
    assert p.auto_renewal is not None and p.auto_renewal.period == "calendar_year"
    assert term(p.auto_renewal.opt_out_notice) == (30, "calendar_days", "11.2")
    assert term(p.force_majeure.notice_within) == (14, "calendar_days", "8.2")
    assert term(p.force_majeure.terminate_after) == (1, "months", "8.3")
    assert p.force_majeure.termination == "automatic"
    assert p.refunds.deadline is None and p.refunds.destination is RefundDestination.BANK_TRANSFER
    assert p.refunds.destination_clause == "11.8" and p.refunds.proration_clause is None
    assert p.trial is None


# -- registry-kz (seed 002) ----------------------------------------------------


def test_registry_kz_numbers() -> None:
    p = policy("registry-kz")
    assert (p.provider.country, p.provider.currency, p.provider.timezone) == ("KZ", "KZT", "Asia/Almaty")
    # A prepaid balance written off for the services (6.2-6.3): no invoices, no reminders, no fees.
    assert p.billing.model is PaymentModel.BALANCE and p.billing.invoice_due is None
    assert p.billing.renewal_invoice_lead is None and p.billing.reminders_before_due == []
    assert term(p.billing.balance_credit_delay) == (1, "working_days", "2.3")
    assert term(p.suspension.after_due) == (0, "calendar_days", "8.5.2")
    # The account is deleted 5 calendar days after the balance stopped covering the services.
    assert term(p.suspension.data_deletion_after) == (5, "calendar_days", "8.6.4")
    assert p.suspension.data_deletion_anchor == "balance_zero"
    assert p.suspension.deletion_warning_before is None  # 8.8: "без предварительного предупреждения"
    assert p.suspension.kinds_without_data == ["domain"]
    assert p.suspension.terminate_for_debt_after is None
    assert p.late_fee is None
    assert term(p.tariff_change.notice) == (5, "calendar_days", "5.1.3")
    assert p.refunds.destination is RefundDestination.NONE and p.refunds.destination_clause == "8.7"
    assert p.refunds.paid_tariff_refundable is False
    # The customer's only exit is the account's deletion (8.6.1); the provider has no notice.
    assert term(p.termination.customer_notice) == (0, "calendar_days", "8.6.1")
    assert p.termination.exit_is_deletion and p.termination.provider_notice is None
    assert p.force_majeure.terminate_after is None and p.force_majeure.clause == "7.13"
    assert p.force_majeure.termination == "none" and p.force_majeure.deadlines_extended is None
    # The contract's channel is e-mail (10.2): never an SMS.
    assert all(Channel.SMS not in channels for channels in p.notices.values())
    assert p.auto_renewal is None and p.trial is None


# -- centerpro (seed 003) ------------------------------------------------------


def test_centerpro_numbers() -> None:
    p = policy("centerpro")
    assert (p.provider.country, p.provider.currency, p.provider.timezone) == ("KZ", "KZT", "Asia/Almaty")
    # The client buys each Tariff from its balance (6.6); nothing renews by itself.
    assert p.billing.model is PaymentModel.TARIFF_PURCHASE and p.billing.invoice_due is None
    assert p.billing.renewal_invoice_lead is None and p.billing.reminders_before_due == []
    assert term(p.billing.balance_credit_delay) == (72, "hours", "6.4")
    # Access limited when the paid tariff ends, until a new one is bought; no grace, no deletion.
    assert term(p.suspension.after_due) == (0, "calendar_days", "5.3.10")
    assert p.suspension.grace_to_restore is None
    assert p.suspension.data_deletion_after is None
    assert p.suspension.terminate_for_debt_after is None
    assert p.late_fee is None
    # No termination right for the client: it stops buying (13.7); the Operator gives 10 days.
    assert p.termination.customer_notice is None
    assert p.termination.customer_right.clause == "13.7"
    assert p.termination.ends_with_paid_tariff is not None
    assert p.termination.ends_with_paid_tariff.clause == "13.7"
    assert term(p.termination.provider_notice) == (10, "calendar_days", "13.2")
    assert p.termination.serious_breach is not None and p.termination.serious_breach.clause == "5.3.8"
    assert p.termination.breach_forfeits_unused
    assert term(p.force_majeure.notice_within) == (5, "calendar_days", "11.2")
    assert p.force_majeure.terminate_after is None and p.force_majeure.termination == "none"
    assert p.refunds.paid_tariff_refundable is False and p.refunds.paid_tariff_clause == "6.8"
    assert p.refunds.destination is RefundDestination.NONE
    assert p.auto_renewal is None and p.trial is None


# -- smartape (seed 004) -------------------------------------------------------


def test_smartape_numbers() -> None:
    p = policy("smartape")
    assert (p.provider.country, p.provider.currency, p.provider.timezone) == ("EE", "EUR", "Europe/Tallinn")
    assert (p.definitions.day.means, p.definitions.day.clause) == ("calendar_days", None)
    assert p.billing.model is PaymentModel.INVOICE
    assert term(p.billing.invoice_due) == (5, "working_days", "5.1")
    assert p.billing.renewal_invoice_lead is not None and p.billing.renewal_invoice_lead.operational
    assert term(p.suspension.after_due) == (0, "calendar_days", "2.2.5")
    assert p.suspension.data_deletion_after is None
    # Terminated when payment is over 20 days late from the invoice date (a bare "days").
    assert term(p.suspension.terminate_for_debt_after) == (20, "days", "2.2.5")
    assert p.suspension.terminate_for_debt_anchor == "invoice_issued"
    assert p.late_fee is not None
    assert (p.late_fee.rate_per_day, p.late_fee.cap_ratio, p.late_fee.clause, p.late_fee.base) == (
        Decimal("0.001"),
        None,
        "7.9",
        "unpaid_remainder",
    )
    # One service with 10 working days' notice (2.4.10); the whole contract with a month (11.3).
    assert term(p.termination.service_refusal_notice) == (10, "working_days", "2.4.10")
    assert term(p.termination.customer_notice) == (1, "months", "11.3")
    assert term(p.termination.consumer_withdrawal) == (14, "days", "11.6")
    assert p.auto_renewal is not None and p.auto_renewal.period == "contract_year"
    assert term(p.auto_renewal.opt_out_notice) == (30, "days", "11.2")
    assert p.trial is not None and p.trial.once_per_customer and p.trial.service_kinds == ["vps"]
    assert term(p.trial.length) == (10, "days", "Annex 11, 4.3")
    assert term(p.force_majeure.notice_within) == (10, "days", "8.4")
    assert term(p.force_majeure.terminate_after) == (2, "months", "8.5")
    assert p.force_majeure.termination == "option" and p.force_majeure.deadlines_extended is True
    # 7.11 keeps the minimum period (one month), not the whole first period paid.
    assert term(p.refunds.minimum_period) == (1, "months", "7.11")
    assert p.refunds.deadline is None


# -- a broken policy is refused, naming the field ------------------------------


def good() -> dict[str, Any]:
    return yaml.safe_load((POLICY_DIR / "ps-kz.yaml").read_text(encoding="utf-8"))


def refused(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(yaml.safe_dump(raw, allow_unicode=True), "broken.yaml")
    assert caught.value.source == "broken.yaml"
    return caught.value.problems


def test_the_unbroken_copy_parses() -> None:
    assert parse_policy(yaml.safe_dump(good(), allow_unicode=True), "good.yaml").id == "ps-kz"


def test_a_negative_amount_is_refused() -> None:
    raw = good()
    raw["suspension"]["grace_to_restore"]["amount"] = -7
    problems = refused(raw)
    assert any(p.startswith("suspension.grace_to_restore.amount:") for p in problems), problems


def test_an_unknown_field_is_refused() -> None:
    raw = good()
    raw["late_fee"]["cap_percent"] = 10
    problems = refused(raw)
    assert any(p.startswith("late_fee.cap_percent:") for p in problems), problems
    raw = good()
    raw["grace_days"] = 7
    assert any(p.startswith("grace_days:") for p in refused(raw))


def test_a_missing_or_empty_clause_is_refused() -> None:
    raw = good()
    del raw["refunds"]["deadline"]["clause"]
    problems = refused(raw)
    assert any(p.startswith("refunds.deadline") and "clause" in p for p in problems), problems
    raw = good()
    raw["suspension"]["data_deletion_after"]["clause"] = ""
    problems = refused(raw)
    assert any(p.startswith("suspension.data_deletion_after.clause:") for p in problems), problems


def test_a_wrong_unit_or_rate_is_refused() -> None:
    raw = good()
    raw["billing"]["invoice_due"]["unit"] = "fortnights"
    assert any(p.startswith("billing.invoice_due.unit:") for p in refused(raw))
    raw = good()
    raw["late_fee"]["rate_per_day"] = "-0.001"
    assert any(p.startswith("late_fee.rate_per_day:") for p in refused(raw))


def test_an_invoice_policy_without_a_due_term_is_refused() -> None:
    raw = good()
    raw["billing"]["invoice_due"] = None
    assert any("invoice_due" in p for p in refused(raw))


def test_an_operational_term_that_cites_a_clause_is_refused() -> None:
    # A customer is shown the clause of every step: a courtesy step must not borrow one.
    raw = good()
    raw["suspension"]["deletion_warning_before"]["clause"] = "3.17"
    problems = refused(raw)
    assert any(p.startswith("suspension.deletion_warning_before") and "operational" in p for p in problems), (
        problems
    )


def test_a_trial_for_a_kind_the_policy_does_not_sell_is_refused() -> None:
    raw = yaml.safe_load((POLICY_DIR / "smartape.yaml").read_text(encoding="utf-8"))
    raw["trial"]["service_kinds"] = ["spaceship"]
    assert any(p.startswith("trial") or "trial.service_kinds" in p for p in refused(raw))


def test_an_unknown_time_zone_is_refused() -> None:
    raw = good()
    raw["provider"]["timezone"] = "Asia/Nowhere"
    assert any(p.startswith("provider:") and "Asia/Nowhere" in p for p in refused(raw))


@pytest.mark.parametrize("policy_id", IDS)
def test_every_policy_file_round_trips_through_the_parser(policy_id: str) -> None:
    raw = yaml.safe_load((POLICY_DIR / f"{policy_id}.yaml").read_text(encoding="utf-8"))
    again = parse_policy(yaml.safe_dump(copy.deepcopy(raw), allow_unicode=True), policy_id)
    assert again == policy(policy_id)


def test_a_service_of_a_kind_the_contract_does_not_cover_cannot_start() -> None:
    from oferta.timeline.engine import Contract
    from oferta.timeline.money import Money
    from oferta.timeline.state import ServiceSpec

    def spec(kind: str, trial: bool = False) -> ServiceSpec:
        return ServiceSpec(
            service_id="s",
            customer_id="c",
            policy_id="centerpro",
            kind=kind,
            tariff="T",
            price=Money.of("1000", "KZT"),
            trial=trial,
        )

    contract = Contract(policy("centerpro"))
    assert contract.start_refusal(spec("saas")) is None
    field, reason = contract.start_refusal(spec("hosting")) or ("", "")
    assert field == "kind" and "saas" in reason
    # A contract without a trial refuses one, naming the field.
    assert (contract.start_refusal(spec("saas", trial=True)) or ("",))[0] == "trial"


def test_fields_the_engine_does_not_enforce_say_so() -> None:
    """A reader must not assume a rule is enforced when it is documentation."""
    from oferta.policy.schema import AutoRenewal, BillingRules, Trial

    assert "INFORMATIONAL" in (BillingRules.model_fields["balance_credit_delay"].description or "")
    assert "INFORMATIONAL" in (Trial.model_fields["once_per_customer"].description or "")
    assert "INFORMATIONAL" in (AutoRenewal.__doc__ or "")
