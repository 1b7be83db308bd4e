"""Every benchmark still runs: each at its ``--quick`` size, as a user runs it (a subprocess).

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


def _bench(tmp_path: Path, script: str, *args: str, timeout: float = 240) -> dict[str, Any]:
    out = tmp_path / f"{Path(script).stem}.json"
    # The bench starts its own `oferta run`: nothing of the test session's settings goes along.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OFERTA_", "TEMPORAL_", "SMTP_"))}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args, "--json", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
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
