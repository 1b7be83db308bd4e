"""The webhook dispatcher: delivers the outbox the timeline recorder fills, round after round.

One per deployment (id ``webhooks-<task queue>``). Each round is a ``deliver_webhooks``
activity (activities/webhooks.py): it claims due rows, posts them signed and writes each
outcome down; while nothing is due it polls the database every ``poll_seconds``, heartbeating,
for up to ``wait_seconds``, then returns. The waiting between polls is done there rather than
with workflow timers: a timer per poll costs about ten history events (some 170 000 a day at
5 s) and the dev server fires timers on a one-second tick, while an activity that polls for a
minute costs six events and answers within one poll. The workflow ends when no endpoint is
enabled, and continues as new to keep its history bounded. The ``wake`` signal (sent by the
API as signal-with-start when an endpoint is created or enabled) keeps a run that is about to
end alive. Why an outbox and this workflow rather than an activity per delivery in the
service workflow: oferta/webhooks.py.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from oferta.effects import WebhookRound, WebhookRoundResult

WORKFLOW_NAME = "WebhookDispatcher"
# Rounds per run before continuing as new: about six history events each.
ROUNDS_PER_RUN = 500


class DispatcherInput(BaseModel):
    poll_seconds: float = Field(default=5.0, gt=0)
    wait_seconds: float = Field(default=60.0, gt=0)
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
                WebhookRound(
                    limit=input.batch, poll_seconds=input.poll_seconds, wait_seconds=input.wait_seconds
                ),
                result_type=WebhookRoundResult,
                # The wait, then a round bounded by rows per endpoint × the request timeout.
                start_to_close_timeout=timedelta(seconds=input.wait_seconds) + timedelta(minutes=5),
                # Heartbeats come with every poll and every post: a worker that died is noticed.
                heartbeat_timeout=timedelta(seconds=max(60.0, 3 * input.poll_seconds)),
                retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)),
                summary="deliver due webhooks",
            )
            if not result.more and result.enabled_endpoints == 0 and not self._woken:
                # Nothing to deliver to. A subscription made meanwhile is not lost: its
                # signal-with-start either arrived (seen above) or starts a new run.
                return
            if workflow.info().is_continue_as_new_suggested():
                break
        workflow.continue_as_new(input)

    @workflow.signal(name="wake")
    def wake(self) -> None:
        """An endpoint was created or enabled: do not end for want of one."""
        self._woken = True
