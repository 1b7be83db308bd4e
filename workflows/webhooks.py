"""The webhook dispatcher: delivers the outbox the timeline recorder fills, round after round.

One per deployment (id ``webhooks-<task queue>``). Each round is a ``deliver_webhooks``
activity (activities/webhooks.py: claim due rows, post them signed, write each outcome down);
between rounds the workflow sleeps ``poll_seconds`` unless woken by the ``wake`` signal (the
API sends it, as signal-with-start, when an endpoint is created or enabled). It ends when no
endpoint is enabled, and continues as new to keep its history bounded. Why an outbox and
this workflow rather than an activity per delivery in the service workflow: oferta/webhooks.py.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from oferta.effects import WebhookRound, WebhookRoundResult

WORKFLOW_NAME = "WebhookDispatcher"
# Rounds per run before continuing as new: about ten history events each.
ROUNDS_PER_RUN = 200


class DispatcherInput(BaseModel):
    poll_seconds: float = Field(default=5.0, gt=0)
    batch: int = Field(default=100, ge=1)


@workflow.defn(name=WORKFLOW_NAME)
class WebhookDispatcher:
    @workflow.init
    def __init__(self, input: DispatcherInput) -> None:
        self._woken = False

    @workflow.run
    async def run(self, input: DispatcherInput) -> None:
        for _ in range(ROUNDS_PER_RUN):
            self._woken = False
            result = await workflow.execute_activity(
                "deliver_webhooks",
                WebhookRound(limit=input.batch),
                result_type=WebhookRoundResult,
                # A round is bounded by rows per endpoint × the request timeout.
                start_to_close_timeout=timedelta(minutes=5),
                retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)),
                summary="deliver due webhooks",
            )
            if result.more:
                continue  # a full round: more are due now
            if result.enabled_endpoints == 0 and not self._woken:
                # Nothing to deliver to. A subscription made meanwhile is not lost: its
                # signal-with-start either wakes this run (seen above) or starts a new one.
                return
            if workflow.info().is_continue_as_new_suggested():
                break
            try:
                await workflow.wait_condition(
                    lambda: self._woken, timeout=timedelta(seconds=input.poll_seconds)
                )
            except TimeoutError:
                pass  # the poll interval passed with no wake-up: look again
        workflow.continue_as_new(input)

    @workflow.signal(name="wake")
    def wake(self) -> None:
        """Look for due deliveries now (an endpoint was created or enabled)."""
        self._woken = True
