"""A fast, scriptable OpenAI-compatible upstream for load, fault and speed tests.

    python bench/upstream.py [--port 0] [--tokens 16]

It prints ``listening on http://127.0.0.1:PORT`` and serves ``/v1/models`` and
``/v1/chat/completions`` (streamed or not). The requested model name chooses the behaviour,
so one server covers every case:

    fast            answer at once (``--tokens`` words)
    slow-<ms>       wait <ms> before the first byte
    drip-<ms>       wait <ms> between streamed words
    fail-<status>   answer with that HTTP status (500, 429 with Retry-After, 503, ...)
    flaky-<k>       fail (503) the first k requests for this name, then answer
    cut-<n>         stream n words, then drop the connection without finishing
    hang            never answer

A trailing ``-<tag>`` is ignored (``flaky-2-a`` and ``flaky-2-b`` count apart). ``GET /seen``
gives how many requests each name has had.

It is a real server in its own process, so what it measures includes real sockets; it is
not part of plusn.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

SEEN: Counter[str] = Counter()
TOKENS = 16


def _usage(n: int) -> dict[str, int]:
    return {"prompt_tokens": 8, "completion_tokens": n, "total_tokens": 8 + n}


async def models(request: Request) -> Response:
    return JSONResponse({"object": "list", "data": [{"id": "fast", "object": "model", "owned_by": "bench"}]})


class Cut(Exception):
    pass


async def chat(request: Request) -> Response:
    body = await request.json()
    model = str(body.get("model", "fast"))
    SEEN[model] += 1
    kind, _, rest = model.partition("-")
    arg = rest.split("-")[0]
    words = [f"w{i}" for i in range(int(body.get("max_tokens") or TOKENS) if kind != "cut" else int(arg))]
    if kind == "slow":
        await asyncio.sleep(int(arg) / 1000)
    if kind == "hang":
        await asyncio.sleep(3600)
    if kind == "fail":
        status = int(arg)
        headers = {"retry-after": "1"} if status in (429, 503) else {}
        return JSONResponse({"error": {"message": f"scripted {status}", "type": "server_error"}}, status,
                            headers=headers)
    if kind == "flaky" and SEEN[model] <= int(arg):
        return JSONResponse({"error": {"message": "warming up", "type": "server_error"}}, 503,
                            headers={"retry-after": "0"})
    created = int(time.time())
    if not body.get("stream"):
        return JSONResponse({"id": "cmpl-bench", "object": "chat.completion", "created": created, "model": model,
                             "choices": [{"index": 0, "message": {"role": "assistant", "content": " ".join(words)},
                                          "finish_reason": "stop"}], "usage": _usage(len(words))})
    delay = int(arg) / 1000 if kind == "drip" else 0.0

    async def events() -> Any:
        head = {"id": "cmpl-bench", "object": "chat.completion.chunk", "created": created, "model": model}
        for i, w in enumerate(words):
            if delay:
                await asyncio.sleep(delay)
            chunk = {**head, "choices": [{"index": 0, "delta": {"content": (" " if i else "") + w},
                                          "finish_reason": None}]}
            yield f"data: {json.dumps(chunk)}\n\n"
        if kind == "cut":
            await asyncio.sleep(0.05)  # let the words reach the client before the connection goes
            raise Cut()  # uvicorn drops the connection: the client sees the stream end unfinished
        yield f"data: {json.dumps({**head, 'choices': [{'index': 0, 'delta': {}, 'finish_reason': 'stop'}]})}\n\n"
        yield f"data: {json.dumps({**head, 'choices': [], 'usage': _usage(len(words))})}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


async def seen(request: Request) -> Response:
    return JSONResponse(dict(SEEN))


app = Starlette(routes=[Route("/v1/models", models), Route("/v1/chat/completions", chat, methods=["POST"]),
                        Route("/seen", seen)])


def main() -> None:
    global TOKENS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tokens", type=int, default=16)
    args = ap.parse_args()
    TOKENS = args.tokens
    config = uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False,
                            backlog=4096)
    server = uvicorn.Server(config)

    async def run() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        print(f"listening on http://127.0.0.1:{port}", flush=True)
        await task

    asyncio.run(run())


if __name__ == "__main__":
    main()
