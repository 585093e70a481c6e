"""The sessions a deployment keeps to MCP servers (a real stdio server, written with the mcp SDK
here): one process per server, reused by every call; started again, without a failed call, after
it died between calls; gone once the deployment closes; and a server that never starts, which
costs its timeout once, not once per tool."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from conftest import write_config

from plusn.assemble import assemble
from plusn.load_config import load_settings
from plusn.mcp.client import CallFailed, McpServers, ServerSpec

pytestmark = pytest.mark.server

SERVER = '''
import os
from mcp.server import MCPServer

app = MCPServer("pids")


@app.tool()
def pid() -> int:
    """The server's process id."""
    return os.getpid()


if __name__ == "__main__":
    app.run()
'''


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_one_process_per_server_started_again_after_it_died_and_stopped_with_the_deployment(tmp_path: Path) -> None:
    script = tmp_path / "pids.py"
    script.write_text(SERVER, encoding="utf-8")
    deployment = assemble(load_settings(write_config(tmp_path, {"models": {"echo": {"type": "scripted"}}}),
                                        environ={}))
    spec = ServerSpec("pids", command=sys.executable, args=(str(script),), timeout_s=60)

    async def run() -> tuple[int, int]:
        session = deployment.mcp.session(spec)
        first = (await session.call("pid", {})).data["result"]
        assert (await session.call("pid", {})).data["result"] == first  # the same process serves again
        assert deployment.mcp.session(spec) is session
        os.kill(first, signal.SIGKILL)  # dies between calls
        deadline = time.monotonic() + 10
        while not gone(first) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        second = (await session.call("pid", {})).data["result"]  # no error: a new process answers
        await deployment.close()
        return first, second

    first, second = asyncio.run(run())
    assert second != first and gone(second)


def test_a_server_that_never_starts_costs_its_timeout_once(tmp_path: Path) -> None:
    spec = ServerSpec("mute", command="sleep", args=("60",), timeout_s=1)  # a process that never speaks MCP
    servers = McpServers()

    async def run() -> tuple[float, float, str, str]:
        session = servers.session(spec)
        t0 = time.monotonic()
        with pytest.raises(CallFailed) as first:
            await session.tools()
        t1 = time.monotonic()
        with pytest.raises(CallFailed) as again:  # the next tool's description, the same turn: at once
            await session.call("anything", {})
        t2 = time.monotonic()
        await servers.close()
        return t1 - t0, t2 - t1, str(first.value), str(again.value)

    waited, then, first, again = asyncio.run(run())
    assert first == again == "the MCP server 'mute' did not start within 1 s"
    assert waited >= 1 and then < 0.5
