"""A worker process for the SIGKILL test: it sends notices through the real ledger sender and,
once a notice is sent and written to the ledger, prints SENT and hangs, so the test can kill
it before the activity's completion ever reaches Temporal.

    python -m tests.notices.crash_worker TARGET TASK_QUEUE DATABASE_URL SMTP_PORT
"""

from __future__ import annotations

import asyncio
import sys

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from activities.memory import MemoryLedger
from activities.service_activities import ServiceActivities
from oferta.effects import NoticeRequest, NoticeResult
from oferta.notices.email import EmailSender
from oferta.notices.ledger import LedgerNoticeSender
from oferta.notices.sms import SmsSender
from oferta.settings import Settings
from oferta.temporal import quiet_runtime


class HangsAfterSending:
    def __init__(self, inner: LedgerNoticeSender) -> None:
        self.inner = inner

    async def send(self, request: NoticeRequest) -> NoticeResult:
        result = await self.inner.send(request)
        print(f"SENT {request.idempotency_key} {result.status}", flush=True)
        await asyncio.Event().wait()  # until SIGKILL
        return result


async def main(target: str, task_queue: str, database_url: str, smtp_port: int) -> None:
    client = await Client.connect(target, data_converter=pydantic_data_converter, runtime=quiet_runtime())
    settings = Settings(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_port, OFERTA_MAIL_FROM="billing@ps.example")
    sender = HangsAfterSending(LedgerNoticeSender(database_url, EmailSender(settings), SmsSender(settings)))
    others = MemoryLedger()
    worker = Worker(
        client, task_queue=task_queue, activities=ServiceActivities(sender, others, others, others).all()
    )
    print("READY", flush=True)
    await worker.run()


if __name__ == "__main__":
    target, queue, url, port = sys.argv[1:5]
    asyncio.run(main(target, queue, url, int(port)))
