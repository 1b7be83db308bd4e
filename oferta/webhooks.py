"""Signed outbound webhooks: every timeline entry, sent to the endpoints subscribed to its type.

Billing, the hosting panel and a CRM follow services' timelines without polling the API.
This module is the pure part: secrets, the Standard Webhooks signature, the event's id and
body, which targets are allowed, and the retry schedule.

Design (why an outbox and one dispatcher workflow)
--------------------------------------------------
* **The outbox.** The ``record_timeline`` activity (activities/recorder.py) writes one
  ``webhook_deliveries`` row per (endpoint, event) in the same transaction as the
  ``timeline_events`` rows. An entry is therefore queued exactly when it is recorded, never
  twice (UNIQUE(endpoint_id, event_id)), and the service workflow's commands do not change:
  running histories replay as they are, no ``workflow.patched`` needed.
* **The dispatcher.** One long-running ``WebhookDispatcher`` workflow per deployment
  (id ``webhooks-<task queue>``, workflows/webhooks.py) loops: a ``deliver_webhooks`` activity
  claims due rows (a lease on ``next_attempt_at``, so two dispatchers on one database never
  post the same row at once), posts them with httpx, and marks each delivered or due again
  after a backoff (30 s doubling to 1 h) while it fails; an event failing for 24 h disables its
  endpoint (status and reason), and operations enable it again through the API. While nothing
  is due the activity polls the database every few seconds (configurable) for up to a minute,
  heartbeating, instead of a workflow timer per poll (ten history events each, and the dev
  server's timers tick by the second); the workflow continues as new to keep its history
  bounded. An activity per delivery started from the service workflow would have needed a
  change to that workflow's commands, and a retry schedule of 24 h inside every service's
  history; the outbox keeps both out of it.
* **Starting it.** The API starts the dispatcher (signal-with-start, so a running one is only
  woken) when an endpoint is created or enabled, and the worker at start-up when enabled
  endpoints exist. The dispatcher ends itself when no endpoint is enabled, so a deployment
  without webhooks runs no poller; the signal-with-start of the next subscription cannot be
  lost to that end (a workflow cannot complete with a signal it has not seen).
* **At least once.** A worker that dies between the POST and the mark posts that event
  again after the lease: receivers deduplicate by ``webhook-id``, which is the same on every
  attempt (the service id and a digest of the entry's key, oferta/timeline/entry_keys.py: the
  same for the entry however the write that recorded it was grouped; entries recorded without a
  key, by runs from before keys, keep the service id and sequence number).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from oferta.timeline import entry_keys

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the spec asks for 24 to 64 random bytes
ALL_TYPES = "*"


def generate_secret() -> str:
    """A new signing secret: ``whsec_`` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_…`` secret; ValueError when it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a secret starts with whsec_")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the part after whsec_ is not base64") from None
    if not 24 <= len(key) <= 64:
        raise ValueError("a secret holds 24 to 64 bytes (base64 after whsec_)")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` header: ``v1,`` and base64(HMAC-SHA256(key, id.timestamp.body))."""
    signed = f"{msg_id}.{timestamp}.{body}".encode()
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def event_id(service_id: str, entry_key: str) -> str:
    """The ``webhook-id``: one per timeline entry, the same on every attempt and endpoint.

    ``evt_<service>_k<digest of the entry key>`` (a key is up to 300 characters of anything); an
    entry keyed by position (``seq:<n>``, a run from before keys) keeps its old id,
    ``evt_<service>_<n>``."""
    sequence = entry_keys.sequence_of(entry_key)
    if sequence is not None:
        return f"evt_{service_id}_{sequence}"
    return f"evt_{service_id}_k{hashlib.sha256(entry_key.encode()).hexdigest()[:32]}"


def body(
    *,
    type: str,
    at: datetime,
    service_id: str,
    customer_id: str,
    policy_id: str,
    sequence: int,
    clause: str | None,
    detail: dict[str, Any],
    state: str,
    policy_version: int | None = None,
) -> str:
    """The JSON sent: the spec's envelope (type, timestamp, data), the entry in ``data``."""
    payload = {
        "type": type,
        "timestamp": at.isoformat(),
        "data": {
            "service_id": service_id,
            "customer_id": customer_id,
            "policy_id": policy_id,
            "sequence": sequence,
            "clause": clause,
            "detail": detail,
            "state": state,  # the service's state once this record was written
            "policy_version": policy_version,  # the version of the policy that governed the step
        },
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)


def subscribed(event_types: list[str], type: str) -> bool:
    return ALL_TYPES in event_types or type in event_types


def target_problem(url: str, allow_private: bool) -> str | None:
    """Why ``url`` may not receive webhooks, or None. Loopback, private and link-local
    addresses are refused unless ``allow_private``: an API key must not become a way into the
    internal network (names are checked again, resolved, before each delivery)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "must be an http:// or https:// URL"
    host = parts.hostname
    if not host:
        return "must name a host"
    if _documentation_name(host.rstrip(".")):
        return f"{host} is a documentation name (RFC 2606): nothing receives webhooks there"
    if allow_private:
        return None
    if host == "localhost" or host.endswith(".localhost"):
        return "points at this machine; set OFERTA_WEBHOOKS_ALLOW_PRIVATE=true to allow it"
    return address_problem(host)


def _documentation_name(host: str) -> bool:
    """Names reserved for examples, which no receiver answers: refused even in development, so
    an example copied from the documentation (or a fuzzer's) never sends a request anywhere."""
    return host.endswith((".example", ".invalid")) or any(
        host == domain or host.endswith("." + domain)
        for domain in ("example.com", "example.net", "example.org")
    )


def address_problem(host: str) -> str | None:
    """Why an IP address may not receive webhooks (not a public one), or None (also for names)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if not address.is_global:
        return (
            f"{address} is a loopback, private or reserved address; "
            "set OFERTA_WEBHOOKS_ALLOW_PRIVATE=true to allow it"
        )
    return None


def backoff(attempts: int, first: float, cap: float) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: doubling, capped."""
    return min(cap, first * 2 ** max(0, min(attempts - 1, 40)))
