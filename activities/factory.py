"""Builds the worker's activities from settings: the one place back ends are chosen."""

from __future__ import annotations

from activities.provisioning import HttpProvisioner, LocalProvisioner
from activities.recorder import DatabaseRecorder
from activities.refunds import DatabaseRefundGateway
from activities.service_activities import ServiceActivities
from oferta.db.migrate import upgrade
from oferta.notices.email import EmailSender
from oferta.notices.ledger import LedgerNoticeSender
from oferta.notices.sms import SmsSender
from oferta.settings import Settings


def build_activities(settings: Settings) -> ServiceActivities:
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
    )
