"""Builds the worker's activities from settings: the one place back ends are chosen."""

from __future__ import annotations

from activities.db_backends import (
    DatabaseRecorder,
    DatabaseRefundGateway,
    HttpProvisioner,
    LocalProvisioner,
)
from activities.memory import MemoryLedger
from activities.service_activities import ServiceActivities
from oferta.db.migrate import upgrade
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
        # TODO(notices): replace this ONE argument with the notice-ledger sender (SMTP/Twilio).
        notices=MemoryLedger(),
        provisioner=provisioner,
        refunds=DatabaseRefundGateway(url),
        recorder=DatabaseRecorder(url),
    )
