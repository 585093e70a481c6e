"""Schemathesis against a real `plusn serve`: inputs generated from plusn's own OpenAPI schema,
valid and invalid, on every operation; none may get a 5xx."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import plusn_serve

pytestmark = pytest.mark.server


def test_no_input_gets_a_server_error(tmp_path: Path) -> None:
    cfg = tmp_path / "plusn.yaml"
    cfg.write_text(yaml.safe_dump({
        "data_dir": str(tmp_path / "data"),
        "models": {"echo": {"type": "scripted", "replies": ["hello there"]},
                   "base": {"type": "scripted", "replies": ["continued"],
                            "capabilities": {"chat": False, "completion": True}}},
        "knowledge": {},
        "safety": {"second_stage_model": None},
    }), encoding="utf-8")
    with plusn_serve(cfg, tmp_path) as (url, _, _):
        run = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run", f"{url}/openapi.json", "--checks", "not_a_server_error",
             "--max-examples", "25", "--phases", "coverage,fuzzing", "--generation-deterministic",
             "--request-timeout", "10"],
            capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "generated" in run.stdout.split("SUMMARY")[-1]  # it did run cases
