"""Operations find services in the Temporal UI by Oferta's search attributes.

A real dev server with its Web UI, a worker, and two services; headless Chromium
(Debian's package, driven by Playwright) filters the workflow list by policy and
finds the PS.kz service but not the SmartApe one. The screenshot is kept under
test-output/ for a person to look at.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from pathlib import Path
from urllib.parse import quote

from playwright.async_api import async_playwright
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.memory import MemoryLedger
from activities.service_activities import ServiceActivities
from oferta import search_attributes as sa
from oferta.policy import load_policy
from oferta.temporal import quiet_runtime, temporal_cli_path
from oferta.timeline.money import Money
from oferta.timeline.state import BillingEvent, EventType, ServiceSpec
from workflows.service_lifecycle import ServiceLifecycleWorkflow, ServiceWorkflowInput, workflow_id

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
CHROMIUM = "/usr/bin/chromium"  # Debian's package; never a browser Playwright downloads
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _start(env: WorkflowEnvironment, policy_id: str, price: Money, task_queue: str) -> str:
    service_id = f"ui-{policy_id}-{uuid.uuid4().hex[:6]}"
    spec = ServiceSpec(
        service_id=service_id, customer_id="cust-ui", policy_id=policy_id, tariff="Basic", price=price
    )
    handle = await env.client.start_workflow(
        ServiceLifecycleWorkflow.run,
        ServiceWorkflowInput(policy=load_policy(policy_id), spec=spec),
        id=workflow_id(service_id),
        task_queue=task_queue,
        static_summary=f"{policy_id} hosting service {service_id}, tariff Basic",
    )
    await handle.execute_update(
        ServiceLifecycleWorkflow.apply_event,
        BillingEvent(event_id="pay", type=EventType.PAYMENT, amount=price),
        id="pay",
    )
    return handle.id


async def _visible(env: WorkflowEnvironment, query: str, expected: set[str]) -> None:
    for _ in range(100):
        if {w.id async for w in env.client.list_workflows(query)} >= expected:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"visibility never listed {expected}")


async def _text_appearing(page, text: str) -> str:
    """The page's visible text, frames included, once it shows ``text``.

    The UI renders summaries and details as Markdown inside sandboxed frames.
    """
    body = ""
    for _ in range(60):
        parts = []
        for frame in page.frames:
            try:
                parts.append(await frame.inner_text("body", timeout=1000))
            except Exception:  # a frame still loading has no body yet
                continue
        body = "\n".join(parts)
        if text in body:
            return body
        await page.wait_for_timeout(500)
    raise AssertionError(f"{text!r} never appeared; the page said: {body[:500]}")


async def test_operations_filter_services_by_policy_in_the_temporal_ui() -> None:
    assert Path(CHROMIUM).is_file(), (
        f"{CHROMIUM} is missing: the browser test needs Debian's chromium "
        "(scripts/ensure-chromium.sh, i.e. apt-get install -y chromium)"
    )
    ui_port = _free_port()
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=temporal_cli_path(),
        search_attributes=sa.ALL,
        runtime=quiet_runtime(),
        ui=True,
        ui_port=ui_port,
    )
    try:
        ledger = MemoryLedger()
        async with Worker(
            env.client,
            task_queue="ui",
            workflows=[ServiceLifecycleWorkflow],
            activities=ServiceActivities(ledger, ledger, ledger, ledger).all(),
        ):
            ps_kz = await _start(env, "ps-kz", Money.of("2500", "KZT"), "ui")
            smartape = await _start(env, "smartape", Money.of("20", "EUR"), "ui")
            await _visible(env, "OfertaServiceState = 'active'", {ps_kz, smartape})

            query = "OfertaPolicy = 'ps-kz' AND ExecutionStatus = 'Running'"
            url = f"http://127.0.0.1:{ui_port}/namespaces/default/workflows?query={quote(query)}"
            OUTPUT.mkdir(exist_ok=True)
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    page = await browser.new_page(viewport={"width": 1400, "height": 900})
                    await page.goto(url)
                    await page.get_by_text(ps_kz).first.wait_for(timeout=30_000)
                    await page.screenshot(path=str(OUTPUT / "temporal-ui-filter.png"), full_page=True)
                    listed = await page.content()
                    assert ps_kz in listed
                    assert smartape not in listed, "the filter by OfertaPolicy keeps SmartApe out"

                    # The service's own page says its state and next step in words, with the clause.
                    run_id = (await env.client.get_workflow_handle(ps_kz).describe()).run_id
                    await page.goto(
                        f"http://127.0.0.1:{ui_port}/namespaces/default/workflows/{ps_kz}/{run_id}/history"
                    )
                    # The timer the workflow waits on is named after its step and its basis: the
                    # renewal's timing is the provider's choice, and says so.
                    await page.get_by_text("issue_invoice (operational, not a contract term)").first.wait_for(
                        timeout=30_000
                    )
                    await page.get_by_text("User Metadata").first.click()
                    # Summary and current details: the state, the next step, its date and clause.
                    details = await _text_appearing(page, "next: issue invoice")
                    await page.screenshot(path=str(OUTPUT / "temporal-ui-service.png"), full_page=True)
                    assert "active; next: issue invoice at" in details
                    assert "(operational, not a contract term)" in details
                    assert "ps-kz hosting service" in details
                finally:
                    await browser.close()
            for workflow in (ps_kz, smartape):
                await env.client.get_workflow_handle(workflow).terminate("test over")
    finally:
        await env.shutdown()
