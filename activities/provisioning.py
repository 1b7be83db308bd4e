"""Provisioning back ends: by hand (recorded once per key) or through the hosting panel's HTTP API.

A repeated key never calls twice: the call is recorded under its idempotency key first.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

import httpx
from sqlalchemy import select
from temporalio.exceptions import ApplicationError

from oferta.db.models import (
    ProvisioningCall,
)
from oferta.db.once import insert_once, short_hash
from oferta.db.session import session_scope
from oferta.effects import (
    ProvisioningRequest,
    ProvisioningResult,
)

log = logging.getLogger("oferta.activities.provisioning")


class LocalProvisioner:
    """Provisioning done by hand (or by nothing): the call is recorded, once per key."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url

    async def apply(self, request: ProvisioningRequest) -> ProvisioningResult:
        return await asyncio.to_thread(self._apply, request)

    def _apply(self, request: ProvisioningRequest) -> ProvisioningResult:
        reference = f"local-{request.action}-{short_hash(request.idempotency_key)}"
        with session_scope(self.url) as session:
            inserted = _record_call(session, request, reference)
            row = _call(session, request.idempotency_key)
        return ProvisioningResult(
            idempotency_key=request.idempotency_key,
            status="done" if inserted else "already_done",
            reference=row.reference,
        )


def _record_call(session: Any, request: ProvisioningRequest, reference: str | None) -> bool:
    return insert_once(
        session,
        ProvisioningCall,
        idempotency_key=request.idempotency_key,
        service_id=request.service_id,
        action=request.action,
        clause=request.clause,
        status="done",
        reference=reference,
    )


def _call(session: Any, key: str) -> ProvisioningCall:
    return session.scalars(select(ProvisioningCall).where(ProvisioningCall.idempotency_key == key)).one()


class HttpProvisioner:
    """Calls the hosting platform: POST {base_url}/services/{id}/{action} with an Idempotency-Key.

    Before a deletion it asks for ``archive`` (a snapshot; its reference is kept in the
    timeline); a platform without archives answers 404, 405 or 501 and the deletion goes on.

    4xx is a refusal for good (non-retryable); 5xx, 408, 429 and network errors are
    retried by Temporal. A key already on record is not sent again.
    """

    RETRYABLE_4XX = {408, 425, 429}
    # Answers to "archive" that mean the platform has no such operation.
    NO_ARCHIVES = {404, 405, 501}

    def __init__(self, base_url: str, database_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.url = database_url
        self.timeout = timeout

    async def apply(self, request: ProvisioningRequest) -> ProvisioningResult:
        done = await asyncio.to_thread(self._lookup, request.idempotency_key)
        if done is not None:
            return ProvisioningResult(
                idempotency_key=request.idempotency_key, status="already_done", reference=done
            )
        body = {
            "service_id": request.service_id,
            "kind": request.kind,
            "action": request.action,
            "clause": request.clause,
            "at": request.at.isoformat(),
        }
        url = f"{self.base_url}/services/{request.service_id}/{request.action}"
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(
                    url, json=body, headers={"Idempotency-Key": request.idempotency_key}
                )
        except httpx.HTTPError as exc:
            raise ApplicationError(
                f"provisioning {request.action} unreachable: {type(exc).__name__}",
                type="ProvisioningUnavailable",
            ) from exc
        status = response.status_code
        if request.action == "archive" and status in self.NO_ARCHIVES:
            # The platform keeps no archives: the deletion goes ahead, and the timeline says so.
            return ProvisioningResult(idempotency_key=request.idempotency_key, status="unsupported")
        if 400 <= status < 500 and status not in self.RETRYABLE_4XX:
            raise ApplicationError(
                f"provisioning refused {request.action}: HTTP {status}",
                type="ProvisioningRefused",
                non_retryable=True,
            )
        if status >= 400:
            raise ApplicationError(
                f"provisioning {request.action} failed: HTTP {status}", type="ProvisioningUnavailable"
            )
        reference = _reference_from(response)
        return await asyncio.to_thread(self._store, request, reference, _remote_status(response))

    def _lookup(self, key: str) -> str | None:
        with session_scope(self.url) as session:
            query = select(ProvisioningCall).where(ProvisioningCall.idempotency_key == key)
            row = session.scalars(query).first()
            return (row.reference or "") if row else None

    def _store(
        self, request: ProvisioningRequest, reference: str | None, remote: Literal["done", "already_done"]
    ) -> ProvisioningResult:
        with session_scope(self.url) as session:
            inserted = _record_call(session, request, reference)
            row = _call(session, request.idempotency_key)
        status: Literal["done", "already_done"] = remote if inserted else "already_done"
        return ProvisioningResult(
            idempotency_key=request.idempotency_key, status=status, reference=row.reference
        )


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _reference_from(response: httpx.Response) -> str | None:
    data = _json(response)
    value = data.get("reference") or data.get("id")
    return str(value)[:200] if value is not None else None


def _remote_status(response: httpx.Response) -> Literal["done", "already_done"]:
    return "already_done" if _json(response).get("status") == "already_done" else "done"
