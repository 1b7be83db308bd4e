"""Racing duplicates over 10 services (1 000 with -m soak, 400 in ./test): each payment applied
once, every duplicate answered alike.

Billing retries: the same payment arrives many times at once with the same Idempotency-Key,
and through two API keys (two billing integrations, or one rotating its key). The event id
is the Idempotency-Key, so the second API key's request is the same billing event under
a separate idempotency record: the API runs it again and the workflow (the update id is
the event id) applies it once. Real HTTP on loopback (uvicorn), PostgreSQL, and the worker
in its own process as deployed (sharing the API's event loop, the burst starved it: 59 of
1000 answers were 503 after the 15 s update timeout).

Sizes: 10 services × 5 payments × 8 sends = 400 requests in ./test (15-20 s); × 20 = 1000
with -m soak (25-55 s on two shared cores: the answers wait for the one API process; the
same 50 payments sent twice each take 4.5 s).

Checked: no 5xx; every answer 200 (or the documented 409 ``in_progress`` for a duplicate that
waited longer than IN_PROGRESS_WAIT); per API key and Idempotency-Key one request ran and
every other one replayed its body byte for byte; each payment once in the workflow's
timeline, the database mirror and the payments ledger; each notice once at the SMTP sink.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from oferta.db.api_keys import create_key
from tests.api.harness import new_customer, new_service, oferta
from tests.faults.checks import (
    assert_each_notice_sent_once,
    pending_activities,
    read_ledger,
    terminate,
    timelines,
    wait_until,
)
from tests.faults.worker_process import WorkerProcess

SERVICES = 10
PAYMENTS = 5  # per service, 1000 KZT each: the first 2500 invoice is paid by the third
AMOUNT = Decimal("1000")


@pytest.mark.parametrize(
    "sends",  # of each payment, half through each API key, all at once
    [pytest.param(8, id="400-requests"), pytest.param(20, id="1000-requests", marks=pytest.mark.soak)],
)
async def test_racing_duplicates_apply_each_payment_once(dev_env, pg_url, mail, tmp_path: Path, sends: int):
    started = time.monotonic()
    async with oferta(dev_env, pg_url, with_worker=False, serve=True, smtp_port=mail.port) as api:
        api.keys["billing-2"] = (await asyncio.to_thread(create_key, pg_url, "billing-2", ["billing"]))[1]
        # The worker in its own process, as deployed: not on the event loop serving the burst.
        worker = await WorkerProcess(api.settings, tmp_path / "worker.log").start()
        ids: list[str] = []
        try:
            await worker.ready()
            async with api.http("billing") as http:

                async def open_service(n: int) -> str:
                    customer = await new_customer(http, email=f"dup-{n}@example.kz", phone=None)
                    return (await new_service(http, customer["id"], price="2500"))["id"]

                ids = list(await asyncio.gather(*(open_service(n) for n in range(SERVICES))))

            # Two integrations, each with room for every duplicate at once (httpx's default is 100).
            clients = {
                name: httpx.AsyncClient(
                    base_url=api.base_url,
                    headers={"Authorization": f"Bearer {api.keys[name]}"},
                    limits=httpx.Limits(max_connections=500),
                    timeout=120,  # the burst takes ~30 s on two busy cores
                )
                for name in ("billing", "billing-2")
            }
            payments = [(sid, f"bank-tx-{uuid.uuid4().hex[:8]}") for sid in ids for _ in range(PAYMENTS)]
            targets = [(api_key, sid, key) for sid, key in payments for api_key in clients]

            async def send(api_key: str, service_id: str, key: str) -> tuple[str, str, httpx.Response, float]:
                t = time.monotonic()
                response = await clients[api_key].post(
                    f"/v1/services/{service_id}/payments",
                    json={"amount": str(AMOUNT), "currency": "KZT"},
                    headers={"Idempotency-Key": key},
                )
                return api_key, key, response, time.monotonic() - t

            racing = time.monotonic()
            try:
                results = await asyncio.gather(
                    *(send(a, s, k) for a, s, k in targets for _ in range(sends // len(clients)))
                )
            finally:
                for client in clients.values():
                    await client.aclose()
            raced = time.monotonic() - racing
            assert len(results) == SERVICES * PAYMENTS * sends

            statuses = Counter(r.status_code for _, _, r, _ in results)
            assert not [s for s in statuses if s >= 500], statuses
            waited_out = [r for _, _, r, _ in results if r.status_code == 409]
            assert all(r.json()["code"] == "in_progress" for r in waited_out), [r.text for r in waited_out]
            assert set(statuses) <= {200, 409}, statuses

            # Per API key and Idempotency-Key: one ran, the others replayed its answer exactly.
            groups: dict[tuple[str, str], list[httpx.Response]] = defaultdict(list)
            for api_key, key, response, _ in results:
                if response.status_code == 200:
                    groups[(api_key, key)].append(response)
            assert len(groups) == SERVICES * PAYMENTS * len(clients), (
                "every payment answered 200 at least once"
            )
            for (api_key, key), answers in groups.items():
                assert len({r.content for r in answers}) == 1, (api_key, key)
                fresh = [r for r in answers if r.headers.get("Idempotent-Replayed") != "true"]
                assert len(fresh) == 1, (api_key, key, len(fresh))
                body = answers[0].json()
                assert body["event_id"] == key and body["type"] == "payment" and body["applied"]
            # Across API keys the event is the same one: the same receipt from the workflow.
            for _, key in payments:
                first, second = (groups[(a, key)][0].json() for a in clients)
                assert (first["event_id"], first["applied"]) == (second["event_id"], second["applied"])

            # Each payment applied once: the workflows' timelines and the database.
            shown = await timelines(api.temporal, ids)
            for sid, entries in shown.items():
                paid = [e.detail["event_id"] for e in entries if e.type.value == "payment_received"]
                assert len(paid) == len(set(paid)) == PAYMENTS, (sid, paid)

            async def settled() -> bool:
                sent = sum(n.status == "sent" for n in read_ledger(api.database_url, ids).notices)
                return sent == SERVICES * (PAYMENTS + 2) and await pending_activities(api.temporal, ids) == 0

            await wait_until(settled, 60, "every notice sent")
            ledger = read_ledger(api.database_url, ids)
            want = {sid: PAYMENTS for sid in ids}
            assert ledger.timeline_payments == want
            assert ledger.payments == want
            assert ledger.inputs == want
            assert ledger.paid == {sid: AMOUNT * PAYMENTS for sid in ids}
            assert ledger.activations == {sid: 1 for sid in ids}
            by_template = assert_each_notice_sent_once(ledger, mail.inbox, api.settings.mail_from)
            assert by_template == {
                "invoice_issued": SERVICES,
                "payment_received": SERVICES * PAYMENTS,
                "activated": SERVICES,
            }
            async with api.http("billing") as http:
                views = [(await http.get(f"/v1/services/{sid}")).json() for sid in ids]
            # 5 × 1000 paid, 2500 invoiced: 2500 left on the balance, once.
            assert {(v["state"], v["debt"]["amount"], v["balance"]["amount"]) for v in views} == {
                ("active", "0.00", "2500.00")
            }
            seconds = sorted(t for *_, t in results)
            print(
                f"\nduplicates: {len(results)} requests for {len(groups) // len(clients)} payments "
                f"raced in {raced:.1f} s: {dict(statuses)}; answer p50 {seconds[len(seconds) // 2]:.2f} s, "
                f"max {seconds[-1]:.2f} s; test {time.monotonic() - started:.1f} s"
            )
        finally:
            await terminate(api.temporal, ids)
            await worker.stop()
