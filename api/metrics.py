"""Prometheus metrics of the API: requests by route and status, latency, and the ledger's counts."""

from __future__ import annotations

import time

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oferta.observability import LedgerCollector


class _RequestMetrics:
    """Counts each HTTP request by route template and status, and times it.

    A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` (``@app.middleware``) runs each
    request through an extra task and a pair of memory streams, a cost on every call."""

    def __init__(self, app: ASGIApp, requests: Counter, latency: Histogram) -> None:
        self.app, self.requests, self.latency = app, requests, latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500  # what the caller gets when the app raises before answering

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            # The route's template, not the path: no ids (personal or not) in label values.
            template = getattr(scope.get("route"), "path", "unmatched")
            self.latency.labels(scope["method"], template).observe(time.perf_counter() - began)
            self.requests.labels(scope["method"], template, str(status)).inc()


def install(app: FastAPI) -> None:
    registry = CollectorRegistry()
    requests = Counter(
        "oferta_api_requests",
        "API requests by route and status",
        ["method", "route", "status"],
        registry=registry,
    )
    latency = Histogram(
        "oferta_api_request_seconds", "API request latency by route", ["method", "route"], registry=registry
    )
    registry.register(LedgerCollector(app.state.oferta.settings.effective_database_url))

    app.add_middleware(_RequestMetrics, requests=requests, latency=latency)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
