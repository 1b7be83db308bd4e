"""The mail server is down while notices are due: billing is not held up, and once it is back
every notice is delivered exactly once.

Real processes on loopback: the Temporal dev server, the production worker in its own
process, the API, PostgreSQL and the aiosmtpd sink, which the test stops (connections
refused) right before billing sends payments, and starts again on the same port.

Notices go out in the background under NOTICE_RETRY (workflows/service_lifecycle.py:
5 s, doubling, 8 attempts — tries at 0, 5, 15, 35, 75, 155, 315 and 635 s). The short
outage (12 s) ends between the second and third try, so everything is delivered about
15 s after the outage began; the soak (10 minutes, ``-m soak``) ends 35 s before the
eighth and last try: an outage longer than ~10.5 minutes fails the notices due at its
start for good (``failed`` in the ledger and the timeline).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.api.harness import new_customer, new_service, oferta
from tests.faults.checks import (
    Answer,
    assert_each_notice_sent_once,
    pending_activities,
    post_until_answered,
    read_ledger,
    terminate,
    timelines,
    wait_until,
)
from tests.faults.worker_process import WorkerProcess

SERVICES = 5
# Two payments per service (1000, then 1500 pays the 2500 invoice): payment_received twice and
# activated, three notices each while the mail server is down.
AMOUNTS = ("1000", "1500")


@pytest.mark.parametrize(
    ("outage", "second_payment_at"),
    [
        pytest.param(12.0, 0.0, id="12s"),
        # Second payments halfway through: their notices start their own retries mid-outage.
        pytest.param(600.0, 300.0, id="10min", marks=[pytest.mark.soak, pytest.mark.timeout(1200)]),
    ],
)
async def test_notices_wait_out_a_mail_outage_and_billing_does_not(
    dev_env, pg_url, mail, tmp_path: Path, outage: float, second_payment_at: float
):
    started = time.monotonic()
    async with oferta(dev_env, pg_url, with_worker=False, smtp_port=mail.port) as api:
        worker = await WorkerProcess(api.settings, tmp_path / "worker.log").start()
        ids: list[str] = []
        try:
            await worker.ready()
            async with api.http("billing") as http:

                async def open_service(n: int) -> str:
                    customer = await new_customer(http, email=f"smtp-{n}@example.kz", phone=None)
                    return (await new_service(http, customer["id"], price="2500"))["id"]

                ids = list(await asyncio.gather(*(open_service(n) for n in range(SERVICES))))

                async def invoices_sent() -> bool:
                    return len(mail.inbox.messages) == SERVICES

                await wait_until(invoices_sent, 30, "the invoices delivered before the outage")

                mail.down()
                down_at = time.monotonic()

                async def pay(service_id: str, n: int) -> Answer:
                    return await post_until_answered(
                        http,
                        f"/v1/services/{service_id}/payments",
                        {"amount": AMOUNTS[n], "currency": "KZT"},
                        f"pay-{service_id}-{n}",
                    )

                answers = list(await asyncio.gather(*(pay(sid, 0) for sid in ids)))
                await asyncio.sleep(max(0.0, down_at + second_payment_at - time.monotonic()))
                answers += await asyncio.gather(*(pay(sid, 1) for sid in ids))
                paid_at = time.monotonic() - down_at

                # Billing was answered at once, while no notice could go out.
                assert [(a.response.status_code, a.tries) for a in answers] == [(200, 1)] * len(answers)
                slowest = max(a.seconds for a in answers)
                assert slowest < 5, f"a payment took {slowest:.1f} s while the mail server was down"

                due = SERVICES * len(AMOUNTS) + SERVICES  # payment_received twice, activated once

                async def all_failed_once() -> bool:
                    notices = read_ledger(api.database_url, ids).notices
                    return sum(n.status == "failed" for n in notices) == due

                # The ledger shows what operations would see: each notice failed, with the reason.
                await wait_until(all_failed_once, max(outage - paid_at - 1, 1), "each due notice tried once")
                failed = [n for n in read_ledger(api.database_url, ids).notices if n.status == "failed"]
                errors = {(n.error or "").partition(":")[0] for n in failed}
                assert errors == {"SMTPConnectError"}, errors
                assert len(mail.inbox.messages) == SERVICES

                await asyncio.sleep(max(0.0, down_at + outage - time.monotonic()))
                mail.up()
                up_at = time.monotonic()

                async def delivered() -> bool:
                    ledger = read_ledger(api.database_url, ids)
                    return (
                        sum(n.status == "sent" for n in ledger.notices) == SERVICES + due
                        and await pending_activities(api.temporal, ids) == 0
                    )

                # The next try after the outage: at most one retry interval (≤ 320 s) later.
                await wait_until(delivered, 60 if outage < 60 else 400, "every notice delivered")
                delivered_at = time.monotonic()

                views = [(await http.get(f"/v1/services/{sid}")).json() for sid in ids]
            assert {(v["state"], v["debt"]["amount"]) for v in views} == {("active", "0.00")}

            ledger = read_ledger(api.database_url, ids)
            by_template = assert_each_notice_sent_once(ledger, mail.inbox, api.settings.mail_from)
            assert by_template == {
                "invoice_issued": SERVICES,
                "payment_received": SERVICES * len(AMOUNTS),
                "activated": SERVICES,
            }
            tries = sorted(n.attempts for n in ledger.notices if n.template != "invoice_issued")
            assert tries[0] >= 2, "every notice due in the outage failed at least once first"
            assert ledger.timeline_payments == {sid: len(AMOUNTS) for sid in ids}
            for sid, entries in (await timelines(api.temporal, ids)).items():
                notices = [e.detail for e in entries if e.type.value == "notice"]
                assert [n["status"] for n in notices] == ["sent"] * (1 + len(AMOUNTS) + 1), (sid, notices)
            print(
                f"\nsmtp down {outage:.0f} s: {len(answers)} payments answered in "
                f"{min(a.seconds for a in answers):.2f}-{slowest:.2f} s during the outage; "
                f"{due} notices failed first (tries {tries[0]}-{tries[-1]}), all delivered "
                f"{delivered_at - up_at:.1f} s after the mail server returned "
                f"({delivered_at - down_at:.1f} s after it went down), each once; "
                f"test {time.monotonic() - started:.1f} s"
            )
        finally:
            await terminate(api.temporal, ids)
            await worker.stop()
