"""Builds the worker's activities from settings: the one place back ends are chosen."""

from __future__ import annotations

from activities.guard import AskGuard, FedGuard, FeedStats, breaker_settings
from activities.provisioning import HttpProvisioner, LocalProvisioner
from activities.recorder import DatabaseRecorder
from activities.refunds import DatabaseRefundGateway
from activities.service_activities import Importer, ServiceActivities
from activities.webhooks import WebhookDeliverer, WebhookOptions
from oferta.db.migrate import upgrade
from oferta.db.policy_versions import DatabasePolicyStore
from oferta.db.repo import billing_feed
from oferta.notices.email import EmailSender
from oferta.notices.ledger import LedgerNoticeSender
from oferta.notices.sms import SmsSender
from oferta.settings import Settings


def build_activities(
    settings: Settings, ask_guard: AskGuard | None = None, importer: Importer | None = None
) -> ServiceActivities:
    """The real back ends; with ``ask_guard``, destructive steps ask the policy's guard; with
    ``importer``, the worker takes imports (POST /v1/imports)."""
    url = settings.effective_database_url
    # The worker may start before the API: make sure the tables exist (a no-op when they do).
    upgrade(url)
    if settings.provisioning_url:
        provisioner: HttpProvisioner | LocalProvisioner = HttpProvisioner(settings.provisioning_url, url)
    else:
        provisioner = LocalProvisioner(url)
    return ServiceActivities(
        notices=LedgerNoticeSender(
            url, EmailSender(settings), SmsSender(settings), settings.twilio_status_callback_url
        ),
        provisioner=provisioner,
        refunds=DatabaseRefundGateway(url),
        recorder=DatabaseRecorder(url),
        guard=_guard(settings, ask_guard, url) if ask_guard else None,
        importer=importer,
        webhooks=WebhookDeliverer(url, WebhookOptions.from_settings(settings)),
        policies=DatabasePolicyStore(url),
    )


def _guard(settings: Settings, ask: AskGuard, url: str) -> FedGuard:
    def feed(policy_id: str) -> FeedStats:
        return FeedStats(*billing_feed(url, policy_id))

    return FedGuard(ask, feed, breaker_settings(settings))
