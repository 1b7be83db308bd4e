"""Bad input gets a clear 4xx naming the field, never a 500, and nothing half-written."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from oferta.db.models import Customer, Service
from oferta.db.session import session_scope
from oferta.policy import load_policy
from oferta.timeline.engine import Contract
from oferta.timeline.money import Money
from oferta.timeline.state import BillingEvent, EventType, ServiceSpec, ServiceState
from tests.api.harness import new_customer, new_service, oferta
from workflows.service_lifecycle import ServiceLifecycleWorkflow, ServiceWorkflowInput, workflow_id


def _fields(response) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


async def test_unknown_service_is_404(api):
    async with api.http("billing") as http:
        for method, path in [("GET", ""), ("GET", "/timeline"), ("POST", "/payments")]:
            response = await http.request(
                method,
                f"/v1/services/nope-{uuid.uuid4().hex[:6]}{path}",
                json={"amount": "10", "currency": "KZT"},
            )
            assert response.status_code == 404, response.text
            assert response.json()["code"] == "not_found"
        assert (await http.get("/v1/customers/nobody")).status_code == 404


async def test_amounts_must_be_positive_well_formed_sums(api):
    async with api.http("billing") as http:
        service = await new_service(http)
        url = f"/v1/services/{service['id']}/payments"
        for amount in ["-5", "0", "abc", "1e400", "12.345", 10.5, None, "NaN"]:
            response = await http.post(url, json={"amount": amount, "currency": "KZT"})
            assert response.status_code == 422, (amount, response.text)
            assert _fields(response)[0].startswith("amount"), (amount, response.json())
        shown = (await http.get(f"/v1/services/{service['id']}")).json()
        assert shown["debt"]["amount"] == "2500.00" and shown["balance"]["amount"] == "0.00"


async def test_currency_other_than_the_service_is_422_naming_currency(api):
    async with api.http("billing") as http:
        service = await new_service(http)
        response = await http.post(
            f"/v1/services/{service['id']}/payments", json={"amount": "2500", "currency": "EUR"}
        )
        assert response.status_code == 422
        assert _fields(response) == ["currency"]
        assert "differs from the service's KZT" in response.json()["detail"]
        lower = await http.post(
            f"/v1/services/{service['id']}/payments", json={"amount": "2500", "currency": "kzt"}
        )
        assert lower.status_code == 422 and _fields(lower) == ["currency"]


async def test_service_creation_checks_policy_customer_and_currency(api):
    async with api.http("billing") as http:
        customer = await new_customer(http)
        base = {
            "customer_id": customer["id"],
            "policy": "ps-kz",
            "tariff": "Basic",
            "price": "2500",
            "currency": "KZT",
        }
        cases = [
            ({"policy": "no-such-policy"}, "policy"),
            ({"customer_id": "ghost"}, "customer_id"),
            ({"currency": "EUR"}, "currency"),
            ({"price": "-1"}, "price"),
            ({"period": "P1X"}, "period"),
            ({"period": "P99999Y"}, "period"),
            ({"tariff": "bad\x00name"}, "tariff"),
            ({"tariff": "T" * 201}, "tariff"),  # longer than the column: a 422, not a database error
            ({"unexpected": True}, "unexpected"),
        ]
        for change, field in cases:
            response = await http.post("/v1/services", json=base | change)
            assert response.status_code == 422, (change, response.text)
            assert _fields(response)[0] == field, (change, response.json())
        bad_json = await http.post(
            "/v1/services", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert bad_json.status_code == 422
    with session_scope(api.database_url) as session:
        made = session.scalars(select(Service).where(Service.customer_id == customer["id"])).all()
        assert made == []  # nothing half-written


async def test_customer_fields_are_checked(api):
    async with api.http("billing") as http:
        for body, field in [
            ({"name": ""}, "name"),
            ({"name": "A", "email": "not-an-email"}, "email"),
            ({"name": "A", "phone": "12"}, "phone"),
            ({"name": "A", "locale": "fr"}, "locale"),
            ({"name": "A", "timezone": "Mars/Olympus"}, "timezone"),
            ({"name": "A", "id": "has space"}, "id"),
        ]:
            response = await http.post("/v1/customers", json=body)
            assert response.status_code == 422, (body, response.text)
            assert _fields(response)[0] == field


async def test_inputs_the_contract_refuses_are_409_with_the_reason(api):
    async with api.http("billing") as http:
        service = await new_service(http)
        sid = service["id"]
        no_cancel = await http.delete(f"/v1/services/{sid}/cancellation")
        assert no_cancel.status_code == 409 and no_cancel.json()["detail"] == "no cancellation is pending"
        not_abuse = await http.delete(f"/v1/services/{sid}/abuse")
        assert not_abuse.status_code == 409
        assert not_abuse.json()["detail"] == "the service is not suspended for abuse"
        blocked = await http.post(f"/v1/services/{sid}/abuse", json={"reason": "phishing site"})
        assert blocked.status_code == 200 and blocked.json()["service"]["state"] == "suspended"
        twice = await http.post(f"/v1/services/{sid}/abuse", json={"reason": "again"})
        assert twice.status_code == 409
        resolved = await http.delete(f"/v1/services/{sid}/abuse")
        assert resolved.status_code == 200 and resolved.json()["service"]["state"] == "awaiting_payment"
        trail = (await http.get(f"/v1/services/{sid}/timeline")).json()["audit"]
        refused = [a for a in trail if a["action"].startswith("refused:")]
        assert [a["action"] for a in refused] == [
            "refused:cancel_withdrawn",
            "refused:abuse_resolved",
            "refused:abuse_suspend",
        ]
        assert refused[0]["detail"]["reason"] == "no cancellation is pending"


def _state_due_for_deletion(service_id: str, customer_id: str) -> ServiceState:
    """A PS.kz service paid once 80 days ago and never again: its next step is deleting the data."""
    contract = Contract(load_policy("ps-kz"))
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=80)
    spec = ServiceSpec(
        service_id=service_id,
        customer_id=customer_id,
        policy_id="ps-kz",
        tariff="Basic",
        price=Money.of("2500", "KZT"),
    )
    state = ServiceState.new(spec, start)
    contract.start(state, start)
    contract.on_event(
        state, BillingEvent(event_id="first", type=EventType.PAYMENT, amount=Money.of("2500", "KZT")), start
    )
    for _ in range(100):
        deadline = contract.next_deadline(state)
        if deadline.action == "delete_data":
            return state
        contract.on_deadline(state, deadline, deadline.at)
    raise AssertionError("the contract never reached deletion")


async def test_payment_for_a_deleted_service_is_409_with_the_reason(api):
    async with api.http("billing") as http:
        customer = await new_customer(http)
    service_id = f"old-{uuid.uuid4().hex[:8]}"
    with session_scope(api.database_url) as session:
        session.add(
            Service(
                id=service_id,
                customer_id=customer["id"],
                policy_id="ps-kz",
                kind="hosting",
                tariff="Basic",
                price=2500,
                currency="KZT",
                period="P1M",
                workflow_id=workflow_id(service_id),
                state="suspended",
            )
        )
    handle = await api.temporal.start_workflow(
        ServiceLifecycleWorkflow.run,
        ServiceWorkflowInput(
            policy=load_policy("ps-kz"),
            spec=_state_due_for_deletion(service_id, customer["id"]).spec,
            state=_state_due_for_deletion(service_id, customer["id"]),
        ),
        id=workflow_id(service_id),
        task_queue=api.settings.task_queue,
    )
    final = await handle.result()
    assert final.state.value == "deleted"
    with session_scope(api.database_url) as session:  # a mirror that lags: only the workflow knows
        session.get_one(Service, service_id).state = "suspended"

    async with api.http("billing") as http:
        response = await http.post(
            f"/v1/services/{service_id}/payments", json={"amount": "2500", "currency": "KZT"}
        )
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "service_closed"
        # The completed workflow's own final view, read through the typed handle.
        assert response.json()["detail"] == "the service is deleted; payment cannot be applied"
        shown = (await http.get(f"/v1/services/{service_id}")).json()
        assert shown["state"] == "deleted"
        timeline = (await http.get(f"/v1/services/{service_id}/timeline")).json()
        assert "deleted" in [e["type"] for e in timeline["events"]]


async def test_input_to_a_terminated_workflow_is_409(api):
    async with api.http("billing") as http:
        service = await new_service(http)
        await api.temporal.get_workflow_handle(service["workflow_id"]).terminate(reason="operator test")
        response = await http.post(
            f"/v1/services/{service['id']}/payments", json={"amount": "2500", "currency": "KZT"}
        )
        assert response.status_code == 409
        assert "terminated by an operator" in response.json()["detail"]


async def test_no_worker_is_503_and_a_retry_with_the_key_applies_once(dev_env, database_url):
    async with oferta(dev_env, database_url, with_worker=False, update_timeout=1.0, query_timeout=0.5) as api:
        async with api.http("billing") as http:
            service = await new_service(http)
            assert service["live"] is False  # the create answers from the row it wrote
            url = f"/v1/services/{service['id']}/payments"
            body, key = {"amount": "2500", "currency": "KZT"}, f"pay-{uuid.uuid4().hex}"
            down = await http.post(url, json=body, headers={"Idempotency-Key": key})
            assert down.status_code == 503 and "retry" in down.json()["detail"]
            assert down.headers["Retry-After"]

            from tests.api.harness import worker

            async with worker(dev_env, api.settings):
                retried = await http.post(url, json=body, headers={"Idempotency-Key": key})
                assert retried.status_code == 200, retried.text
                shown = (await http.get(f"/v1/services/{service['id']}")).json()
                assert shown["state"] == "active" and shown["balance"]["amount"] == "0.00"
    with session_scope(database_url) as session:
        assert session.get(Customer, service["customer_id"]) is not None


async def test_cancelling_before_the_first_payment_keeps_the_service_running(api):
    # Found by the fuzz test: this input used to crash the contract engine and fail the workflow.
    async with api.http("billing") as http:
        service = await new_service(http)
        url = f"/v1/services/{service['id']}/cancellation"
        cancelled = await http.post(url, json={"reason": "changed my mind"})
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["service"]["state"] == "terminating"
        assert cancelled.json()["service"]["next_deadline"]["clause"] == "4.3.16"
        withdrawn = await http.delete(url)
        assert withdrawn.status_code == 200 and withdrawn.json()["service"]["state"] == "awaiting_payment"
    description = await api.temporal.get_workflow_handle(service["workflow_id"]).describe()
    assert description.status.name == "RUNNING"


async def test_a_service_whose_workflow_does_not_exist_is_404(api):
    async with api.http("billing") as http:
        customer = await new_customer(http)
    service_id = f"orphan-{uuid.uuid4().hex[:8]}"
    with session_scope(api.database_url) as session:
        session.add(
            Service(
                id=service_id,
                customer_id=customer["id"],
                policy_id="ps-kz",
                kind="hosting",
                tariff="Basic",
                price=2500,
                currency="KZT",
                period="P1M",
                workflow_id=workflow_id(service_id),
            )
        )
    async with api.http("billing") as http:
        response = await http.post(
            f"/v1/services/{service_id}/payments", json={"amount": "2500", "currency": "KZT"}
        )
        assert response.status_code == 404 and "has no workflow" in response.json()["detail"]
