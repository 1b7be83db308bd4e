"""The ``deliver_webhooks`` activity's back end: one round of the webhook dispatcher.

Claims due outbox rows (oferta/db/webhooks.py), posts each, signed per Standard Webhooks,
and writes the outcome down at once (a crash mid-round loses at most the rows in flight, which
go out again after their lease). Endpoints are served concurrently, each one's rows in order;
after a failure the rest of that endpoint's rows wait for the next round rather than each
waiting out a timeout. Logs name endpoints and event ids only, never a body.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from temporalio import activity

from oferta import webhooks
from oferta.db import webhooks as tables
from oferta.db.models import utcnow
from oferta.effects import WebhookRound, WebhookRoundResult
from oferta.settings import Settings

log = logging.getLogger("oferta.activities.webhooks")

PER_ENDPOINT = 20  # rows of one endpoint per round: with the timeout, bounds a round's length
LEASE = timedelta(minutes=5)  # longer than a round can take (the activity's start-to-close)
USER_AGENT = "Oferta-Webhooks/1"


@dataclass(frozen=True)
class WebhookOptions:
    retry: tables.Retry
    timeout: float
    allow_private: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookOptions:
        return cls(
            retry=tables.Retry(
                first=settings.webhooks_backoff_seconds,
                cap=settings.webhooks_max_backoff_seconds,
                give_up=settings.webhooks_give_up_seconds,
            ),
            timeout=settings.webhooks_timeout_seconds,
            allow_private=settings.webhooks_allow_private,
        )


class WebhookDeliverer:
    def __init__(self, database_url: str, options: WebhookOptions) -> None:
        self.url = database_url
        self.options = options

    async def deliver_round(self, request: WebhookRound) -> WebhookRoundResult:
        """Post what is due; while nothing is, poll the database (heartbeating) until the wait
        is over. Waiting here rather than in workflow timers keeps the latency to one poll and
        the dispatcher's history to a few events per wait (see workflows/webhooks.py)."""
        loop = asyncio.get_running_loop()
        until = loop.time() + request.wait_seconds
        while True:
            claims = await asyncio.to_thread(
                tables.claim_due, self.url, utcnow(), request.limit, PER_ENDPOINT, LEASE
            )
            if claims or loop.time() >= until:
                break
            activity.heartbeat()
            await asyncio.sleep(min(request.poll_seconds, max(0.0, until - loop.time())))
        result = WebhookRoundResult(claimed=len(claims), more=len(claims) >= request.limit)
        by_endpoint: dict[str, list[tables.Claim]] = defaultdict(list)
        for claim in claims:
            by_endpoint[claim.endpoint_id].append(claim)
        if by_endpoint:
            async with httpx.AsyncClient(timeout=self.options.timeout, follow_redirects=False) as http:
                outcomes = await asyncio.gather(*(self._serve(http, rows) for rows in by_endpoint.values()))
            for delivered, failed, disabled in outcomes:
                result.delivered += delivered
                result.failed += failed
                result.disabled += disabled
        result.enabled_endpoints = await asyncio.to_thread(tables.enabled_count, self.url)
        return result

    async def _serve(self, http: httpx.AsyncClient, claims: list[tables.Claim]) -> tuple[int, int, int]:
        """One endpoint's rows in order; stops at its first failure (the rest wait with it)."""
        delivered = 0
        for i, claim in enumerate(claims):
            outcome = await self._post(http, claim)
            now = utcnow()
            settled = await asyncio.to_thread(
                tables.settle, self.url, claim, outcome, now, self.options.retry
            )
            activity.heartbeat()
            if outcome.delivered:
                delivered += 1
                continue
            log.warning(
                "webhook %s to endpoint %s failed: %s", claim.event_id, claim.endpoint_id, outcome.error
            )
            if settled.gave_up:
                log.error("webhook endpoint %s disabled: failing for the whole window", claim.endpoint_id)
            await asyncio.to_thread(tables.release, self.url, claims[i + 1 :], settled.retry_at or now)
            return delivered, 1, int(settled.gave_up)
        return delivered, 0, 0

    async def _post(self, http: httpx.AsyncClient, claim: tables.Claim) -> tables.Outcome:
        refused = await self._refused_target(claim.url)
        if refused:
            return tables.Outcome(False, None, f"refused: {refused}")
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": claim.event_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": webhooks.sign(claim.secret, claim.event_id, timestamp, claim.body),
        }
        try:
            response = await http.post(claim.url, content=claim.body.encode(), headers=headers)
        except Exception as exc:  # any way the POST did not happen is a failed attempt (InvalidURL too)
            return tables.Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])
        if 200 <= response.status_code < 300:
            return tables.Outcome(True, response.status_code, None)
        return tables.Outcome(
            False, response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"
        )

    async def _refused_target(self, url: str) -> str | None:
        """The registration check again, with the name resolved now (a name may have been
        pointed at an internal address since)."""
        problem = webhooks.target_problem(url, self.options.allow_private)
        if problem or self.options.allow_private:
            return problem
        host = urlsplit(url).hostname or ""
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, None)
        except (OSError, UnicodeError, ValueError):
            return None  # unresolvable: the POST fails and is retried like any other failure
        for info in infos:
            problem = webhooks.address_problem(str(info[4][0]))
            if problem:
                return problem
        return None
