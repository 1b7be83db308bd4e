"""Structured logs and Prometheus metrics for the worker and the API."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


class JsonFormatter(logging.Formatter):
    """One JSON object a line, with the workflow or activity it came from when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry |= _temporal_context(record)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _temporal_context(record: logging.LogRecord) -> dict[str, Any]:
    # The SDK's workflow and activity loggers attach this dict to each record.
    details = getattr(record, "temporal_workflow", None) or getattr(record, "temporal_activity", None)
    if isinstance(details, dict):
        keys = ("workflow_id", "run_id", "workflow_type", "activity_type", "activity_id", "attempt")
        return {k: details[k] for k in keys if k in details}
    return _current_activity()


def _current_activity() -> dict[str, Any]:
    """A plain logger called from activity code (e.g. a back end): the activity it serves."""
    from temporalio import activity

    if not activity.in_activity():
        return {}
    info = activity.info()
    return {
        "workflow_id": info.workflow_id,
        "run_id": info.workflow_run_id,
        "workflow_type": info.workflow_type,
        "activity_type": info.activity_type,
        "activity_id": info.activity_id,
        "attempt": info.attempt,
    }


def configure_logging(json_logs: bool, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter() if json_logs else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class LedgerCollector(Collector):
    """Services by state and notices by channel and status, read from the database at each scrape."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def collect(self):
        from sqlalchemy import func, select

        from oferta.db.models import Notice, Service
        from oferta.db.session import session_scope

        services = GaugeMetricFamily(
            "oferta_services", "Services by state and policy", labels=["state", "policy"]
        )
        notices = GaugeMetricFamily(
            "oferta_notices", "Notices by channel and status", labels=["channel", "status"]
        )
        try:
            with session_scope(self.database_url) as session:
                for state, policy, count in session.execute(
                    select(Service.state, Service.policy_id, func.count()).group_by(
                        Service.state, Service.policy_id
                    )
                ):
                    services.add_metric([state, policy], count)
                for channel, status, count in session.execute(
                    select(Notice.channel, Notice.status, func.count()).group_by(
                        Notice.channel, Notice.status
                    )
                ):
                    notices.add_metric([channel, status], count)
        except Exception:  # a scrape must not fail because the database is away
            logging.getLogger("oferta.metrics").warning("metrics: database not readable", exc_info=True)
        yield services
        yield notices
