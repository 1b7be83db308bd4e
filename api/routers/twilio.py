"""Twilio's delivery status callbacks: they update the notice ledger's delivery status."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Request, Response
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from oferta.db.models import Notice, utcnow
from oferta.db.session import session_scope

router = APIRouter(tags=["twilio"])


@router.post(
    "/v1/twilio/status",
    status_code=204,
    response_class=Response,
    summary="Delivery status of an SMS (called by Twilio, signed with the auth token)",
)
async def status_callback(request: Request) -> Response:
    state = request.app.state.oferta
    settings = state.settings
    # Twilio posts application/x-www-form-urlencoded; parsed here, no multipart parser needed.
    form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
    if settings.twilio_validate_signature:
        signature = request.headers.get("X-Twilio-Signature", "")
        url = settings.twilio_status_callback_url or str(request.url)
        if not RequestValidator(settings.twilio_auth_token).validate(url, form, signature):
            raise HTTPException(403, "bad Twilio signature")
    sid, status = form.get("MessageSid"), form.get("MessageStatus")
    if not sid or not status:
        raise HTTPException(422, "MessageSid and MessageStatus are required")

    def update(session) -> bool:
        row = session.scalars(select(Notice).where(Notice.provider_message_id == sid)).first()
        if row is None:
            return False
        row.delivery_status = str(status)[:32]
        if status in ("failed", "undelivered"):
            row.error = f"Twilio {status}: {form.get('ErrorCode', '')}".strip()
        row.updated_at = utcnow()
        return True

    def run() -> bool:
        with session_scope(settings.effective_database_url) as session:
            return update(session)

    if not await asyncio.to_thread(run):
        raise HTTPException(404, f"no notice with message SID {sid}")
    return Response(status_code=204)
