"""The worker process is SIGKILLed while payments stream in: nothing is lost, nothing doubled.

Real processes on loopback: the Temporal dev server, the production worker (``python
worker.py``, its activities on PostgreSQL and a real SMTP sink) in a process of its own,
and the API, through which billing sends every payment with its own Idempotency-Key and
retries a 5xx answer with the same key, as a billing system does. Midway the worker is
killed (SIGKILL: no shutdown, its running activities are simply gone) and a new worker
process started. Then: every payment applied exactly once (the workflow's timeline, the
database mirror, the payments ledger, the billing inputs, the balance), every entry of every
workflow's timeline in the database mirror once by its key and nothing else there (the writes
are local activities: one cut off by the kill runs again, its entries maybe regrouped), every notice
in the ledger once and ``sent``, and at the SMTP sink once per Message-ID — except an email
the kill cut off between the server's 250 and the ledger's ``sent``: SMTP cannot be asked
whether it went, so it goes again under the same Message-ID (README, "Exactly once"); the
test allows that copy only for a notice the ledger shows tried again. Every workflow
answers its query, active, with no activity left pending.

Time: an activity that was running on the killed worker is retried only after its
start-to-close timeout (record_timeline 30 s, send_notice 60 s; there is no heartbeat
timeout), so the test lasts about 70 s whatever its size. The payments are ordered so the
activations (provision, 2-minute timeout) come last, after the kill.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from tests.api.harness import new_customer, new_service, oferta
from tests.faults.checks import (
    Answer,
    assert_each_notice_sent_once,
    copies,
    pending_activities,
    post_until_answered,
    read_ledger,
    renumbered,
    terminate,
    timeline_keys,
    timelines,
    wait_until,
)
from tests.faults.worker_process import WorkerProcess

PRICE = Decimal("2500")


@pytest.mark.parametrize(
    ("services", "per_service"),
    [
        pytest.param(20, 5, id="100-payments"),
        pytest.param(50, 10, id="500-payments", marks=pytest.mark.soak),
    ],
)
async def test_a_killed_worker_loses_and_doubles_nothing(
    dev_env, pg_url, mail, tmp_path: Path, services: int, per_service: int
):
    amount = PRICE / per_service  # the last payment pays the first invoice: activations come last
    started = time.monotonic()
    async with oferta(dev_env, pg_url, with_worker=False, smtp_port=mail.port) as api:
        workers = [await WorkerProcess(api.settings, tmp_path / "worker-1.log").start()]
        ids: list[str] = []
        try:
            await workers[0].ready()
            async with api.http("billing") as http:

                async def open_service(n: int) -> str:
                    customer = await new_customer(http, email=f"kill-{n}@example.kz", phone=None)
                    return (await new_service(http, customer["id"], price=str(PRICE)))["id"]

                ids = list(await asyncio.gather(*(open_service(n) for n in range(services))))
                # Round robin: every service's k-th payment before any (k+1)-th.
                payments = [(sid, f"bank-tx-{sid}-{k}") for k in range(per_service) for sid in ids]
                answered = 0
                in_flight = asyncio.Semaphore(20)
                halfway = asyncio.Event()

                async def pay(service_id: str, key: str) -> Answer:
                    nonlocal answered
                    async with in_flight:
                        answer = await post_until_answered(
                            http,
                            f"/v1/services/{service_id}/payments",
                            {"amount": str(amount), "currency": "KZT"},
                            key,
                        )
                    answered += 1
                    if answered >= len(payments) * 2 // 5:
                        halfway.set()
                    return answer

                async def kill_and_replace() -> float:
                    await halfway.wait()  # 40 % answered, 20 more in flight
                    await workers[0].kill()
                    killed_at = time.monotonic()
                    workers.append(await WorkerProcess(api.settings, tmp_path / "worker-2.log").start())
                    await workers[1].ready()
                    return killed_at

                paying = time.monotonic()
                killed_at, *answers = await asyncio.gather(
                    kill_and_replace(), *(pay(sid, key) for sid, key in payments)
                )
                all_answered = time.monotonic()

            # Every payment answered 200 in the end (a 5xx while no worker ran is retried).
            statuses = {a.response.status_code for a in answers}
            assert statuses == {200}, [a.response.text for a in answers if a.response.status_code != 200][:3]
            assert all(a.response.json()["applied"] for a in answers)
            server_errors = sum(a.server_errors for a in answers)

            # Wait for the activities the dead worker held: retried after their timeouts.
            expected_notices = services * (per_service + 2)  # invoice, each payment, activation

            async def settled() -> bool:
                ledger = read_ledger(api.database_url, ids)
                # A step's record is a local activity written after its notices: wait for it too.
                recorded = sum(ledger.timeline_payments.values()) == services * per_service
                return (
                    recorded
                    and sum(n.status == "sent" for n in ledger.notices) == expected_notices
                    and len(mail.inbox.messages) >= expected_notices
                    and await pending_activities(api.temporal, ids) == 0
                )

            await wait_until(settled, 200, "every notice sent and no activity pending")
            settled_at = time.monotonic()

            # Nothing lost, nothing doubled: the workflows' own timelines ...
            shown = await timelines(api.temporal, ids)
            for sid, entries in shown.items():
                paid = [e for e in entries if e.type.value == "payment_received"]
                assert len(paid) == per_service, (sid, [e.detail for e in paid])
                assert len({e.detail["event_id"] for e in paid}) == per_service
                assert sum(1 for e in entries if e.type.value == "activated") == 1, sid
                notices = [e for e in entries if e.type.value == "notice"]
                assert len(notices) == per_service + 2 and {e.detail["status"] for e in notices} == {"sent"}

            # ... the database: each of those entries once by its key, and no entry they lack ...
            async def mirrored() -> bool:
                wanted = {sid: Counter(e.key for e in entries) for sid, entries in shown.items()}
                return timeline_keys(api.database_url, ids) == wanted

            with contextlib.suppress(AssertionError):  # the last writes follow the last notices
                await wait_until(mirrored, 30, "every timeline entry in the database")
            recorded = timeline_keys(api.database_url, ids)
            for sid, entries in shown.items():
                assert all(e.key for e in entries), sid
                wanted = Counter(e.key for e in entries)
                assert recorded[sid] == wanted, (
                    sid,
                    f"missing {sorted(wanted - recorded[sid])}, extra or doubled {sorted(recorded[sid] - wanted)}",
                )
            ledger = read_ledger(api.database_url, ids)
            want = {sid: per_service for sid in ids}
            assert ledger.timeline_payments == want
            assert ledger.payments == want
            assert ledger.inputs == want
            assert ledger.paid == {sid: PRICE for sid in ids}
            assert ledger.activations == {sid: 1 for sid in ids}
            # ... the mail server ...
            by_template = assert_each_notice_sent_once(
                ledger, mail.inbox, api.settings.mail_from, cut_by_a_kill=True
            )
            assert by_template == {
                "invoice_issued": services,
                "payment_received": services * per_service,
                "activated": services,
            }
            # ... and the services as billing sees them: active, paid exactly once, nothing owed.
            async with api.http("billing") as http:
                views = [(await http.get(f"/v1/services/{sid}")).json() for sid in ids]
            assert {(v["state"], v["live"], v["debt"]["amount"], v["balance"]["amount"]) for v in views} == {
                ("active", True, "0.00", "0.00")
            }
            # Notices the kill cut off mid-send: tried again on the new worker.
            retried = sum(n.attempts > 1 for n in ledger.notices)
            print(
                f"\nworker killed: {len(payments)} payments over {services} services; "
                f"killed after {killed_at - paying:.1f} s, all answered after {all_answered - paying:.1f} s "
                f"({server_errors} 5xx answers retried, slowest payment "
                f"{max(a.seconds for a in answers):.1f} s), settled {settled_at - killed_at:.1f} s "
                f"after the kill; {expected_notices} notices, {retried} cut off mid-send and sent again, "
                f"{copies(mail.inbox)} of them had reached the mail server before the kill; "
                f"{renumbered(api.database_url, ids)} timeline rows share their number with another "
                f"(writes re-run with entries regrouped); "
                f"test {time.monotonic() - started:.1f} s"
            )
        finally:
            await terminate(api.temporal, ids)
            for worker in workers:
                await worker.stop()
