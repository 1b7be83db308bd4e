"""A worker that dies right after a notice went out: the new worker does not send it again.

The real workflow on a real Temporal server, the ledger sender with real SMTP.
The first worker's send succeeds (the customer has the email) and then the
worker dies before Temporal hears of it; Temporal retries the activity on a new
worker, which finds the notice in the ledger and does not send it again.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Worker

from activities.memory import MemoryLedger
from activities.service_activities import ServiceActivities
from oferta.db.migrate import upgrade
from oferta.db.models import Notice
from oferta.db.session import session_scope
from oferta.effects import NoticeRequest, NoticeResult
from oferta.notices.email import EmailSender
from oferta.notices.ledger import LedgerNoticeSender
from oferta.notices.sms import SmsSender
from oferta.policy import load_policy
from oferta.timeline.money import Money
from oferta.timeline.state import ServiceSpec
from tests.notices.conftest import add_customer
from workflows.service_lifecycle import ServiceLifecycleWorkflow, ServiceWorkflowInput, workflow_id


def invoice_email_start(history: WorkflowHistory):
    """The started event of the send_notice activity for the invoice email (the one that ran)."""
    scheduled = {
        e.event_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == "send_notice"
        and any(
            b'"invoice_issued"' in p.data and b'"email"' in p.data
            for p in e.activity_task_scheduled_event_attributes.input.payloads
        )
    }
    [started] = [
        e.activity_task_started_event_attributes
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.scheduled_event_id in scheduled
    ]
    return started


class DiesAfterSending:
    """The first worker: the send completes, then the process is gone before it reports."""

    def __init__(self, inner: LedgerNoticeSender) -> None:
        self.inner = inner
        self.sent = asyncio.Event()

    async def send(self, request: NoticeRequest) -> NoticeResult:
        await self.inner.send(request)
        self.sent.set()
        raise RuntimeError("worker killed after the send, before the completion reached Temporal")


async def test_the_new_worker_finds_the_notice_sent_and_does_not_resend(
    dev_env, settings, smtp, task_queue, tmp_path: Path
):
    inbox, _ = smtp
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade(url)
    add_customer(url, "c-crash", email="crash@example.kz", phone=None)
    ledger = LedgerNoticeSender(url, EmailSender(settings), SmsSender(settings))
    others = MemoryLedger()
    service_id = f"crash-{uuid.uuid4().hex[:6]}"
    spec = ServiceSpec(
        service_id=service_id,
        customer_id="c-crash",
        policy_id="ps-kz",
        tariff="Basic",
        price=Money.of("2500", "KZT"),
    )
    dying = DiesAfterSending(ledger)
    # No sticky cache, so the next workflow task is not held for the dead worker.
    async with Worker(
        dev_env.client,
        task_queue=task_queue,
        workflows=[ServiceLifecycleWorkflow],
        activities=ServiceActivities(dying, others, others, others).all(),
        max_cached_workflows=0,
    ):
        handle = await dev_env.client.start_workflow(
            ServiceLifecycleWorkflow.run,
            ServiceWorkflowInput(policy=load_policy("ps-kz"), spec=spec),
            id=workflow_id(service_id),
            task_queue=task_queue,
        )
        await asyncio.wait_for(dying.sent.wait(), 30)
    assert len(inbox.to("crash@example.kz")) == 1  # the customer already has the invoice

    # A new worker takes the task queue over; Temporal retries the notice there.
    async with Worker(
        dev_env.client,
        task_queue=task_queue,
        workflows=[ServiceLifecycleWorkflow],
        activities=ServiceActivities(ledger, others, others, others).all(),
    ):
        for _ in range(400):
            timeline = await handle.query(ServiceLifecycleWorkflow.timeline)
            if any(e.type.value == "notice" for e in timeline):
                break
            await asyncio.sleep(0.1)
        notice = next((e for e in timeline if e.type.value == "notice"), None)
        assert notice is not None, "the retried notice completed"
        assert notice.detail["status"] == "sent" and notice.detail["template"] == "invoice_issued"
        history = await handle.fetch_history()
        await handle.terminate("test over")
    assert invoice_email_start(history).attempt == 2, "the send_notice activity really was retried"
    assert len(inbox.to("crash@example.kz")) == 1, "and the customer got the email once"
    with session_scope(url) as session:
        rows = session.scalars(select(Notice)).all()
        assert [(r.status, r.attempts) for r in rows] == [("sent", 1)]


async def said(process: asyncio.subprocess.Process, word: bytes) -> bytes:
    """The worker process's first output line that starts with ``word``."""
    while not (line := await process.stdout.readline()).startswith(word):
        assert line, f"the worker process exited before saying {word!r}"
    return line


async def test_a_worker_process_killed_after_the_send_is_replaced_and_the_email_goes_once(
    dev_env, smtp, settings, task_queue, tmp_path: Path
):
    """A real worker process, SIGKILLed after its email went out and the ledger recorded it but
    before Temporal heard back: the activity times out, a new worker retries it, nothing is resent.

    Real time: Temporal learns of a dead worker only from the send's 60 s start-to-close timeout
    (the time-skipping server does not skip while an activity is running), so this takes ~70 s.
    """
    inbox, port = smtp
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade(url)
    add_customer(url, "c-kill", email="kill@example.kz", phone=None)
    target = dev_env.client.service_client.config.target_host
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.notices.crash_worker",
        target,
        task_queue,
        url,
        str(port),
        stdout=asyncio.subprocess.PIPE,
        cwd=Path(__file__).parents[2],
    )
    service_id = f"kill-{uuid.uuid4().hex[:6]}"
    spec = ServiceSpec(
        service_id=service_id,
        customer_id="c-kill",
        policy_id="ps-kz",
        tariff="Basic",
        price=Money.of("2500", "KZT"),
    )
    try:
        await asyncio.wait_for(said(process, b"READY"), 30)
        # This worker runs the workflow only; the process above runs the activities.
        async with Worker(dev_env.client, task_queue=task_queue, workflows=[ServiceLifecycleWorkflow]):
            handle = await dev_env.client.start_workflow(
                ServiceLifecycleWorkflow.run,
                ServiceWorkflowInput(policy=load_policy("ps-kz"), spec=spec),
                id=workflow_id(service_id),
                task_queue=task_queue,
            )
            line = await asyncio.wait_for(said(process, b"SENT"), 30)
            assert line.strip().endswith(b"sent"), line
            process.kill()
            await process.wait()
            assert len(inbox.to("kill@example.kz")) == 1  # the customer has the invoice

            ledger = LedgerNoticeSender(url, EmailSender(settings), SmsSender(settings))
            others = MemoryLedger()
            async with Worker(
                dev_env.client,
                task_queue=task_queue,
                activities=ServiceActivities(ledger, others, others, others).all(),
            ):
                # After the send's 60 s start-to-close timeout and the retry's 5 s backoff.
                notice = None
                for _ in range(1000):  # polls the condition "the retried notice completed"
                    timeline = await handle.query(ServiceLifecycleWorkflow.timeline)
                    notice = next((e for e in timeline if e.type.value == "notice"), None)
                    if notice:
                        break
                    await asyncio.sleep(0.1)
                assert notice is not None, "the retried notice completed on the new worker"
                history = await handle.fetch_history()
                await handle.terminate("test over")
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert notice.detail["status"] == "sent" and notice.detail["template"] == "invoice_issued"
    started = invoice_email_start(history)
    assert started.attempt == 2 and "StartToClose" in str(started.last_failure), started
    assert len(inbox.to("kill@example.kz")) == 1, "and the customer got the email once"
    with session_scope(url) as session:
        assert [(r.status, r.attempts) for r in session.scalars(select(Notice)).all()] == [("sent", 1)]
