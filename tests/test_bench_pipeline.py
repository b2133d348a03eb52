"""`bench/pipeline.py --quick` runs and ends with one JSON line of positive figures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]

EXPECTED = (
    "parse_ceiling_pps",
    "enrich_ceiling_pps",
    "insert_ceiling_pps",
    "prefilter_pps",
    "matcher_pps",
    "sqlite_pps",
)


def test_quick_bench_prints_its_figures_as_json_last() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TOWNHALL_BENCH_POSTGRES_URL", "TOWNHALL_BENCH_REDIS_URL")
    }
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "pipeline.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    figures = orjson.loads(last)
    for key in EXPECTED:
        assert figures[key] > 0, (key, figures)
    for key in ("sqlite_p50_ms", "sqlite_p99_ms", "latency_p99_ms", "peak_rss_mb"):
        assert figures[key] > 0, (key, figures)
    assert figures["quick"] is True
    assert 0 < figures["prefilter_kept_share"] < 0.2
    assert figures["prefilter_matched_share"] <= figures["prefilter_kept_share"]
    for key in ("workers_1_pps", "workers_2_pps", "paced_p99_ms"):
        assert key in figures  # null without a broker
    assert "pre-filter" in done.stderr  # progress lines
