"""The notice sender behind the ``send_notice`` activity: each notice sent at most once.

The ``notices`` table's UNIQUE idempotency key (workflow id, period, event,
channel) is claimed before anything is sent; a row already ``sent`` is answered
from the ledger, so a retried activity or a restarted worker never sends twice.

A notice tried before (a row left ``sending`` by a worker that died mid-send, or
``failed`` when Twilio's answer was lost): for SMS, Twilio is asked whether a
message with this body went to this number since the row was claimed (a SID another
notice owns does not count), and only if not is it sent again; for email (SMTP has
no such question) it is sent again with the same Message-ID, by which mail clients
and providers' inboxes recognise the copy.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast

from sqlalchemy import select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from oferta.db.models import Customer, Notice, utcnow
from oferta.db.once import insert_once, utc
from oferta.db.session import session_scope
from oferta.effects import NoticeRequest, NoticeResult
from oferta.notices.email import EmailSender, PermanentEmailError
from oferta.notices.render import RenderedNotice, render
from oferta.notices.sms import PermanentSmsError, SmsSender
from oferta.policy.schema import Channel


@dataclass(frozen=True)
class Claim:
    status: str
    locale: str | None
    provider_message_id: str | None
    created_at: datetime
    attempts: int
    recipient: str | None
    preview: str | None


@dataclass(frozen=True)
class Contact:
    email: str | None
    phone: str | None
    locale: str


class LedgerNoticeSender:
    def __init__(
        self, database_url: str, email: EmailSender, sms: SmsSender, status_callback_url: str | None = None
    ) -> None:
        self.url = database_url
        self.email = email
        self.sms = sms
        self.status_callback_url = status_callback_url

    async def send(self, request: NoticeRequest) -> NoticeResult:
        claim = await asyncio.to_thread(self._claim, request)
        if claim.status in ("sent", "skipped"):
            done = cast(Literal["sent", "skipped"], claim.status)  # the row's column is a plain string
            return self._result(request, done, claim.locale, claim.provider_message_id, claim.preview)
        contact = await asyncio.to_thread(self._contact, request.customer_id)
        address = None
        if contact:
            address = contact.email if request.channel is Channel.EMAIL else contact.phone
        if not address:
            await asyncio.to_thread(
                self._mark,
                request.idempotency_key,
                status="skipped",
                error=f"the customer has no {request.channel.value} address",
            )
            return self._result(request, "skipped", contact.locale if contact else None, None)
        assert contact is not None  # an address came from it
        notice = render(request, contact.locale)
        if claim.attempts and request.channel is Channel.SMS:
            # An earlier attempt died mid-send or lost Twilio's answer: did the SMS go out?
            others = await asyncio.to_thread(self._known_sids, address, request.idempotency_key)
            already = await self.sms.find_sent(address, notice.sms, claim.created_at, exclude=others)
            if already:
                await asyncio.to_thread(
                    self._mark,
                    request.idempotency_key,
                    status="sent",
                    provider_message_id=already,
                    sent_at=utcnow(),
                )
                return self._result(request, "sent", notice.locale, already, notice.sms)
        await asyncio.to_thread(self._sending, request.idempotency_key, address, notice)
        try:
            provider_id = await self._deliver(request, address, notice)
        except (PermanentEmailError, PermanentSmsError) as exc:
            await asyncio.to_thread(self._mark, request.idempotency_key, status="failed", error=str(exc))
            raise ApplicationError(str(exc), type="InvalidRecipient", non_retryable=True) from exc
        except Exception as exc:
            # Retried by the activity's retry policy; shown as failed until a retry succeeds.
            await asyncio.to_thread(
                self._mark, request.idempotency_key, status="failed", error=f"{type(exc).__name__}: {exc}"
            )
            raise
        await asyncio.to_thread(
            self._mark,
            request.idempotency_key,
            status="sent",
            provider_message_id=provider_id,
            sent_at=utcnow(),
            error=None,
        )
        preview = notice.subject if request.channel is Channel.EMAIL else notice.sms
        return self._result(request, "sent", notice.locale, provider_id, preview)

    async def _deliver(self, request: NoticeRequest, address: str, notice: RenderedNotice) -> str:
        if request.channel is Channel.EMAIL:
            return await self.email.send(address, notice, request.idempotency_key)
        return await self.sms.send(address, notice.sms, self.status_callback_url)

    # -- the ledger ---------------------------------------------------------------

    def _claim(self, request: NoticeRequest) -> Claim:
        with session_scope(self.url) as session:
            insert_once(
                session,
                Notice,
                idempotency_key=request.idempotency_key,
                service_id=request.service_id,
                customer_id=request.customer_id,
                template=request.template.value,
                channel=request.channel.value,
                clause=request.clause,
                status="pending",
                attempts=0,
                contract_time=request.at,
                created_at=utcnow(),
                updated_at=utcnow(),
            )
            row = session.scalars(
                select(Notice).where(Notice.idempotency_key == request.idempotency_key)
            ).one()
            preview = row.subject if row.channel == Channel.EMAIL.value else row.body
            return Claim(
                row.status,
                row.locale,
                row.provider_message_id,
                utc(row.created_at),
                row.attempts,
                row.recipient,
                preview,
            )

    def _contact(self, customer_id: str) -> Contact | None:
        with session_scope(self.url) as session:
            customer = session.get(Customer, customer_id)
            if customer is None:
                return None
            return Contact(customer.email, customer.phone, customer.locale)

    def _known_sids(self, recipient: str, key: str) -> set[str]:
        """SIDs other notices to this number already own: never taken for this one."""
        with session_scope(self.url) as session:
            return set(
                session.scalars(
                    select(Notice.provider_message_id).where(
                        Notice.recipient == recipient,
                        Notice.idempotency_key != key,
                        Notice.provider_message_id.is_not(None),
                    )
                )
            )

    def _sending(self, key: str, recipient: str, notice: RenderedNotice) -> None:
        with session_scope(self.url) as session:
            row = session.scalars(select(Notice).where(Notice.idempotency_key == key)).one()
            row.status = "sending"
            row.attempts += 1
            row.recipient = recipient
            row.locale = notice.locale
            row.subject = notice.subject
            row.body = notice.text if row.channel == Channel.EMAIL.value else notice.sms
            row.updated_at = utcnow()

    def _mark(self, key: str, **values) -> None:
        with session_scope(self.url) as session:
            row = session.scalars(select(Notice).where(Notice.idempotency_key == key)).one()
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = utcnow()

    @staticmethod
    def _result(
        request: NoticeRequest,
        status: Literal["sent", "failed", "skipped"],
        locale: str | None,
        provider_id: str | None,
        preview: str | None = None,
    ) -> NoticeResult:
        if activity.in_activity():
            activity.logger.info("notice %s by %s: %s", request.template.value, request.channel.value, status)
        return NoticeResult(
            idempotency_key=request.idempotency_key,
            status=status,
            channel=request.channel,
            template=request.template,
            locale=locale,
            provider_message_id=provider_id,
            preview=preview,
            # SMTP's acceptance is delivery; an SMS waits for Twilio's status callback.
            delivered=status == "sent" and request.channel is Channel.EMAIL,
        )
