"""A Ray Serve deployment that serves SmolLM2 through an OpenAI-compatible API, for bench/rayserve.py.

Ray Serve LLM's own OpenAI app needs vLLM, which needs a GPU; on a 2-core CPU machine this
deployment plays its part: a Ray Serve application with a FastAPI ingress, /v1/models and
/v1/chat/completions (plain and streamed), the model in llama.cpp inside the replica.

    python bench/rayserve_app.py --port 8300 --model PATH.gguf     (run by bench/rayserve.py)
"""

# No `from __future__ import annotations` here: Ray Serve's ingress rebuilds the routes of the
# class, and FastAPI must see real types (a string "Request" would read as a query parameter).
import argparse
import json
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from ray import serve

api = FastAPI()


@serve.deployment(ray_actor_options={"num_cpus": 1}, max_ongoing_requests=4)
@serve.ingress(api)
class SmolLM:
    def __init__(self, model_path: str, name: str) -> None:
        from llama_cpp import Llama

        self.name = name
        self.llm = Llama(model_path=model_path, n_ctx=2048, n_threads=1, verbose=False)

    @api.get("/v1/models")
    def models(self) -> dict[str, Any]:
        return {"object": "list", "data": [{"id": self.name, "object": "model", "owned_by": "ray-serve"}]}

    @api.post("/v1/chat/completions")
    async def chat(self, request: Request) -> Any:
        body = await request.json()
        args = {"messages": body["messages"], "max_tokens": body.get("max_tokens") or 64,
                "temperature": body.get("temperature", 0.0), "seed": body.get("seed", 0)}
        if not body.get("stream"):
            out = self.llm.create_chat_completion(**args)
            out["model"] = self.name
            return JSONResponse(out)

        def events() -> Any:
            rid, created = "chatcmpl-" + uuid.uuid4().hex[:12], int(time.time())
            for chunk in self.llm.create_chat_completion(**args, stream=True):
                chunk.update(id=rid, created=created, model=self.name)
                yield f"data: {json.dumps(chunk)}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")


def main() -> None:
    import ray

    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--name", default="smollm2-on-ray")
    args = ap.parse_args()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    serve.start(http_options={"host": "127.0.0.1", "port": args.port})
    serve.run(SmolLM.bind(args.model, args.name), route_prefix="/", blocking=False)
    print(f"ray serve ready on http://127.0.0.1:{args.port}", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
