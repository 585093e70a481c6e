"""The soak's short version: steady mixed traffic through a real `plusn serve` (streams, plain
answers, a failing upstream, clients hanging up early) for a few seconds. Every request must be
served and metered, and the ledger writer must keep up with the traffic rather than queue rows
in memory (what made the gateway's memory grow before). The ten-minute run and its memory
figure are in the README (bench/soak.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_short_soak_serves_and_meters_everything(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    subprocess.run([sys.executable, str(ROOT / "bench" / "soak.py"), "--seconds", "12", "--warmup", "4",
                    "--concurrency", "8", "--json", str(out)], check=True, capture_output=True, timeout=180)
    res = json.loads(out.read_text())
    assert res["requests"] > 500 and res["errors"] == 0
    assert res["ledger_rows"] == res["requests"]
    # a writer that keeps up holds its queue to a few dozen rows here (16 measured; 168 with the old
    # one-step-per-row INSERTs, whose queue then grew for minutes)
    assert res["rss_samples"] >= 5 and res["ledger_backlog_max"] < 500
