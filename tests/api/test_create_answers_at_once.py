"""POST /v1/services answers at once from the database mirror; it never waits on a workflow query.

Under load the workflow's first task can take seconds to run, and the create used to ask it for its
live view, waiting out the 5 s query timeout on many requests (bench/RESULTS.md).
"""

from __future__ import annotations

import time

from temporalio.client import WorkflowExecutionStatus

from tests.api.harness import new_customer, oferta


async def test_create_with_no_worker_answers_201_quickly_with_the_mirror(dev_env, database_url):
    # The usual query timeout, and no worker: a query would wait all of it and still get nothing.
    async with oferta(dev_env, database_url, with_worker=False, query_timeout=5.0) as api:
        async with api.http("billing") as http:
            customer = await new_customer(http)
            body = {
                "customer_id": customer["id"],
                "policy": "ps-kz",
                "tariff": "Hosting Basic",
                "price": "2500",
                "currency": "KZT",
            }
            began = time.perf_counter()
            response = await http.post("/v1/services", json=body)
            took = time.perf_counter() - began
            assert response.status_code == 201, response.text
            assert took < 2.5, f"the create took {took:.1f} s: it waited for the workflow"
            service = response.json()
            # The row as just written, and said to be the mirror's view, not the workflow's.
            assert service["live"] is False
            assert service["state"] == "awaiting_payment" and service["period_index"] == 0
            assert service["debt"] == {"amount": "0.00", "currency": "KZT"}
            assert service["next_deadline"] is None
            # The workflow was started all the same: it waits for a worker to run its first step.
            described = await api.temporal.get_workflow_handle(service["workflow_id"]).describe()
            assert described.status == WorkflowExecutionStatus.RUNNING
            await api.temporal.get_workflow_handle(service["workflow_id"]).terminate("test over")
