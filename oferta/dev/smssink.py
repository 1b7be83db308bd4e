"""A local SMS sink for ``./run``: the part of Twilio's Messages API the SMS sender uses.

With no Twilio account configured, the launcher points the real twilio client
(``TWILIO_BASE_URL``) here, so a new user's SMS land in ``<data_dir>/sms/`` and on
the API's ``/inbox`` page instead of failing against api.twilio.com. Create and
list (by ``To`` and ``DateSent>``, which the sender uses to find a message it
already sent) follow Twilio's REST API 2010-04-01.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

from aiohttp import web

_MESSAGES = "/2010-04-01/Accounts/{account}/Messages.json"


def read_sms(smsdir: Path, limit: int = 100) -> list[dict]:
    """The newest messages first."""
    paths = sorted(smsdir.glob("*.json"), reverse=True)[:limit] if smsdir.exists() else []
    return [json.loads(p.read_text()) for p in paths]


class SmsSink:
    def __init__(self, smsdir: Path) -> None:
        self.smsdir = smsdir
        smsdir.mkdir(parents=True, exist_ok=True)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(_MESSAGES, self._create)
        app.router.add_get(_MESSAGES, self._list)
        return app

    async def _create(self, request: web.Request) -> web.Response:
        form = await request.post()
        if not form.get("To") or not form.get("Body"):
            return web.json_response(
                {"code": 21604, "message": "'To' and 'Body' are required", "status": 400}, status=400
            )
        now = datetime.now(UTC)
        stamp = format_datetime(now, usegmt=True)
        account = request.match_info["account"]
        message: dict[str, Any] = {
            "sid": f"SM{uuid.uuid4().hex}",
            "account_sid": account,
            "to": str(form["To"]),
            "from": str(form.get("From", "")),
            "body": str(form["Body"]),
            "status": "delivered",
            "direction": "outbound-api",
            "date_created": stamp,
            "date_updated": stamp,
            "date_sent": stamp,
            "num_segments": "1",
            "num_media": "0",
            "api_version": "2010-04-01",
            "price": None,
            "price_unit": "USD",
            "error_code": None,
            "error_message": None,
            "uri": _MESSAGES.format(account=account),
            "subresource_uris": {},
        }
        path = self.smsdir / f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{message['sid']}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(message, ensure_ascii=False, indent=1))
        temporary.rename(path)  # readers never see half a message
        return web.json_response(message, status=201)

    async def _list(self, request: web.Request) -> web.Response:
        to = request.query.get("To")
        after = request.query.get("DateSent>")
        # Sent times are whole seconds (RFC 2822), so compare at that precision.
        since = datetime.fromisoformat(after).replace(microsecond=0) if after else None
        found = [
            m
            for m in read_sms(self.smsdir, limit=10_000)
            if (to is None or m["to"] == to)
            and (since is None or parsedate_to_datetime(m["date_sent"]) >= since)
        ]
        return web.json_response(
            {
                "messages": found[:50],
                "start": 0,
                "end": min(len(found), 50),
                "page": 0,
                "page_size": 50,
                "uri": request.path_qs,
                "first_page_uri": request.path_qs,
                "next_page_uri": None,
                "previous_page_uri": None,
            }
        )


async def start_sms_sink(host: str, port: int, smsdir: Path) -> web.AppRunner:
    """Serve the sink on the running loop; ``await runner.cleanup()`` stops it."""
    runner = web.AppRunner(SmsSink(smsdir).app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
