"""The activities the lifecycle workflow calls, bound to their back ends.

Each back end is an interface with a real implementation (SMTP/Twilio, HTTP
provisioning, the database) and an in-memory one for the time machine and
tests. Every request carries an idempotency key the back end enforces.
"""

from __future__ import annotations

from typing import Protocol

from temporalio import activity
from temporalio.exceptions import ApplicationError

from oferta.effects import (
    ImportBatch,
    ImportBatchResult,
    NoticeRequest,
    NoticeResult,
    PolicyVersionRef,
    ProvisioningRequest,
    ProvisioningResult,
    RefundRequest,
    RefundResult,
    TimelineRecord,
    WebhookRound,
    WebhookRoundResult,
)
from oferta.policy.schema import Policy
from oferta.timeline.safeguards import Permit, PermitRequest


class NoticeSender(Protocol):
    async def send(self, request: NoticeRequest) -> NoticeResult: ...


class Provisioner(Protocol):
    async def apply(self, request: ProvisioningRequest) -> ProvisioningResult: ...


class RefundGateway(Protocol):
    async def pay(self, request: RefundRequest) -> RefundResult: ...


class TimelineRecorder(Protocol):
    async def record(self, record: TimelineRecord) -> None: ...


class Guard(Protocol):
    async def permit(self, request: PermitRequest) -> Permit: ...


class Importer(Protocol):
    async def __call__(self, batch: ImportBatch) -> ImportBatchResult: ...


class WebhookDeliveries(Protocol):
    async def deliver_round(self, request: WebhookRound) -> WebhookRoundResult: ...


class PolicyStore(Protocol):
    async def load(self, ref: PolicyVersionRef) -> Policy: ...


class _GrantAll:
    async def permit(self, request: PermitRequest) -> Permit:
        return Permit(granted=True)


class ServiceActivities:
    def __init__(
        self,
        notices: NoticeSender,
        provisioner: Provisioner,
        refunds: RefundGateway,
        recorder: TimelineRecorder,
        guard: Guard | None = None,
        importer: Importer | None = None,
        webhooks: WebhookDeliveries | None = None,
        policies: PolicyStore | None = None,
    ) -> None:
        self.notices = notices
        self.provisioner = provisioner
        self.refunds = refunds
        self.recorder = recorder
        # Without a guard (the time machine, most tests) every destructive step is permitted;
        # the notice safeguard still applies, since it needs nothing but the workflow's state.
        self.guard: Guard = guard or _GrantAll()
        self.importer = importer
        self.webhooks = webhooks
        self.policies = policies

    @activity.defn(name="send_notice")
    async def send_notice(self, request: NoticeRequest) -> NoticeResult:
        return await self.notices.send(request)

    @activity.defn(name="provision")
    async def provision(self, request: ProvisioningRequest) -> ProvisioningResult:
        return await self.provisioner.apply(request)

    @activity.defn(name="request_refund")
    async def request_refund(self, request: RefundRequest) -> RefundResult:
        return await self.refunds.pay(request)

    @activity.defn(name="record_timeline")
    async def record_timeline(self, record: TimelineRecord) -> None:
        """Short and idempotent (each entry once by its key, activities/recorder.py): a local activity."""
        await self.recorder.record(record)

    @activity.defn(name="request_permit")
    async def request_permit(self, request: PermitRequest) -> Permit:
        return await self.guard.permit(request)

    @activity.defn(name="import_batch")
    async def import_batch(self, batch: ImportBatch) -> ImportBatchResult:
        if self.importer is None:
            raise ApplicationError("this worker takes no imports", type="NoImporter", non_retryable=True)
        return await self.importer(batch)

    @activity.defn(name="deliver_webhooks")
    async def deliver_webhooks(self, request: WebhookRound) -> WebhookRoundResult:
        if self.webhooks is None:
            raise ApplicationError("this worker delivers no webhooks", type="NoWebhooks", non_retryable=True)
        return await self.webhooks.deliver_round(request)

    @activity.defn(name="load_policy_version")
    async def load_policy_version(self, ref: PolicyVersionRef) -> Policy:
        """A published version of a policy, for a service told of an amendment."""
        from oferta.db.policy_versions import VersionNotFound

        if self.policies is None:
            raise ApplicationError(
                "this worker keeps no policy versions", type="NoVersions", non_retryable=True
            )
        try:
            return await self.policies.load(ref)
        except VersionNotFound as exc:
            raise ApplicationError(str(exc), type="VersionNotFound", non_retryable=True) from None

    def all(self) -> list:
        # One registration serves both uses: record_timeline runs as a local activity (in the worker
        # that runs the workflow, which must register it) and, in runs from before the patch, as an
        # ordinary one.
        return [
            self.deliver_webhooks,
            self.import_batch,
            self.send_notice,
            self.provision,
            self.request_refund,
            self.record_timeline,
            self.request_permit,
            self.load_policy_version,
        ]
