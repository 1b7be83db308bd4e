"""A Twilio-compatible Messages API on loopback, for the real twilio client to talk to.

It answers like Twilio's REST API (2010-04-01): create a message, list messages,
errors as Twilio shapes them. Tests tell it which numbers are invalid and which
status codes to answer next.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from aiohttp import web


@dataclass
class FakeTwilio:
    invalid_numbers: set[str] = field(default_factory=set)
    fail_next: list[int] = field(default_factory=list)
    auth_token: str | None = None  # when set, requests must carry HTTP Basic (account SID, token)
    retry_after: str | None = None  # sent with 429 answers, as Twilio's rate limiter does
    lose_next_response: bool = False  # create the next message, then answer 502 as a proxy might
    messages: list[dict] = field(default_factory=list)
    status_callbacks: dict[str, str] = field(default_factory=dict)  # SID -> StatusCallback asked for
    attempts: int = 0
    base_url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> FakeTwilio:
        app = web.Application(middlewares=[self._authenticate])
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._create)
        app.router.add_get("/2010-04-01/Accounts/{sid}/Messages.json", self._list)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def sent_to(self, number: str) -> list[dict]:
        return [m for m in self.messages if m["to"] == number]

    @web.middleware
    async def _authenticate(self, request: web.Request, handler):
        if self.auth_token is not None:
            token = base64.b64encode(f"{request.match_info['sid']}:{self.auth_token}".encode()).decode()
            if request.headers.get("Authorization") != f"Basic {token}":
                return web.json_response(
                    {
                        "code": 20003,
                        "message": "Authenticate",
                        "status": 401,
                        "more_info": "https://www.twilio.com/docs/errors/20003",
                    },
                    status=401,
                )
        return await handler(request)

    async def _create(self, request: web.Request) -> web.Response:
        self.attempts += 1
        form = await request.post()
        if self.fail_next:
            status = self.fail_next.pop(0)
            headers = {"Retry-After": self.retry_after} if status == 429 and self.retry_after else None
            return web.json_response(
                {
                    "code": 20429 if status == 429 else 20500,
                    "message": "try later",
                    "more_info": "https://www.twilio.com/docs/errors",
                    "status": status,
                },
                status=status,
                headers=headers,
            )
        to = form["To"]
        if to in self.invalid_numbers:
            return web.json_response(
                {
                    "code": 21211,
                    "message": f"The 'To' number {to} is not a valid phone number.",
                    "more_info": "https://www.twilio.com/docs/errors/21211",
                    "status": 400,
                },
                status=400,
            )
        now = format_datetime(datetime.now(UTC), usegmt=True)
        message = {
            "sid": f"SM{uuid.uuid4().hex}",
            "account_sid": request.match_info["sid"],
            "to": to,
            "from": form["From"],
            "body": form["Body"],
            "status": "queued",
            "direction": "outbound-api",
            "date_created": now,
            "date_updated": now,
            "date_sent": now,
            "num_segments": "1",
            "api_version": "2010-04-01",
            "price": None,
            "price_unit": "USD",
            "error_code": None,
            "error_message": None,
            "uri": f"/2010-04-01/Accounts/{request.match_info['sid']}/Messages.json",
            "subresource_uris": {},
            "messaging_service_sid": None,
            "num_media": "0",
        }
        self.messages.append(message)
        if self.lose_next_response:
            self.lose_next_response = False
            return web.json_response({"code": 20500, "message": "Bad gateway", "status": 502}, status=502)
        if form.get("StatusCallback"):
            self.status_callbacks[message["sid"]] = form["StatusCallback"]
        return web.json_response(message, status=201)

    async def _list(self, request: web.Request) -> web.Response:
        to, after = request.query.get("To"), request.query.get("DateSent>")
        found = [
            m
            for m in self.messages
            if (to is None or m["to"] == to)
            and (after is None or parsedate_to_datetime(m["date_sent"]) >= datetime.fromisoformat(after))
        ]
        return web.json_response(
            {
                "messages": found,
                "end": len(found),
                "first_page_uri": request.path,
                "next_page_uri": None,
                "page": 0,
                "page_size": 50,
                "previous_page_uri": None,
                "start": 0,
                "uri": request.path,
            }
        )
