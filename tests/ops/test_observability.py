"""JSON logs carry the workflow they came from; the API counts requests by route, not by id."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

from fastapi.testclient import TestClient

from api.main import create_app
from oferta.observability import JsonFormatter
from oferta.settings import Settings


def test_json_log_lines_name_the_workflow() -> None:
    record = logging.LogRecord(
        "temporalio.workflow", logging.INFO, __file__, 1, "suspended %s", ("s-1",), None
    )
    record.temporal_workflow = {
        "workflow_id": "service-s-1",
        "run_id": "r",
        "workflow_type": "ServiceContract",
    }
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "suspended s-1" and line["level"] == "info"
    assert line["workflow_id"] == "service-s-1" and line["workflow_type"] == "ServiceContract"


def test_api_metrics_count_requests_by_route_template(tmp_path: Path) -> None:
    settings = Settings(OFERTA_DATA_DIR=tmp_path, TEMPORAL_ADDRESS="127.0.0.1:1")
    with TestClient(create_app(settings)) as http:
        assert http.get("/v1/services/svc-secret-id").status_code == 401
        text = http.get("/metrics").text
    assert 'route="/v1/services/{service_id}",status="401"' in text
    assert "svc-secret-id" not in text
    assert "oferta_api_request_seconds_bucket" in text


async def test_a_plain_logger_inside_an_activity_names_its_workflow() -> None:
    """Back ends log with ordinary loggers; the line still says which service's workflow it served."""
    from temporalio import activity
    from temporalio.testing import ActivityEnvironment

    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(JsonFormatter().format(record))

    logger = logging.getLogger("oferta.test.backend")
    logger.addHandler(Keep())
    logger.propagate = False

    @activity.defn(name="send_notice")
    async def send_notice() -> None:
        logger.warning("smtp refused, will retry")

    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id="service-svc-42", attempt=3)
    await env.run(send_notice)
    logger.warning("outside any activity")
    inside, outside = (json.loads(line) for line in lines)
    assert inside["workflow_id"] == "service-svc-42" and inside["attempt"] == 3
    assert inside["activity_type"] and inside["message"] == "smtp refused, will retry"
    assert "workflow_id" not in outside
