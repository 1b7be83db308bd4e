"""Every benchmark still runs: each at its ``--quick`` size (or a small one), as a user runs it (a subprocess).

Only that it completes and reports sane, non-zero figures is asserted — never a timing
threshold: these 2 cores are shared, and the figures belong in bench/RESULTS.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, *args: str, timeout: float = 240) -> str:
    """The bench's output. It starts its own `oferta run`: none of the test session's settings go along."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OFERTA_", "TEMPORAL_", "SMTP_"))}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def _bench(tmp_path: Path, script: str, *args: str, timeout: float = 240) -> dict[str, Any]:
    out = tmp_path / f"{Path(script).stem}.json"
    _run(script, *args, "--json", str(out), timeout=timeout)
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def test_start_bench_compares_noop_raw_and_api_on_one_server(tmp_path: Path) -> None:
    result = _bench(tmp_path, "start_bench.py", "--quick")
    for mode in ("noop", "raw", "api"):
        assert result[mode]["services"] == 10
        assert result[mode]["per_second"] > 0
        assert 0 < result[mode]["p50_ms"] <= result[mode]["p95_ms"]
        assert result[mode]["history_events"] > 0
    assert set(result["ratios"]) == {"api/raw", "raw/noop"}
    assert all(r["ratio"] > 0 for r in result["ratios"].values())
    assert result["tracebacks"] == {"worker": 0, "api": 0}
    assert result["temporal_db_bytes"] > 0  # the file-backed server, as ./run has it


def test_slowest_services_shows_where_a_service_spent_its_time() -> None:
    out = _run("slowest_services.py", "--quick")
    # The slowest service's times, then its history from the start to the payment's notices.
    assert "(rows " in out and "payment " in out
    assert " 1 WORKFLOW_EXECUTION_STARTED" in out
    assert "WORKFLOW_EXECUTION_UPDATE_COMPLETED" in out
    assert "ACTIVITY_TASK_SCHEDULED send_notice" in out


def test_scale_bench_open_services_burst_and_force_majeure(tmp_path: Path) -> None:
    result = _bench(tmp_path, "scale_bench.py", "--quick")

    opened = result["open"]
    assert opened["imported"] == opened["services"] == 30 and opened["refused"] == 0
    assert opened["import_per_second"] > 0
    before, after = opened["worker_rss_mib"]
    assert 0 < before <= after  # a worker holding 30 more workflows uses no less memory
    assert 0 < opened["temporal_db_mib"][0] < opened["temporal_db_mib"][1]
    assert opened["payments"] == 10 and 0 < opened["payment_p50_ms"] <= opened["payment_p99_ms"]

    burst = result["burst"]
    assert burst["imported"] == burst["services"] == 20 and not burst["import_overran_deadline"]
    assert burst["drained_s"] is not None and burst["steps_recorded"] == 20
    assert burst["notices_sent"] == 20  # every service's invoice notice sent …
    assert burst["notices_per_service_template_channel_max"] == 1  # … and once

    fm = result["fm"]
    assert fm["services"] == 30 + 20 + 20  # the warm-up services are open too
    assert fm["all_frozen_s"] is not None and fm["all_frozen_s"] > 0
    assert result["tracebacks"] == {"worker": 0, "api": 0}


def test_engine_workflow_and_period_benches_run_at_a_small_size() -> None:
    engine = _run("engine_bench.py", "--contracts", "5", "--years", "2")
    assert "5 contracts x 2 years" in engine and "µs a period" in engine
    timelines = _run("workflow_bench.py", "--services", "2", "--months", "2")
    assert "2 services x 2 months" in timelines and "events in the current run" in timelines
    periods = _run("period_bench.py", "--months", "2")
    # The start, then the run cut short: each with its events, activities and workflow tasks.
    assert "run 0 (start):" in periods and "(cut short):" in periods and "workflow tasks" in periods


def test_memory_probe_prices_a_cached_workflow(tmp_path: Path) -> None:
    result = _bench(tmp_path, "memory_probe.py", "--workflows", "10", "--variant", "noop", "service")
    variants = {v["variant"]: v for v in result["variants"]}
    assert set(variants) == {"noop", "service"}
    for variant in variants.values():
        assert variant["workflows"] == 10 and variant["python_kib_per_workflow"] > 0
    # A ServiceContract holds more than a workflow that does nothing; its replay is timed.
    assert variants["service"]["python_kib_per_workflow"] > variants["noop"]["python_kib_per_workflow"]
    assert variants["service"]["replay_ms"] > 0
    assert result["pieces"]["decoded_input_kib"] > 0
