"""Asking a policy's guard (workflows/guard.py) whether a destructive step may run.

The service workflow cannot send an update to another workflow, so an activity does. This
back end adds the figures the breaker weighs (open services, the last billing input, read
from the database) and hands the request to ``ask``: the worker wires in
``workflows.client.ask_guard`` (update-with-start on the guard workflow).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from oferta.settings import Settings
from oferta.timeline.safeguards import BreakerSettings, Permit, PermitRequest

AskGuard = Callable[[PermitRequest], Awaitable[Permit]]


@dataclass(frozen=True)
class FeedStats:
    open_services: int
    last_billing_input: datetime | None


class FedGuard:
    """Asks the policy's guard with the billing feed's figures."""

    def __init__(self, ask: AskGuard, feed: Callable[[str], FeedStats], settings: BreakerSettings) -> None:
        self.ask = ask
        self.feed = feed
        self.settings = settings

    async def permit(self, request: PermitRequest) -> Permit:
        stats = await asyncio.to_thread(self.feed, request.policy_id)
        return await self.ask(
            request.model_copy(
                update={
                    "open_services": stats.open_services,
                    "last_billing_input": stats.last_billing_input,
                    "settings": self.settings,
                }
            )
        )


def breaker_settings(settings: Settings) -> BreakerSettings:
    hours = settings.guard_feed_silence_hours
    return BreakerSettings(
        window=timedelta(minutes=settings.guard_window_minutes),
        max_share=settings.guard_max_share,
        min_steps=settings.guard_min_steps,
        feed_silence=timedelta(hours=hours) if hours else None,
    )
