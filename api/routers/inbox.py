"""The local mail inbox: the notices the embedded SMTP sink received (development only).

Enabled with OFERTA_INBOX (on by default for the embedded set-up; compose turns it off).
It shows customers' mail and phone numbers: it answers a caller on loopback (the developer's
browser) or one with an ops or admin API key, nobody else.
"""

from __future__ import annotations

import html
from email import message_from_bytes, policy
from email.message import EmailMessage

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from api.deps import local_or_ops
from oferta.dev.mailsink import read_messages
from oferta.dev.smssink import read_sms

router = APIRouter(tags=["inbox"], include_in_schema=False, dependencies=[Depends(local_or_ops)])

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}}
table{{border-collapse:collapse;width:100%}}
td,th{{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}}
pre{{white-space:pre-wrap;background:#f6f6f6;padding:1rem}}</style></head><body>{body}</body></html>"""


def _data_dir(request: Request):
    settings = request.app.state.oferta.settings
    if not settings.inbox_enabled:
        raise HTTPException(404, "the inbox is off (OFERTA_INBOX=false)")
    return settings.data_dir


def _maildir(request: Request):
    return _data_dir(request) / "mail"


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part else ""


@router.get("/inbox", response_class=HTMLResponse)
def inbox(request: Request) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(str(m.get('Date', '')))}</td><td>{html.escape(str(m.get('To', '')))}</td>"
        f"<td><a href='/inbox/{html.escape(p.name)}'>{html.escape(str(m.get('Subject', '')))}</a></td></tr>"
        for p, m in read_messages(_maildir(request))
    )
    texts = "".join(
        f"<tr><td>{html.escape(m['date_sent'])}</td><td>{html.escape(m['to'])}</td>"
        f"<td>{html.escape(m['body'])}</td></tr>"
        for m in read_sms(_data_dir(request) / "sms")
    )
    body = "<h1>Local inbox</h1><p>What Oferta sent through the embedded sinks, newest first.</p>"
    body += (
        f"<h2>Email</h2><table><tr><th>date</th><th>to</th><th>subject</th></tr>{rows}</table>"
        if rows
        else "<h2>Email</h2><p>No mail yet.</p>"
    )
    if texts:
        body += f"<h2>SMS</h2><table><tr><th>sent</th><th>to</th><th>text</th></tr>{texts}</table>"
    return _PAGE.format(title="Oferta inbox", body=body)


@router.get("/inbox/{name}", response_class=HTMLResponse)
def message(name: str, request: Request) -> str:
    path = _maildir(request) / name
    if "/" in name or not name.endswith(".eml") or not path.is_file():
        raise HTTPException(404, "no such message")
    found = message_from_bytes(path.read_bytes(), policy=policy.default)
    headers = "".join(
        f"<tr><th>{k}</th><td>{html.escape(str(found.get(k, '')))}</td></tr>"
        for k in ("From", "To", "Subject", "Date", "Message-ID")
    )
    body = (
        f"<p><a href='/inbox'>← inbox</a></p><table>{headers}</table><pre>{html.escape(_text(found))}</pre>"
    )
    return _PAGE.format(title=html.escape(str(found.get("Subject", "message"))), body=body)
