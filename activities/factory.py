"""Builds the worker's activities from settings: the one place back ends are chosen."""

from __future__ import annotations

from activities.memory import MemoryLedger
from activities.service_activities import ServiceActivities
from oferta.settings import Settings


def build_activities(settings: Settings) -> ServiceActivities:
    # TODO(persistence, notices): replace the in-memory back ends with the
    # database ledger, SMTP/Twilio senders and the provisioning client.
    ledger = MemoryLedger()
    return ServiceActivities(
        notices=ledger, provisioner=ledger, refunds=ledger, recorder=ledger
    )
