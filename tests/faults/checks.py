"""What "nothing lost, nothing doubled" means, read back from every place it shows.

Each payment: its ``payment_received`` entries in the workflow's timeline (a query)
and in the database mirror, its row in the payments ledger and in the billing inputs.
Each timeline entry: its row in the database mirror, by its key, once.
Each notice: its ledger row (``sent``) and the messages the SMTP sink received with
its Message-ID (derived from the notice's idempotency key).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

import httpx
from sqlalchemy import func, select
from temporalio.client import Client

from oferta.db.models import BillingEventRecord, Notice, Payment, ProvisioningCall, TimelineEvent
from oferta.db.session import session_scope
from oferta.notices.email import message_id
from oferta.timeline.state import TimelineEntry
from tests.fakes.smtp import Inbox
from workflows.client import service_handle
from workflows.service_lifecycle import ServiceLifecycleWorkflow


@dataclass
class Ledger:
    """Per service: what the database says happened."""

    timeline_payments: Counter[str]
    payments: Counter[str]
    paid: dict[str, Decimal]
    inputs: Counter[str]
    activations: Counter[str]
    notices: list[Notice]


def read_ledger(url: str, service_ids: Iterable[str]) -> Ledger:
    ids = list(service_ids)

    def count(column, *where) -> Counter[str]:
        with session_scope(url) as session:
            rows = session.execute(
                select(column, func.count()).where(column.in_(ids), *where).group_by(column)
            ).all()
        return Counter({service_id: n for service_id, n in rows})

    with session_scope(url) as session:
        paid = dict(
            session.execute(
                select(Payment.service_id, func.sum(Payment.amount))
                .where(Payment.service_id.in_(ids))
                .group_by(Payment.service_id)
            ).all()
        )
        notices = list(session.scalars(select(Notice).where(Notice.service_id.in_(ids))))
        session.expunge_all()
    return Ledger(
        timeline_payments=count(TimelineEvent.service_id, TimelineEvent.type == "payment_received"),
        payments=count(Payment.service_id),
        paid=paid,
        inputs=count(BillingEventRecord.service_id, BillingEventRecord.type == "payment"),
        activations=count(ProvisioningCall.service_id, ProvisioningCall.action == "activate"),
        notices=notices,
    )


def timeline_keys(url: str, service_ids: Iterable[str]) -> dict[str, Counter[str]]:
    """Per service: the database mirror's entry keys, each with the rows that carry it."""
    ids = list(service_ids)
    found: dict[str, Counter[str]] = {i: Counter() for i in ids}
    with session_scope(url) as session:
        for service_id, key in session.execute(
            select(TimelineEvent.service_id, TimelineEvent.entry_key).where(TimelineEvent.service_id.in_(ids))
        ):
            found[service_id][key] += 1
    return found


def renumbered(url: str, service_ids: Iterable[str]) -> int:
    """Timeline rows whose sequence number another row of the service has too: the mark of a write
    re-run after a crash with its entries grouped and numbered otherwise (harmless by key)."""
    with session_scope(url) as session:
        rows = session.execute(
            select(TimelineEvent.service_id, TimelineEvent.sequence, func.count())
            .where(TimelineEvent.service_id.in_(list(service_ids)))
            .group_by(TimelineEvent.service_id, TimelineEvent.sequence)
            .having(func.count() > 1)
        ).all()
    return sum(n for _, _, n in rows)


def assert_each_notice_sent_once(
    ledger: Ledger, inbox: Inbox, mail_from: str, *, cut_by_a_kill: bool = False
) -> Counter[str]:
    """Every notice in the ledger is ``sent`` and reached the SMTP server exactly once, and nothing
    else reached it. Returns the ledger's notices counted by template.

    ``cut_by_a_kill``: a worker was SIGKILLed. SMTP cannot be asked whether a message went
    through, so a send the kill cut off between the server's 250 and the ledger's ``sent`` is
    sent again under the same Message-ID (README, "Exactly once"). Allowed then, and only
    for a notice the ledger shows tried again, one copy per try.
    """
    unsent = [(n.idempotency_key, n.status, n.error) for n in ledger.notices if n.status != "sent"]
    assert not unsent, f"{len(unsent)} notices not sent: {unsent[:5]}"
    domain = mail_from.rpartition("@")[2]
    tries = {message_id(n.idempotency_key, domain): n.attempts for n in ledger.notices}
    received = Counter(m["Message-ID"] for m in inbox.messages)
    assert set(received) == set(tries), (
        f"missing from the mail server: {len(set(tries) - set(received))}, "
        f"unknown to the ledger: {len(set(received) - set(tries))}"
    )
    doubled = {mid: n for mid, n in received.items() if n > 1}
    if cut_by_a_kill:
        beyond = {mid: (n, tries[mid]) for mid, n in doubled.items() if n > tries[mid] or tries[mid] < 2}
        assert not beyond, f"copies beyond the tries the kill explains (copies, tries): {beyond}"
    else:
        assert not doubled, f"{len(doubled)} notices reached the mail server more than once"
    return Counter(n.template for n in ledger.notices)


def copies(inbox: Inbox) -> int:
    """Messages the SMTP server received beyond the first of each Message-ID."""
    return len(inbox.messages) - len({m["Message-ID"] for m in inbox.messages})


async def timelines(client: Client, service_ids: Iterable[str]) -> dict[str, list[TimelineEntry]]:
    """Each service's timeline as its workflow answers the query (a stuck workflow fails here)."""

    async def one(service_id: str) -> list[TimelineEntry]:
        return await service_handle(client, service_id).query(ServiceLifecycleWorkflow.timeline)

    ids = list(service_ids)
    return dict(zip(ids, await asyncio.gather(*(one(i) for i in ids)), strict=True))


async def pending_activities(client: Client, service_ids: Iterable[str]) -> int:
    """Activities still scheduled or running across the services' workflows."""
    described = await asyncio.gather(*(service_handle(client, i).describe() for i in service_ids))
    return sum(len(d.raw_description.pending_activities) for d in described)


async def terminate(client: Client, service_ids: Iterable[str]) -> None:
    await asyncio.gather(
        *(service_handle(client, i).terminate("fault test over") for i in service_ids),
        return_exceptions=True,
    )


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> float:
    """Poll ``check`` once a second until it holds; returns the seconds it took."""
    start = time.monotonic()
    while not await check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        await asyncio.sleep(1)  # polls the condition named by ``what``
    return time.monotonic() - start


@dataclass
class Answer:
    """A billing input as billing sees it: the final answer, after retries of 5xx answers."""

    response: httpx.Response
    tries: int
    server_errors: int
    seconds: float


async def post_until_answered(
    http: httpx.AsyncClient, path: str, body: dict, key: str, timeout: float = 150.0
) -> Answer:
    """What a billing system does: POST with an Idempotency-Key and, on a 5xx (no worker answered
    in time) or 409 in_progress, retry the same request with the same key."""
    start = time.monotonic()
    tries = errors = 0
    while True:
        tries += 1
        response = await http.post(path, json=body, headers={"Idempotency-Key": key})
        retry = response.status_code >= 500 or (
            response.status_code == 409 and response.json().get("code") == "in_progress"
        )
        if not retry:
            return Answer(response, tries, errors, time.monotonic() - start)
        errors += response.status_code >= 500
        assert time.monotonic() - start < timeout, f"{path} {key}: still {response.status_code}"
        await asyncio.sleep(1)  # billing's back-off before the retry
