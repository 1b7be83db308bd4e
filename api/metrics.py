"""Prometheus metrics of the API: requests by route and status, latency, and the ledger's counts."""

from __future__ import annotations

import time

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from oferta.observability import LedgerCollector


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

    @app.middleware("http")
    async def measure(request: Request, call_next):
        began = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        # The route's template, not the path: no ids (personal or not) in label values.
        template = getattr(route, "path", "unmatched")
        latency.labels(request.method, template).observe(time.perf_counter() - began)
        requests.labels(request.method, template, str(response.status_code)).inc()
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
