"""SMS through the twilio client (async), with a configurable API base URL.

Tests and staging point the real client at a Twilio-compatible server
(``TWILIO_BASE_URL``). Invalid numbers are permanent; rate limits and server
errors are retried by the activity's retry policy.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from temporalio.exceptions import ApplicationError
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from oferta.settings import Settings

# Twilio error codes that no retry can fix: invalid or unreachable 'To' number, opted out.
PERMANENT_CODES = {21211, 21214, 21408, 21610, 21612, 21614}


class PermanentSmsError(Exception):
    pass


class _HttpClient(AsyncTwilioHttpClient):
    """Keeps the last response's headers (TwilioRestException drops Retry-After), and sends
    the credentials as a header itself (aiohttp deprecates the ``auth`` argument)."""

    last_headers: Any = None

    async def request(
        self,
        method: str,
        url: str,
        params: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if auth is not None:
            token = base64.b64encode(":".join(auth).encode("latin1")).decode("ascii")
            headers = {**(headers or {}), "Authorization": f"Basic {token}"}
        response = await super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )
        self.last_headers = response.headers
        return response


def retry_after(headers: Any) -> timedelta | None:
    """Retry-After as seconds or an HTTP date (RFC 9110), None when absent or unreadable."""
    value = (headers or {}).get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return timedelta(seconds=int(value))
    try:
        return max(parsedate_to_datetime(value) - datetime.now(UTC), timedelta(0))
    except (TypeError, ValueError):
        return None


class SmsSender:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _client(self) -> Client:
        s = self.settings
        client = Client(s.twilio_account_sid, s.twilio_auth_token, http_client=_HttpClient())
        if s.twilio_base_url:
            client.api.base_url = s.twilio_base_url.rstrip("/")
        return client

    async def send(self, to: str, body: str, status_callback: str | None = None) -> str:
        client = self._client()
        try:
            message = await client.messages.create_async(
                to=to,
                from_=self.settings.twilio_from_number,
                body=body,
                **({"status_callback": status_callback} if status_callback else {}),
            )
        except TwilioRestException as exc:
            if exc.code in PERMANENT_CODES or exc.status in (400, 404):
                raise PermanentSmsError(f"Twilio {exc.status}/{exc.code}: {exc.msg}") from exc
            # Rate limit or Twilio trouble: retried, no sooner than Twilio asked.
            raise ApplicationError(
                f"Twilio {exc.status}/{exc.code}: {exc.msg}",
                type="SmsRateLimited" if exc.status == 429 else "SmsProviderError",
                next_retry_delay=retry_after(client.http_client.last_headers),
            ) from exc
        finally:
            await client.http_client.close()
        return message.sid

    async def find_sent(
        self, to: str, body: str, since: datetime, exclude: set[str] | frozenset[str] = frozenset()
    ) -> str | None:
        """The SID of a message with this body already sent to ``to`` since ``since``, if any
        (other than the ``exclude``d SIDs)."""
        client = self._client()
        try:
            found = await client.messages.list_async(to=to, date_sent_after=since.astimezone(UTC), limit=50)
            for message in found:
                if message.body == body and message.sid not in exclude:
                    return message.sid
        finally:
            await client.http_client.close()
        return None
