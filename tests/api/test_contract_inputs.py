"""The ways in and out the contracts give, as billing and operations send them: a consumer's
withdrawal, a promised payment date, the provider's notice, a breach, a Tariff purchase, a party's
force majeure option, the scope of a cancellation; customers flagged as consumers; trials the
contract does not offer. Each accepted input goes through the real worker and Temporal server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from oferta.db.models import Service
from oferta.db.session import session_scope
from oferta.policy import load_policy
from oferta.policy.schema import Policy, Rule
from oferta.timeline.engine import Contract
from oferta.timeline.money import Money
from oferta.timeline.state import BillingEvent, EventType, ServiceSpec, ServiceState
from tests.api.harness import eventually, new_customer, new_service
from workflows.service_lifecycle import ServiceLifecycleWorkflow, ServiceWorkflowInput, workflow_id


def _fields(response) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


def _key() -> dict[str, str]:
    return {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}


async def _smartape_service(http, consumer: bool) -> dict:
    customer = await new_customer(
        http, name="Mari Maasikas", locale="en", timezone="Europe/Tallinn", consumer=consumer
    )
    assert customer["consumer"] is consumer
    return await new_service(
        http, customer["id"], policy="smartape", tariff="Hosting S", price="20.00", currency="EUR"
    )


async def _pay(http, service: dict, amount: str, currency: str) -> None:
    paid = await http.post(
        f"/v1/services/{service['id']}/payments",
        json={"amount": amount, "currency": currency},
        headers=_key(),
    )
    assert paid.status_code == 200, paid.text


async def _started_from(api, policy: Policy, state: ServiceState) -> str:
    """A service whose contract began in the past: its row, and its workflow started from ``state``."""
    spec = state.spec
    with session_scope(api.database_url) as session:
        session.add(
            Service(
                id=spec.service_id,
                customer_id=spec.customer_id,
                policy_id=policy.id,
                kind=spec.kind,
                tariff=spec.tariff,
                price=spec.price.amount,
                currency=spec.price.currency,
                period=spec.period,
                workflow_id=workflow_id(spec.service_id),
                state=state.status.value,
            )
        )
    await api.temporal.start_workflow(
        ServiceLifecycleWorkflow.run,
        ServiceWorkflowInput(policy=policy, spec=spec, state=state),
        id=workflow_id(spec.service_id),
        task_queue=api.settings.task_queue,
    )
    return spec.service_id


def _run_until(contract: Contract, state: ServiceState, now: datetime) -> None:
    while (deadline := contract.next_deadline(state)) is not None and deadline.at <= now:
        contract.on_deadline(state, deadline, deadline.at)


# -- customers and services ---------------------------------------------------------


async def test_the_consumer_flag_is_kept_changed_and_reaches_the_contract(api):
    async with api.http("billing") as http:
        business = await new_customer(http)
        assert business["consumer"] is False
        consumer = await new_customer(http, consumer=True)
        assert (await http.get(f"/v1/customers/{consumer['id']}")).json()["consumer"] is True
        service = await new_service(http, consumer["id"])
        state = await api.temporal.get_workflow_handle(service["workflow_id"]).query(
            ServiceLifecycleWorkflow.state
        )
        assert state.spec.consumer is True

        changed = await http.patch(f"/v1/customers/{business['id']}", json={"consumer": True})
        assert changed.status_code == 200 and changed.json()["consumer"] is True
        for bad in (None, "sometimes", [True]):
            refused = await http.patch(f"/v1/customers/{business['id']}", json={"consumer": bad})
            assert refused.status_code == 422, (bad, refused.text)
            assert _fields(refused) == ["consumer"]
        bad_new = await http.post("/v1/customers", json={"name": "A", "consumer": "sometimes"})
        assert bad_new.status_code == 422 and _fields(bad_new) == ["consumer"]


async def test_a_trial_the_contract_does_not_offer_is_422_naming_trial_with_its_reason(api):
    async with api.http("billing") as http:
        customer = await new_customer(http)
        response = await http.post(
            "/v1/services",
            json={
                "customer_id": customer["id"],
                "policy": "ps-kz",
                "tariff": "Basic",
                "price": "2500",
                "currency": "KZT",
                "trial": True,
            },
        )
        assert response.status_code == 422, response.text
        assert _fields(response) == ["trial"]
        spec = ServiceSpec(
            service_id="new",
            customer_id=customer["id"],
            policy_id="ps-kz",
            tariff="Basic",
            price=Money.of("2500", "KZT"),
            trial=True,
        )
        reason = Contract(load_policy("ps-kz")).trial_refusal(spec)
        assert reason and reason in response.json()["detail"]
    with session_scope(api.database_url) as session:
        assert session.scalars(select(Service).where(Service.customer_id == customer["id"])).all() == []


async def test_a_trial_for_a_kind_the_contract_does_not_name_is_422_and_for_one_it_names_is_accepted(api):
    trial = load_policy("smartape").trial
    assert trial is not None and "hosting" not in trial.service_kinds
    async with api.http("billing") as http:
        customer = await new_customer(http, locale="en")
        body = {
            "customer_id": customer["id"],
            "policy": "smartape",
            "tariff": "S",
            "price": "20.00",
            "currency": "EUR",
            "trial": True,
        }
        refused = await http.post("/v1/services", json=body | {"kind": "hosting"})
        assert refused.status_code == 422 and _fields(refused) == ["trial"]
        assert (
            f"exists only for {', '.join(trial.service_kinds)}, not for hosting" in refused.json()["detail"]
        )
        accepted = await http.post("/v1/services", json=body | {"kind": trial.service_kinds[0]})
        assert accepted.status_code == 201, accepted.text


# -- withdrawal -------------------------------------------------------------------------


async def test_a_consumer_withdraws_and_the_service_ends_at_once(api):
    async with api.http("billing") as http:
        service = await _smartape_service(http, consumer=True)
        await _pay(http, service, "20.00", "EUR")
        url, key = f"/v1/services/{service['id']}/withdrawal", _key()
        withdrawn = await http.post(url, headers=key)  # no body at all
        assert withdrawn.status_code == 200, withdrawn.text
        receipt = withdrawn.json()
        assert receipt["applied"] and receipt["type"] == "withdrawal"
        assert receipt["event_id"] == key["Idempotency-Key"]
        assert receipt["service"]["state"] == "terminated"
        again = await http.post(url, headers=key)
        assert again.status_code == 200 and again.json() == receipt  # the same key is replayed

        async def ended():
            found = (await http.get(f"/v1/services/{service['id']}/timeline")).json()
            return [e for e in found["events"] if e["type"] == "terminated"]

        terminated = (await eventually(ended))[0]
        assert terminated["detail"]["reason"] == "withdrawal"


async def test_withdrawal_by_a_customer_who_is_not_a_consumer_is_409_with_the_reason(api):
    async with api.http("billing") as http:
        service = await _smartape_service(http, consumer=False)
        refused = await http.post(
            f"/v1/services/{service['id']}/withdrawal", json={"reason": "changed my mind"}
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "refused"
        assert "not a consumer" in refused.json()["detail"]
        assert (await http.get(f"/v1/services/{service['id']}")).json()["state"] == "awaiting_payment"


async def test_withdrawal_with_a_bad_body_is_422(api):
    async with api.http("billing") as http:
        service = await new_service(http)
        for body, field in [
            ({"reason": "bad\x00"}, "reason"),
            ({"reason": ""}, "reason"),
            ({"why": "x"}, "why"),
        ]:
            response = await http.post(f"/v1/services/{service['id']}/withdrawal", json=body)
            assert response.status_code == 422, (body, response.text)
            assert _fields(response) == [field]


# -- promise to pay ---------------------------------------------------------------------


def _ps_kz_with_a_promise_rule() -> Policy:
    """PS.kz's invoice model with a promised-payment rule (as ONELAB 11.11.1 has)."""
    base = load_policy("ps-kz")
    rule = Rule(clause="11.11.1", text="A promised payment date postpones the deletion.")
    return base.model_copy(
        update={"termination": base.termination.model_copy(update={"promise_to_pay": rule})}
    )


async def test_a_promised_payment_date_is_recorded_for_an_overdue_service(api):
    policy = _ps_kz_with_a_promise_rule()
    async with api.http("billing") as http:
        customer = await new_customer(http)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=10)
    spec = ServiceSpec(
        service_id=f"ptp-{uuid.uuid4().hex[:8]}",
        customer_id=customer["id"],
        policy_id=policy.id,
        tariff="Basic",
        price=Money.of("2500", "KZT"),
    )
    state = ServiceState.new(spec, start)
    contract = Contract(policy)
    contract.start(state, start)
    _run_until(contract, state, now)
    assert contract.billing.overdue(state, now)  # the first invoice was never paid
    service_id = await _started_from(api, policy, state)

    promised = (now + timedelta(days=3)).isoformat()
    async with api.http("billing") as http:
        response = await http.post(
            f"/v1/services/{service_id}/promise-to-pay", json={"promised_at": promised}, headers=_key()
        )
        assert response.status_code == 200, response.text
        assert response.json()["applied"] and response.json()["type"] == "promise_to_pay"
        history = await api.temporal.get_workflow_handle(workflow_id(service_id)).query(
            ServiceLifecycleWorkflow.state
        )
        assert history.promised_payment_on == contract.local_date(datetime.fromisoformat(promised))


async def test_promise_to_pay_needs_an_aware_promised_at(api):
    async with api.http("billing") as http:
        service = await new_service(http)
        url = f"/v1/services/{service['id']}/promise-to-pay"
        for body in [
            {},
            {"promised_at": "2027-03-05"},
            {"promised_at": "2027-03-05T10:00:00"},
            {"promised_at": "soon"},
            {"promised_at": "1990-01-01T00:00:00+05:00"},
        ]:
            response = await http.post(url, json=body)
            assert response.status_code == 422, (body, response.text)
            assert _fields(response) == ["promised_at"], body
        # PS.kz has no such rule: the contract refuses it (409), with its reason.
        refused = await http.post(url, json={"promised_at": "2027-03-05T10:00:00+05:00"})
        assert refused.status_code == 409
        assert refused.json()["detail"] == "the contract gives no promised-payment date"


# -- the provider's ways out --------------------------------------------------------------


async def test_the_provider_gives_notice_with_an_ops_key(api):
    async with api.http("billing") as http:
        service = await new_service(http)
        await _pay(http, service, "2500.00", "KZT")
        url = f"/v1/services/{service['id']}/provider-termination"
        body = {"reason": "the product is discontinued"}
        assert (await http.post(url, json=body)).status_code == 403  # billing may not
    async with api.http("ops") as ops:
        response = await ops.post(url, json=body, headers=_key())
        assert response.status_code == 200, response.text
        assert response.json()["service"]["state"] == "terminating"
        state = await api.temporal.get_workflow_handle(service["workflow_id"]).query(
            ServiceLifecycleWorkflow.state
        )
        assert state.cancellation_reason == "provider_notice"
        notice = load_policy("ps-kz").termination.provider_notice
        assert state.cancellation_effective_at == Contract(load_policy("ps-kz")).after(
            state.cancellation_requested_at, notice
        )
        twice = await ops.post(url, json=body)
        assert twice.status_code == 409 and twice.json()["detail"] == "a termination is already pending"


async def test_provider_termination_with_bad_input_is_422(api):
    async with api.http("billing") as http:
        service = await new_service(http)
    async with api.http("ops") as ops:
        url = f"/v1/services/{service['id']}/provider-termination"
        for body, field in [
            ({}, "reason"),
            ({"reason": ""}, "reason"),
            ({"reason": "x", "effective_at": "2027-05-01T00:00:00"}, "effective_at"),
            ({"reason": "x", "effective_at": "next month"}, "effective_at"),
        ]:
            response = await ops.post(url, json=body)
            assert response.status_code == 422, (body, response.text)
            assert _fields(response) == [field], body


async def test_a_serious_breach_ends_the_service_at_once(api):
    async with api.http("billing") as http:
        service = await new_service(http)
        await _pay(http, service, "2500.00", "KZT")
    url = f"/v1/services/{service['id']}/breach-termination"
    async with api.http("ops") as ops:
        for body in [{}, {"reason": ""}, {"reason": 42}]:
            bad = await ops.post(url, json=body)
            assert bad.status_code == 422 and _fields(bad) == ["reason"], (body, bad.text)
        response = await ops.post(url, json={"reason": "malware hosted"}, headers=_key())
        assert response.status_code == 200, response.text
        assert response.json()["service"]["state"] == "terminated"
        after = await ops.post(url, json={"reason": "again"})
        assert after.status_code == 409 and "terminated" in after.json()["detail"]


# -- Tariff purchase ---------------------------------------------------------------------


async def test_a_tariff_bought_from_the_balance_starts_the_service(api):
    async with api.http("billing") as http:
        customer = await new_customer(http)
        service = await new_service(http, customer["id"], policy="centerpro", kind="saas", tariff="Standard")
        url = f"/v1/services/{service['id']}/tariff-purchase"
        short = await http.post(url)
        assert short.status_code == 409 and "does not cover" in short.json()["detail"]
        await _pay(http, service, "2500.00", "KZT")
        bought = await http.post(url, json={}, headers=_key())
        assert bought.status_code == 200, bought.text
        assert bought.json()["applied"] and bought.json()["service"]["state"] == "active"
        assert bought.json()["service"]["balance"]["amount"] == "0.00"
        extra = await http.post(url, json={"tariff": "Gold"})
        assert extra.status_code == 422 and _fields(extra) == ["tariff"]
        wrong = await http.post(url, json=["Gold"])
        assert wrong.status_code == 422


# -- force majeure option -------------------------------------------------------------------


async def test_a_party_exercises_the_force_majeure_option(api):
    policy = load_policy("smartape")
    assert policy.force_majeure.termination == "option"
    async with api.http("billing") as http:
        customer = await new_customer(http, locale="en")
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=95)  # paid, then five days later a force majeure began
    spec = ServiceSpec(
        service_id=f"fmo-{uuid.uuid4().hex[:8]}",
        customer_id=customer["id"],
        policy_id=policy.id,
        tariff="Hosting S",
        price=Money.of("20.00", "EUR"),
    )
    state = ServiceState.new(spec, start)
    contract = Contract(policy)
    contract.start(state, start)
    contract.on_event(
        state, BillingEvent(event_id="paid", type=EventType.PAYMENT, amount=Money.of("20.00", "EUR")), start
    )
    fm_start = now - timedelta(days=90)
    _run_until(contract, state, fm_start)
    out = contract.on_event(
        state,
        BillingEvent(
            event_id="fm", type=EventType.FORCE_MAJEURE_START, force_majeure_id="fm-flood", reason="flood"
        ),
        fm_start,
    )
    assert out.rejected is None
    _run_until(contract, state, now)  # the option is announced once the force majeure has lasted
    assert state.force_majeure is not None and state.force_majeure.option_announced
    service_id = await _started_from(api, policy, state)

    url = f"/v1/services/{service_id}/force-majeure-termination"
    async with api.http("billing") as http:
        for body in [{}, {"party": "nobody"}, {"party": None}]:
            bad = await http.post(url, json=body)
            assert bad.status_code == 422 and _fields(bad) == ["party"], (body, bad.text)
        response = await http.post(url, json={"party": "customer"}, headers=_key())
        assert response.status_code == 200, response.text
        assert response.json()["service"]["state"] == "terminated"


async def test_force_majeure_termination_where_the_contract_gives_no_option_is_409(api):
    async with api.http("ops") as ops:
        async with api.http("billing") as http:
            service = await new_service(http)
        refused = await ops.post(
            f"/v1/services/{service['id']}/force-majeure-termination", json={"party": "provider"}
        )
        assert refused.status_code == 409, refused.text
        assert "no option to terminate for force majeure" in refused.json()["detail"]


# -- cancellation scope ----------------------------------------------------------------------


async def test_cancellation_takes_a_scope(api):
    async with api.http("billing") as http:
        service = await new_service(http)
        await _pay(http, service, "2500.00", "KZT")
        url = f"/v1/services/{service['id']}/cancellation"
        bad = await http.post(url, json={"reason": "moving", "scope": "everything"})
        assert bad.status_code == 422 and _fields(bad) == ["scope"]
        response = await http.post(url, json={"reason": "moving", "scope": "contract"}, headers=_key())
        assert response.status_code == 200, response.text
        assert response.json()["service"]["state"] == "terminating"
        trail = (await http.get(f"/v1/services/{service['id']}/timeline")).json()["audit"]
        cancel = next(a for a in trail if a["action"] == "input:cancel_request")
        assert cancel["detail"]["scope"] == "contract"
