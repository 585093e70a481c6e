"""The short version of bench/load.py: concurrent streaming clients through a real `plusn serve`
against a real upstream process; every stream ends cleanly and every request has its ledger row."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
pytestmark = pytest.mark.server


def test_concurrent_streams_all_finish_and_are_all_metered(tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "load.py"), "--clients", "150", "--json", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    res = json.loads(out.read_text())
    assert res["ok"] == 150 and res["errors"] == 0
    assert res["ledger_rows"] == res["ledger_rows_200"] == 150
