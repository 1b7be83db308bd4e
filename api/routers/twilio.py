"""Twilio's delivery status callbacks: they update the notice ledger's delivery status."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Request, Response
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from api.errors import ApiError
from oferta.db.models import Notice, utcnow
from oferta.db.session import session_scope
from workflows.client import WorkflowCallError, report_sms_delivered

router = APIRouter(tags=["twilio"])
log = logging.getLogger("oferta.api")


@router.post(
    "/v1/twilio/status",
    status_code=204,
    response_class=Response,
    summary="Delivery status of an SMS (called by Twilio, signed with the auth token)",
)
async def status_callback(request: Request) -> Response:
    state = request.app.state.oferta
    settings = state.settings
    # Twilio posts application/x-www-form-urlencoded ASCII; parsed here, no multipart parser
    # needed. Other bytes cannot carry a valid signature: replaced, then refused below.
    form = dict(parse_qsl((await request.body()).decode("utf-8", errors="replace"), keep_blank_values=True))
    # Always checked: an unsigned callback could mark any notice delivered (or failed).
    signature = request.headers.get("X-Twilio-Signature", "")
    url = settings.twilio_status_callback_url or str(request.url)
    if not RequestValidator(settings.twilio_auth_token).validate(url, form, signature):
        raise HTTPException(403, "bad Twilio signature")
    sid, status = form.get("MessageSid"), form.get("MessageStatus")
    if not sid or not status:
        raise HTTPException(422, "MessageSid and MessageStatus are required")

    def update(session) -> tuple[str, str] | None:
        row = session.scalars(select(Notice).where(Notice.provider_message_id == sid)).first()
        if row is None:
            return None
        row.delivery_status = str(status)[:32]
        if status in ("failed", "undelivered"):
            row.error = f"Twilio {status}: {form.get('ErrorCode', '')}".strip()
        row.updated_at = utcnow()
        return row.service_id, row.template

    def run() -> tuple[str, str] | None:
        with session_scope(settings.effective_database_url) as session:
            return update(session)

    notice = await asyncio.to_thread(run)
    if notice is None:
        raise HTTPException(404, f"no notice with message SID {sid}")
    if status == "delivered":
        # A step held until the customer was told (a deletion, say) may run now.
        service_id, template = notice
        try:
            await report_sms_delivered(await state.client(), service_id, template)
        except (WorkflowCallError, ApiError) as err:
            # The ledger has it; a held step waits for the next notice that gets through.
            log.warning("delivery of %s not reported to service %s: %s", template, service_id, err)
    return Response(status_code=204)
