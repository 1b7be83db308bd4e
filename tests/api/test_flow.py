"""The README flow end to end: customer, PS.kz service, payment, and what the API then shows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from oferta.db.models import Payment, TimelineEvent
from oferta.db.session import session_scope
from tests.api.harness import eventually, new_customer, new_service


async def test_customer_service_payment_then_active_with_next_deadline_and_clause(api):
    async with api.http("billing") as http:
        customer = await new_customer(http, name="Alem Hosting LLP", locale="kk")
        assert customer["locale"] == "kk" and customer["id"].startswith("cust-")
        assert (await http.get(f"/v1/customers/{customer['id']}")).json()["name"] == "Alem Hosting LLP"

        service = await new_service(http, customer["id"])
        assert service["state"] == "awaiting_payment"
        assert service["price"] == {"amount": "2500.00", "currency": "KZT"}
        assert service["workflow_id"] == f"service-{service['id']}"

        paid = await http.post(
            f"/v1/services/{service['id']}/payments",
            json={"amount": "2500.00", "currency": "KZT"},
            headers={"Idempotency-Key": f"pay-{service['id']}-1"},
        )
        assert paid.status_code == 200, paid.text
        receipt = paid.json()
        assert receipt["applied"] and receipt["event_id"] == f"pay-{service['id']}-1"
        assert receipt["service"]["state"] == "active"

        shown = (await http.get(f"/v1/services/{service['id']}")).json()
        assert shown["live"] is True and shown["state"] == "active"
        assert shown["debt"] == {"amount": "0.00", "currency": "KZT"}
        deadline = shown["next_deadline"]
        # PS.kz bills the renewal ahead of the paid period's end; when is the provider's choice.
        assert deadline["action"] == "issue_invoice" and deadline["clause"] is None
        assert deadline["operational"] is True
        assert datetime.fromisoformat(deadline["at"]) < datetime.fromisoformat(shown["paid_until"])
        assert datetime.fromisoformat(deadline["at"]).utcoffset() is not None

        # The worker's records reach the database: the mirror, the ledger and the timeline.
        async def mirrored():
            listed = (
                await http.get("/v1/services", params={"state": "active", "customer_id": customer["id"]})
            ).json()
            return listed if listed["total"] == 1 else None

        listed = await eventually(mirrored)
        row = listed["items"][0]
        assert row["id"] == service["id"] and row["live"] is False
        assert row["next_deadline"]["action"] == "issue_invoice" and row["next_deadline"]["clause"] is None

        def numbered(events: list[dict]) -> list[int]:
            return sorted(e["sequence"] for e in events)

        async def with_notices():
            # Notices go out in the background: their entries are written when they are sent, after
            # their step's (a write of a later step may come between), and shown at their time. The
            # mirror above may be written before the payment's entries: a write carries the state
            # of the moment, and the invoice's e-mail may be written while the activation runs.
            found = (await http.get(f"/v1/services/{service['id']}/timeline")).json()
            kinds = [e["type"] for e in found["events"]]
            contiguous = numbered(found["events"]) == list(range(len(kinds)))
            return found if {"notice", "activated"} <= set(kinds) and contiguous else None

        timeline = await eventually(with_notices)
        types = [e["type"] for e in timeline["events"]]
        contract_steps = [t for t in types if t != "notice"]
        assert contract_steps[:3] == ["invoice_issued", "payment_received", "activated"]
        assert "notice" in types  # each step's notice is on the timeline too
        # In order of time, then of writing; no entry missing or written twice.
        order = [(datetime.fromisoformat(e["at"]), e["sequence"]) for e in timeline["events"]]
        assert order == sorted(order)
        assert numbered(timeline["events"]) == list(range(len(types)))
        actions = [a["action"] for a in timeline["audit"]]
        assert actions.index("service_created") < actions.index("input:payment")
        assert {"invoice_issued", "payment_received", "activated"} <= set(actions)
        times = [datetime.fromisoformat(a["at"]) for a in timeline["audit"]]
        assert times == sorted(times)

    with session_scope(api.database_url) as session:
        payments = session.scalars(select(Payment).where(Payment.service_id == service["id"])).all()
        assert [(p.amount, p.currency) for p in payments] == [(2500, "KZT")]
        # Everything the API showed is in the database (a notice may have been written since).
        recorded = session.scalar(
            select(func.count()).select_from(TimelineEvent).where(TimelineEvent.service_id == service["id"])
        )
        assert recorded is not None and recorded >= len(types)


async def test_customer_contacts_and_locale_can_be_changed(api):
    async with api.http("billing") as http:
        customer = await new_customer(http)
        changed = await http.patch(
            f"/v1/customers/{customer['id']}", json={"locale": "en", "phone": "+77770001122", "email": None}
        )
        assert changed.status_code == 200, changed.text
        body = changed.json()
        assert (body["locale"], body["phone"], body["email"]) == ("en", "+77770001122", None)
        assert body["name"] == customer["name"]
        refused = await http.patch(f"/v1/customers/{customer['id']}", json={"locale": "de"})
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "locale"
